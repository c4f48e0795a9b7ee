"""Pure rules of invoicing: numbers, amounts, mentions, payment terms, late penalties, credit caps.

No database, clock or network here: dates and settings come in as arguments.

- LAW-INVOICE-1: numbers `<series>-<year>-<seq>` (seq zero-padded), one gap-free sequence per series
  and year; the legal mentions of the seller must be complete before anything is issued.
- LAW-VAT-1: totals come from `kernel.vat.invoice_totals` (line nets rounded, VAT per rate on the
  net total, gross = net + VAT).
- LAW-LATE-1: business invoices state late-payment penalties of at least 3 × the legal interest
  rate of the half-year and the 40 € recovery indemnity; payment terms are at most 60 days from the
  invoice or 45 days end of month.
- LAW-EINVOICE-1: business invoices issued on or after the start date carry Factur-X (EN 16931).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money, minor_units, round_half_up
from entremise.kernel.vat import InvoiceLine, InvoiceTotals, invoice_totals, split_gross

HALF_YEAR = re.compile(r"^(\d{4})-H([12])$")
SERIES_CODE = re.compile(r"^[A-Z0-9]{1,10}$")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_NET_DAYS = 60  # LAW-LATE-1: at most 60 days from the invoice date
MAX_END_OF_MONTH_DAYS = 45  # LAW-LATE-1: or 45 days end of month
PENALTY_MULTIPLE = Decimal(3)  # LAW-LATE-1: at least 3 × the legal interest rate
MAX_AMOUNT = Decimal("1000000000")  # a unit price or quantity above this is a typing error
UNIT_PRICE_PLACES = 6  # a net unit price derived from a gross price keeps 6 decimals
INDIVIDUAL_FORMS = frozenset(
    {"EI", "EIRL", "ENTREPRENEUR INDIVIDUEL", "MICRO-ENTREPRENEUR", "AUTO-ENTREPRENEUR"}
)

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
KINDS = (INVOICE, CREDIT_NOTE)
# UNTDID 1001 document type codes used in the Factur-X XML
TYPE_CODES = {INVOICE: "380", CREDIT_NOTE: "381"}


# --- numbers -------------------------------------------------------------------------------------


def series_name(prefix: str, seller_code: str | None = None) -> str:
    """The series: the platform's prefix (`FA`), or the prefix and a mandated seller's code (`FA-P42`)."""
    if seller_code is None:
        return prefix
    if not SERIES_CODE.match(seller_code):
        raise ValueError("a seller's series code is 1 to 10 capital letters or digits")
    return f"{prefix}-{seller_code}"


def format_number(series: str, year: int, seq: int, digits: int = 6) -> str:
    """LAW-INVOICE-1: `FA-2026-000042`. The sequence starts again at 1 each year of each series."""
    if seq < 1:
        raise ValueError("invoice sequence numbers start at 1")
    if seq >= 10**digits:
        raise ValueError(f"sequence {seq} does not fit in {digits} digits")
    return f"{series}-{year}-{seq:0{digits}d}"


def counter_name(series: str, year: int) -> str:
    """The gap-free counter of one series and year."""
    return f"billing:{series}:{year}"


# --- amounts -------------------------------------------------------------------------------------


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and without an exponent: 10, 5.5, 8.333333 (never 1E+1)."""
    n = value.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def parse_decimal(raw: object, *, places: int = 2, positive: bool = True) -> Decimal:
    """A decimal given as text (`"12.50"`), with at most `places` decimals; ValueError(reason) if not.

    Floats are refused (they cannot hold 0.1 exactly); so are exponents, NaN and infinities."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError('a decimal number written as text, such as "12.50"')
    text = str(raw).strip()
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError('a decimal number such as "12.50" (digits, one dot)')
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
        raise ValueError("not a number") from None
    if value < 0:
        raise ValueError("must not be negative")
    if positive and value == 0:
        raise ValueError("must be greater than zero")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValueError(f"at most {places} decimals")
    if value > MAX_AMOUNT:
        raise ValueError(f"at most {MAX_AMOUNT}")
    return value


def allowed_rate(raw: object, rates: Iterable[Decimal]) -> Decimal:
    """One of the platform's VAT rates (LAW-VAT-1); ValueError(reason) otherwise."""
    allowed = [plain(r) for r in rates]
    value = plain(parse_decimal(raw, places=2, positive=False))
    if value not in allowed:
        raise ValueError("one of the VAT rates " + ", ".join(f"{r}" for r in sorted(allowed, reverse=True)))
    return value


@dataclass(frozen=True)
class PricedLine:
    """A line ready for an invoice: the net unit price is what the invoice shows and computes with."""

    quantity: Decimal
    unit_price: Decimal  # net, major units; 2 decimals when given net, up to 6 when derived from gross
    vat_rate: Decimal

    def as_invoice_line(self) -> InvoiceLine:
        return InvoiceLine(quantity=self.quantity, unit_price=self.unit_price, vat_rate=self.vat_rate)


def priced_line(
    quantity: Decimal, unit_price: Decimal, vat_rate: Decimal, *, gross: bool, currency: str
) -> PricedLine:
    """A net-priced line as given; a gross-priced line becomes net (LAW-VAT-1 computes on nets).

    Gross: the line's gross (quantity × unit gross, rounded half-up to the cent) is split with
    `kernel.vat.split_gross`, and the net unit price is that net divided by the quantity, kept to
    6 decimals, so that quantity × unit price rounds back to exactly that net."""
    if not gross:
        return PricedLine(quantity, unit_price, vat_rate)
    digits = minor_units(currency)
    line_gross = Money(round_half_up((quantity * unit_price).scaleb(digits)), currency)
    net = split_gross(line_gross, vat_rate).net
    unit = (net.to_major() / quantity).quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES))
    return PricedLine(quantity, plain(unit), vat_rate)


def totals(lines: Sequence[PricedLine], currency: str) -> InvoiceTotals:
    """LAW-VAT-1 totals of the lines (kernel.vat.invoice_totals)."""
    return invoice_totals([line.as_invoice_line() for line in lines], currency)


def vat_category(rate: Decimal) -> str:
    """UNCL 5305 code in the Factur-X XML: S (standard rate) above zero, E (exempt) at zero."""
    return "S" if rate > 0 else "E"


# --- payment terms and late penalties (LAW-LATE-1) ------------------------------------------------


def check_payment_terms(days: int, end_of_month: bool) -> Verdict:
    """LAW-LATE-1: at most 60 days from the invoice date, or 45 days end of month."""
    limit = MAX_END_OF_MONTH_DAYS if end_of_month else MAX_NET_DAYS
    if days < 0:
        return Verdict.refuse("LAW-LATE-1", reason="payment terms cannot be negative")
    if days > limit:
        what = "days end of month" if end_of_month else "days from the invoice date"
        return Verdict.refuse("LAW-LATE-1", reason=f"payment terms are at most {limit} {what}")
    return Verdict.allow("LAW-LATE-1")


def due_date(issue: date, days: int, end_of_month: bool) -> date:
    """The due date: `days` after the issue date; with `end_of_month`, the last day of the month
    in which those days end ("45 jours fin de mois", counted as the DGCCRF's first reading)."""
    due = issue + timedelta(days=days)
    if end_of_month:
        due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
    return due


def half_year(day: date) -> str:
    """`2026-H2` for a day between July and December 2026."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


@dataclass(frozen=True)
class LateTerms:
    """What a business invoice says about late payment (LAW-LATE-1)."""

    penalty_rate: Decimal  # % a year, from the day after the due date
    legal_rate: Decimal  # the legal interest rate of the half-year it was checked against
    half_year: str
    indemnity: Money  # fixed recovery indemnity per unpaid invoice


def late_terms(
    issue: date,
    *,
    legal_rates: Mapping[str, Decimal],
    contractual_rate: Decimal | None,
    indemnity: Money,
) -> Decision[LateTerms | None]:
    """LAW-LATE-1: the penalty rate is the contractual one, refused below 3 × the legal rate of the
    issue date's half-year, or 3 × that legal rate when the platform sets none; the indemnity is at
    least 40 €. Outcome None (refused) when the legal rate of the half-year is not in the settings."""
    period = half_year(issue)
    legal = legal_rates.get(period)
    if legal is None:
        return Decision(
            None,
            rules=("LAW-LATE-1",),
            reason=f"the legal interest rate of {period} is missing from billing.legal_interest_rates",
        )
    floor = plain(legal * PENALTY_MULTIPLE)
    if contractual_rate is not None and contractual_rate < floor:
        return Decision(
            None,
            rules=("LAW-LATE-1",),
            reason=f"billing.late_penalty_rate {contractual_rate} % is below 3 × the legal rate "
            f"of {period} ({legal} %), {floor} %",
        )
    if indemnity.currency != "EUR" or indemnity.amount < 4000:
        return Decision(None, rules=("LAW-LATE-1",), reason="the recovery indemnity is at least 40 €")
    rate = floor if contractual_rate is None else plain(contractual_rate)
    return Decision(
        LateTerms(penalty_rate=rate, legal_rate=legal, half_year=period, indemnity=indemnity),
        rules=("LAW-LATE-1",),
        reason=f"penalties at {rate} % a year (3 × legal rate {legal} % of {period}: {floor} %) "
        f"and a {indemnity} recovery indemnity",
    )


# --- e-invoicing (LAW-EINVOICE-1) -----------------------------------------------------------------


def einvoice_applies(business: bool, issue: date, start: date) -> Decision[bool]:
    """LAW-EINVOICE-1: an invoice to a business issued on or after `start` is a Factur-X invoice."""
    if not business:
        return Decision(False, ("LAW-EINVOICE-1",), "consumer invoice: no e-invoicing obligation")
    if issue < start:
        return Decision(False, ("LAW-EINVOICE-1",), f"issued before the e-invoicing start {start}")
    return Decision(True, ("LAW-EINVOICE-1",), "business invoice: Factur-X EN 16931")


# --- identities ----------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def seller_problems(seller: Mapping[str, object]) -> list[tuple[str, str]]:
    """The seller's missing or invalid legal mentions, as (field, reason); empty when complete.

    Required: name, legal form, address (line 1, postcode, city, country), SIREN, SIRET, RCS city
    (unless exempt from registration), share capital (companies: not for an individual form),
    intra-EU VAT number (unless under the VAT franchise)."""
    problems: list[tuple[str, str]] = []
    for name in ("name", "legal_form", "address_line1", "postcode", "city", "country", "siren", "siret"):
        if _blank(seller.get(name)):
            problems.append((name, "required on an invoice"))
    siren = seller.get("siren")
    siret = seller.get("siret")
    if isinstance(siren, str) and siren.strip() and not fr_siren.is_valid(siren):
        problems.append(("siren", "not a valid SIREN (9 digits, Luhn key)"))
    if isinstance(siret, str) and siret.strip():
        if not fr_siret.is_valid(siret):
            problems.append(("siret", "not a valid SIRET (14 digits, Luhn key)"))
        elif isinstance(siren, str) and fr_siren.compact(siret)[:9] != fr_siren.compact(siren):
            problems.append(("siret", "does not start with the SIREN"))
    if _blank(seller.get("rcs_city")) and not seller.get("registration_exempt"):
        problems.append(("rcs_city", "required unless the seller is exempt from registration"))
    form = str(seller.get("legal_form") or "").strip().upper()
    if seller.get("share_capital") is None and form and form not in INDIVIDUAL_FORMS:
        problems.append(("share_capital", "required for a company"))
    vat_number = seller.get("vat_number")
    if _blank(vat_number):
        if not seller.get("vat_franchise"):
            problems.append(("vat_number", "required unless the seller is under the VAT franchise"))
    elif not eu_vat.is_valid(str(vat_number)):
        problems.append(("vat_number", "not a valid intra-EU VAT number"))
    return problems


def buyer_problems(buyer: Mapping[str, object]) -> list[tuple[str, str]]:
    """The buyer's missing or invalid mentions: name and address always (a consumer's address may
    be one free line); for a business, a structured address (postcode and city: the Factur-X XML
    needs them), its SIREN (French ones) and its intra-EU VAT number."""
    problems: list[tuple[str, str]] = []
    business = buyer.get("kind") == "business"
    required = (
        ("name", "address_line1", "postcode", "city", "country")
        if business
        else ("name", "address_line1", "country")
    )
    for name in required:
        if _blank(buyer.get(name)):
            problems.append((name, "required on an invoice"))
    if business:
        siren = buyer.get("siren")
        if buyer.get("country") == "FR" and _blank(siren):
            problems.append(("siren", "required for a French business"))
        elif isinstance(siren, str) and siren.strip() and not fr_siren.is_valid(siren):
            problems.append(("siren", "not a valid SIREN (9 digits, Luhn key)"))
        vat_number = buyer.get("vat_number")
        if _blank(vat_number):
            problems.append(("vat_number", "required for a business"))
        elif not eu_vat.is_valid(str(vat_number)):
            problems.append(("vat_number", "not a valid intra-EU VAT number"))
    return problems


def compact_id(value: str | None) -> str | None:
    """SIREN, SIRET and VAT numbers without spaces or dots, upper case."""
    if value is None:
        return None
    return re.sub(r"[\s.\-]", "", value).upper() or None


# --- credit notes --------------------------------------------------------------------------------


def remaining_by_rate(
    invoiced: Mapping[Decimal, Money], credited: Iterable[Mapping[Decimal, Money]]
) -> dict[Decimal, Money]:
    """What is left to credit on an invoice, as the taxable amount per VAT rate."""
    left = {plain(rate): amount for rate, amount in invoiced.items()}
    for note in credited:
        for rate, amount in note.items():
            key = plain(rate)
            left[key] = left[key] - amount
    return left


def credit_verdict(remaining: Mapping[Decimal, Money], requested: Mapping[Decimal, Money]) -> Verdict:
    """LAW-INVOICE-1: a credit note corrects its invoice and never credits more than remains, at
    each VAT rate (the taxable amount; the VAT follows by LAW-VAT-1)."""
    for rate, amount in requested.items():
        key = plain(rate)
        if key not in remaining:
            return Verdict.refuse("LAW-INVOICE-1", reason=f"the invoice has no line at {key} % VAT")
        if amount > remaining[key]:
            return Verdict.refuse(
                "LAW-INVOICE-1",
                reason=f"at {key} % VAT only {remaining[key]} remains to credit, not {amount}",
            )
    return Verdict.allow("LAW-INVOICE-1")


# --- months --------------------------------------------------------------------------------------


def parse_month(text: str) -> tuple[date, date]:
    """`2026-11` -> (first day of the month, first day of the next); ValueError otherwise."""
    match = MONTH.match(text or "")
    if not match:
        raise ValueError("a month written YYYY-MM, such as 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, end


def previous_month(day: date) -> str:
    """The month before the one containing `day`, as YYYY-MM."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"
