"""Money in minor units, the VAT split and invoice totals (LAW-VAT-1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entremise.kernel.money import Money
from entremise.kernel.vat import InvoiceLine, add_vat, invoice_totals, split_gross, vat_on

RATES = st.sampled_from(
    [Decimal("0"), Decimal("2.1"), Decimal("5.5"), Decimal("8.5"), Decimal("10"), Decimal("20.0")]
)
CENTS = st.integers(min_value=-(10**12), max_value=10**12)


def test_money_from_and_to_major_units_is_exact():
    assert Money.from_major("12.34") == Money(1234)
    assert Money.from_major(Decimal("-0.05")) == Money(-5)
    assert Money.from_major("1500", "JPY") == Money(1500, "JPY")
    assert Money(1234).to_major() == Decimal("12.34")
    with pytest.raises(ValueError, match="finer than the minor unit"):
        Money.from_major("0.001")
    with pytest.raises(TypeError):
        Money.from_major(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported currency"):
        Money(1, "XXX")


def test_money_compares_only_within_a_currency():
    assert Money(2) > Money(1) and Money(2) >= Money(2) and abs(Money(-3)) == Money(3)
    with pytest.raises(ValueError, match="cannot mix"):
        assert Money(1, "EUR") > Money(1, "USD")


@given(amount=CENTS, weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8))
def test_allocate_never_loses_or_invents_a_cent(amount, weights):
    if sum(weights) == 0:
        with pytest.raises(ValueError):
            Money(amount).allocate(weights)
        return
    parts = Money(amount).allocate(weights)
    assert sum(p.amount for p in parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(amount) * weight / sum(weights)
        assert abs(Decimal(part.amount) - exact) < 1


def test_split_spreads_the_odd_cents_over_the_first_parts():
    assert Money(100).split(3) == [Money(34), Money(33), Money(33)]


def test_vat_rounding_is_half_up_to_the_cent():
    assert vat_on(Money(1025), Decimal("20")) == Money(205)  # 2.05 exactly
    assert vat_on(Money(1), Decimal("50")) == Money(1)  # 0.5 cent rounds up
    assert vat_on(Money(-1), Decimal("50")) == Money(-1)  # and a credit mirrors it
    assert split_gross(Money(1200), Decimal("20.0")) == add_vat(Money(1000), Decimal("20.0"))
    with pytest.raises(TypeError):
        vat_on(Money(100), 20.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        vat_on(Money(100), Decimal("-1"))


@given(gross=CENTS, rate=RATES)
def test_split_gross_parts_always_add_up_to_the_whole(gross, rate):
    split = split_gross(Money(gross), rate)
    assert split.net + split.vat == Money(gross)
    assert split.gross == Money(gross)
    # the VAT of a split is the VAT of its net, give or take the one cent some gross amounts force
    assert abs(split.vat.amount - vat_on(split.net, rate).amount) <= 1


@given(net=CENTS, rate=RATES)
def test_net_to_gross_and_back_gives_the_same_net(net, rate):
    forward = add_vat(Money(net), rate)
    assert forward.net + forward.vat == forward.gross
    assert split_gross(forward.gross, rate) == forward


def test_LAW_VAT_1_invoice_totals_round_line_nets_then_vat_per_rate():
    lines = [
        InvoiceLine(Decimal("3"), Decimal("0.333"), Decimal("20.0")),  # 0.999 -> 1.00
        InvoiceLine(Decimal("1"), Decimal("0.335"), Decimal("20.0")),  # 0.335 -> 0.34
        InvoiceLine(Decimal("7"), Decimal("1.15"), Decimal("5.5")),  # 8.05
        InvoiceLine(Decimal("2.5"), Decimal("12.00"), Decimal("20")),  # 30.00, same rate as 20.0
    ]
    totals = invoice_totals(lines)
    assert totals.line_nets == (Money(100), Money(34), Money(805), Money(3000))
    assert [(b.rate, b.taxable, b.vat) for b in totals.breakdown] == [
        (Decimal("5.5"), Money(805), Money(44)),  # 0.44275 -> 0.44
        (Decimal("20"), Money(3134), Money(627)),  # 6.268 -> 6.27
    ]
    assert totals.net == Money(3939) and totals.vat == Money(671) and totals.gross == Money(4610)


@given(
    lines=st.lists(
        st.tuples(
            st.decimals(min_value=-50, max_value=50, places=3),
            st.decimals(min_value=0, max_value=10_000, places=4),
            RATES,
        ),
        max_size=12,
    )
)
def test_LAW_VAT_1_invoice_gross_is_net_plus_vat_exactly(lines):
    totals = invoice_totals([InvoiceLine(q, p, r) for q, p, r in lines])
    assert totals.net == sum(totals.line_nets, Money(0))
    assert totals.vat == sum((b.vat for b in totals.breakdown), Money(0))
    assert totals.gross.amount == totals.net.amount + totals.vat.amount
    for b in totals.breakdown:
        assert b.vat == vat_on(b.taxable, b.rate)


def test_invoice_totals_in_a_currency_without_cents():
    totals = invoice_totals([InvoiceLine(Decimal("3"), Decimal("333.5"), Decimal("16"))], currency="XPF")
    assert totals.line_nets == (Money(1001, "XPF"),)  # 1000.5 -> 1001
    assert totals.vat == Money(160, "XPF")  # 160.16 -> 160
