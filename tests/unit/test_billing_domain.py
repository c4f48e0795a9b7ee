"""Pure rules of billing: numbers, amounts, totals, mentions, payment terms, late penalties, credits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from entremise.billing import domain
from entremise.billing.settings import BillingSettings, PaymentTerms
from entremise.kernel.money import Money

SELLER = {
    "name": "Trajets Sûrs",
    "legal_form": "SAS",
    "address_line1": "12 rue des Lilas",
    "postcode": "75011",
    "city": "Paris",
    "country": "FR",
    "siren": "732829320",
    "siret": "73282932000074",
    "rcs_city": "Paris",
    "share_capital": Decimal("10000"),
    "vat_number": "FR44732829320",
}


# --- numbering (LAW-INVOICE-1) -------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_numbers_are_series_year_and_zero_padded_sequence() -> None:
    assert domain.format_number("FA", 2026, 42) == "FA-2026-000042"
    assert domain.format_number("AV", 2026, 3) == "AV-2026-000003"
    assert domain.format_number("FA-P42", 2027, 1, digits=4) == "FA-P42-2027-0001"
    assert domain.counter_name("FA", 2026) != domain.counter_name("FA", 2027)
    assert domain.counter_name("FA", 2026) != domain.counter_name("AV", 2026)


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_numbers_refuse_zero_and_overflow() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        domain.format_number("FA", 2026, 0)
    with pytest.raises(ValueError, match="does not fit"):
        domain.format_number("FA", 2026, 1_000_000)


def test_a_mandated_sellers_series_carries_its_code() -> None:
    assert domain.series_name("FA") == "FA"
    assert domain.series_name("FA", "P42") == "FA-P42"
    with pytest.raises(ValueError):
        domain.series_name("FA", "p-42")


# --- amounts and totals (LAW-VAT-1) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-2", "must not be negative"),
        ("0", "greater than zero"),
        ("1.234", "at most 2 decimals"),
        ("1e3", "digits, one dot"),
        ("abc", "digits, one dot"),
        (1.5, "written as text"),
        (True, "written as text"),
        ("10000000000", "at most"),
    ],
)
def test_amounts_refuse_bad_input_with_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        domain.parse_decimal(raw)


def test_amounts_accept_two_decimals_and_trailing_zeros() -> None:
    assert domain.parse_decimal("12.50") == Decimal("12.50")
    assert domain.parse_decimal("3.000") == Decimal(3)  # 3.000 has no more than 2 significant decimals
    assert domain.parse_decimal("0", positive=False) == 0


@pytest.mark.rule("LAW-VAT-1")
def test_LAW_VAT_1_only_the_platforms_rates_are_accepted() -> None:
    rates = BillingSettings().vat_rates
    assert domain.allowed_rate("20", rates) == Decimal(20)
    assert domain.allowed_rate("5.50", rates) == Decimal("5.5")
    assert domain.allowed_rate("0", rates) == 0
    with pytest.raises(ValueError, match="one of the VAT rates"):
        domain.allowed_rate("19.6", rates)


@pytest.mark.rule("LAW-VAT-1")
def test_LAW_VAT_1_totals_round_line_nets_then_vat_per_rate_on_the_net_total() -> None:
    lines = [
        domain.PricedLine(Decimal("3"), Decimal("0.335"), Decimal("20")),  # 1.005 -> 1.01
        domain.PricedLine(Decimal("1"), Decimal("0.015"), Decimal("20")),  # 0.015 -> 0.02
        domain.PricedLine(Decimal("2"), Decimal("4.99"), Decimal("5.5")),
    ]
    totals = domain.totals(lines, "EUR")
    assert [n.amount for n in totals.line_nets] == [101, 2, 998]
    by_rate = {b.rate: (b.taxable.amount, b.vat.amount) for b in totals.breakdown}
    # 20 %: VAT on 1.03 = 0.206 -> 0.21 (per line it would be 0.20 + 0.00)
    assert by_rate == {Decimal("5.5"): (998, 55), Decimal("20"): (103, 21)}
    assert totals.gross.amount == totals.net.amount + totals.vat.amount == 1101 + 76


@pytest.mark.rule("LAW-VAT-1")
def test_LAW_VAT_1_a_gross_price_becomes_a_net_unit_price_that_gives_back_the_net() -> None:
    line = domain.priced_line(Decimal(3), Decimal("10.00"), Decimal(20), gross=True, currency="EUR")
    # 30.00 gross at 20 % -> 25.00 net: 8.333333 a unit, 3 of them round back to 25.00
    assert line.unit_price == Decimal("8.333333")
    assert line.as_invoice_line().net().amount == 2500
    net = domain.priced_line(Decimal(2), Decimal("7.50"), Decimal(10), gross=False, currency="EUR")
    assert net.unit_price == Decimal("7.50")


def test_vat_category_is_standard_above_zero_and_exempt_at_zero() -> None:
    assert domain.vat_category(Decimal(20)) == "S"
    assert domain.vat_category(Decimal(0)) == "E"


# --- payment terms and late penalties (LAW-LATE-1) ----------------------------------------------


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_payment_terms_at_most_60_days_or_45_days_end_of_month() -> None:
    assert domain.check_payment_terms(60, False).allowed
    assert domain.check_payment_terms(45, True).allowed
    over = domain.check_payment_terms(61, False)
    assert not over.allowed and "60 days" in over.reason and over.rules == ("LAW-LATE-1",)
    assert not domain.check_payment_terms(46, True).allowed
    assert not domain.check_payment_terms(-1, False).allowed


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_settings_refuse_longer_terms() -> None:
    with pytest.raises(ValidationError, match="at most 60 days"):
        PaymentTerms(days=90)
    with pytest.raises(ValidationError, match="at most 45 days end of month"):
        BillingSettings.model_validate({"payment_terms": {"days": 60, "end_of_month": True}})
    with pytest.raises(ValidationError):
        BillingSettings.model_validate({"recovery_indemnity_cents": 3999})


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_due_dates() -> None:
    assert domain.due_date(date(2026, 12, 1), 30, False) == date(2026, 12, 31)
    assert domain.due_date(date(2026, 12, 1), 0, False) == date(2026, 12, 1)
    # 45 days end of month: 45 days later is 15 January, then the end of that month
    assert domain.due_date(date(2026, 12, 1), 45, True) == date(2027, 1, 31)
    assert domain.due_date(date(2027, 1, 20), 45, True) == date(2027, 3, 31)


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_penalty_is_three_times_the_legal_rate_of_the_half_year() -> None:
    rates = {"2026-H1": Decimal("2.62"), "2026-H2": Decimal("2.70")}
    forty = Money(4000, "EUR")
    h1 = domain.late_terms(date(2026, 6, 30), legal_rates=rates, contractual_rate=None, indemnity=forty)
    h2 = domain.late_terms(date(2026, 7, 1), legal_rates=rates, contractual_rate=None, indemnity=forty)
    assert (
        h1.outcome is not None
        and h1.outcome.penalty_rate == Decimal("7.86")
        and h1.outcome.half_year == "2026-H1"
    )
    assert h2.outcome is not None and h2.outcome.penalty_rate == Decimal("8.1")
    assert h2.outcome.indemnity == forty and h2.rules == ("LAW-LATE-1",)


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_a_contractual_rate_below_the_floor_or_a_missing_half_year_is_refused() -> None:
    rates = {"2026-H2": Decimal("2.70")}
    forty = Money(4000, "EUR")
    low = domain.late_terms(
        date(2026, 12, 1), legal_rates=rates, contractual_rate=Decimal("8"), indemnity=forty
    )
    assert low.outcome is None and "below 3 × the legal rate" in low.reason
    ok = domain.late_terms(
        date(2026, 12, 1), legal_rates=rates, contractual_rate=Decimal("12"), indemnity=forty
    )
    assert ok.outcome is not None and ok.outcome.penalty_rate == Decimal(12)
    missing = domain.late_terms(date(2027, 1, 2), legal_rates=rates, contractual_rate=None, indemnity=forty)
    assert missing.outcome is None and "2027-H1" in missing.reason
    cheap = domain.late_terms(
        date(2026, 12, 1), legal_rates=rates, contractual_rate=None, indemnity=Money(3000)
    )
    assert cheap.outcome is None and "40" in cheap.reason


def test_legal_rates_are_keyed_by_half_year() -> None:
    assert domain.half_year(date(2026, 1, 1)) == "2026-H1"
    assert domain.half_year(date(2026, 12, 31)) == "2026-H2"
    with pytest.raises(ValidationError, match="YYYY-H1"):
        BillingSettings.model_validate({"legal_interest_rates": {"2026-S2": "2.7"}})


# --- e-invoicing (LAW-EINVOICE-1) ----------------------------------------------------------------


@pytest.mark.rule("LAW-EINVOICE-1")
def test_LAW_EINVOICE_1_business_invoices_from_the_start_date_are_factur_x() -> None:
    start = date(2026, 9, 1)
    assert domain.einvoice_applies(True, date(2026, 9, 1), start).outcome is True
    assert domain.einvoice_applies(True, date(2026, 8, 31), start).outcome is False
    assert domain.einvoice_applies(False, date(2026, 12, 1), start).outcome is False
    small = date(2027, 9, 1)  # a small company's obligation starts a year later
    assert domain.einvoice_applies(True, date(2026, 12, 1), small).outcome is False


# --- mentions (LAW-INVOICE-1) --------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_a_complete_seller_has_no_problem() -> None:
    assert domain.seller_problems(SELLER) == []


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_missing_or_invalid_seller_mentions_are_named() -> None:
    problems = dict(domain.seller_problems({"country": "FR"}))
    for name in (
        "name",
        "legal_form",
        "address_line1",
        "postcode",
        "city",
        "siren",
        "siret",
        "rcs_city",
        "vat_number",
    ):
        assert name in problems, name
    bad = dict(domain.seller_problems({**SELLER, "siren": "732829321", "vat_number": "FR00732829320"}))
    assert "Luhn" in bad["siren"] and "VAT" in bad["vat_number"]
    other = dict(domain.seller_problems({**SELLER, "siret": "55210055400013"}))
    assert other == {"siret": "does not start with the SIREN"}
    assert "share_capital" in dict(domain.seller_problems({**SELLER, "share_capital": None}))


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_an_individual_under_franchise_needs_no_capital_rcs_or_vat_number() -> None:
    ei = {
        **SELLER,
        "legal_form": "EI",
        "share_capital": None,
        "rcs_city": None,
        "registration_exempt": True,
        "vat_number": None,
        "vat_franchise": True,
    }
    assert domain.seller_problems(ei) == []


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_buyer_mentions_consumer_and_business() -> None:
    consumer = {
        "kind": "consumer",
        "name": "Ada Martin",
        "address_line1": "3 rue Haute, 67000 Strasbourg",
        "country": "FR",
    }
    assert domain.buyer_problems(consumer) == []
    assert dict(domain.buyer_problems({**consumer, "name": " "})) == {"name": "required on an invoice"}
    business = {**consumer, "kind": "business", "postcode": "69006", "city": "Lyon"}
    problems = dict(domain.buyer_problems(business))
    assert set(problems) == {"siren", "vat_number"}
    ok = {**business, "siren": "552100554", "vat_number": "FR96552100554"}
    assert domain.buyer_problems(ok) == []
    foreign = {**business, "country": "DE", "vat_number": "DE136695976"}
    assert domain.buyer_problems(foreign) == []


# --- credit notes (LAW-INVOICE-1) ----------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_a_credit_note_never_exceeds_what_remains_per_rate() -> None:
    twenty, ten = Decimal(20), Decimal(10)
    invoiced = {twenty: Money(10000), ten: Money(500)}
    remaining = domain.remaining_by_rate(invoiced, [{twenty: Money(4000)}])
    assert remaining == {twenty: Money(6000), ten: Money(500)}
    assert domain.credit_verdict(remaining, {twenty: Money(6000)}).allowed
    over = domain.credit_verdict(remaining, {twenty: Money(6001)})
    assert not over.allowed and "60.00 EUR remains" in over.reason
    assert not domain.credit_verdict(remaining, {Decimal("5.5"): Money(1)}).allowed


def test_months() -> None:
    assert domain.parse_month("2026-11") == (date(2026, 11, 1), date(2026, 12, 1))
    assert domain.parse_month("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    for bad in ("2026-13", "26-11", "2026-1", ""):
        with pytest.raises(ValueError):
            domain.parse_month(bad)
    assert domain.previous_month(date(2026, 12, 1)) == "2026-11"
    assert domain.previous_month(date(2027, 1, 15)) == "2026-12"
