"""Pure wallet policies: the spending order, the split over sources, refund and closure quotes,
promo checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from entremise.kernel.money import Money
from entremise.wallets import domain

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_CONSULT_CREDIT_1_allocation_takes_bonus_first() -> None:
    d = domain.allocate(Money(800), bonus_available=Money(500), paid_available=Money(1000))
    assert d.outcome == domain.Allocation(Money(500), Money(300))
    assert d.rules == ("CONSULT-CREDIT-1",)
    assert (
        domain.allocate(Money(1600), bonus_available=Money(500), paid_available=Money(1000)).outcome is None
    )


@given(
    b=st.integers(0, 5000),
    p=st.integers(0, 5000),
    shares=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
)
def test_split_between_sources_adds_up(b: int, p: int, shares: list[int]) -> None:
    due = sum(shares)
    due_bonus = min(due, b)
    pairs = [(f"a{i}", Money(s)) for i, s in enumerate(shares)]
    from_b, from_p = domain.split_between(Money(due_bonus), Money(due - due_bonus), pairs)
    assert sum(m.amount for _, m in from_b) == due_bonus
    for i, s in enumerate(shares):
        got = sum(m.amount for a, m in from_b + from_p if a == f"a{i}")
        assert got == s


@given(
    price=st.integers(1, 10000),
    bonus=st.integers(0, 5000),
    refunded=st.integers(0, 10000),
    paid=st.integers(-100, 20000),
    bonus_avail=st.integers(-100, 10000),
)
def test_CONSULT_CREDIT_1_a_refund_never_exceeds_the_unspent_price(
    price: int, bonus: int, refunded: int, paid: int, bonus_avail: int
) -> None:
    refunded = min(refunded, price)
    q = domain.pack_refund(
        price=Money(price),
        bonus=Money(bonus),
        already_refunded=Money(refunded),
        paid_available=Money(paid),
        bonus_available=Money(bonus_avail),
    ).outcome
    assert q.cash.amount >= 0 and q.paid_kept.amount >= 0 and q.bonus_withdrawn.amount >= 0
    assert q.paid_debited.amount <= min(price - refunded, max(paid, 0))
    assert q.bonus_withdrawn.amount <= max(bonus_avail, 0)
    # what leaves paid credit is the cash refunded plus the spent bonus kept back
    assert q.cash + q.paid_kept == q.paid_debited
    # with the whole bonus still there and the whole price unspent, all of it goes back
    if refunded == 0 and paid >= price and bonus_avail >= bonus:
        assert (q.cash.amount, q.bonus_withdrawn.amount, q.paid_kept.amount) == (price, bonus, 0)


def test_CONSULT_CREDIT_1_closure_forfeits_the_bonus() -> None:
    c = domain.closure(paid_available=Money(1200), bonus_available=Money(300)).outcome
    assert (c.refundable, c.forfeited) == (Money(1200), Money(300))


def _facts(**kw) -> domain.PromoFacts:  # type: ignore[no-untyped-def]
    base = {
        "active": True,
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=1),
        "max_uses": None,
        "uses": 0,
        "condition": "none",
        "min_purchase": 0,
        "confirmed_purchases": 0,
        "largest_purchase": 0,
    }
    return domain.PromoFacts(**(base | kw))


def test_CARPOOL_PROMO_1_and_CONSULT_PROMO_1_checks() -> None:
    assert domain.may_redeem(_facts(), NOW).allowed
    assert not domain.may_redeem(_facts(ends_at=NOW), NOW).allowed
    assert not domain.may_redeem(_facts(starts_at=NOW + timedelta(seconds=1)), NOW).allowed
    assert not domain.may_redeem(_facts(max_uses=3, uses=3), NOW).allowed
    assert not domain.may_redeem(_facts(condition="new_client", confirmed_purchases=1), NOW).allowed
    assert not domain.may_redeem(
        _facts(condition="min_purchase", min_purchase=3000, largest_purchase=1000), NOW
    ).allowed
    assert domain.may_redeem(
        _facts(condition="min_purchase", min_purchase=3000, largest_purchase=3000), NOW
    ).allowed
    v = domain.may_redeem(_facts(active=False), NOW)
    assert v.rules == ("CARPOOL-PROMO-1", "CONSULT-PROMO-1")
