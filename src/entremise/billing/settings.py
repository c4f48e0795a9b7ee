"""The `billing` section of a platform's settings: who sells, how invoices are numbered, the
payment terms and late-payment figures, VAT rates, Factur-X start date and the monthly run.

Every figure sits beside the rule it implements. An invoice cannot be issued while the seller's
legal mentions are incomplete (see `billing.domain.seller_problems`): the defaults leave them
empty on purpose, because only the operator knows them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from entremise.billing.domain import HALF_YEAR, check_payment_terms, plain

# The "autres cas" legal interest rate (taux de l'intérêt légal, Code monétaire et financier L313-2),
# % a year, fixed by decree each half-year; the operator adds each new half-year (LAW-LATE-1).
KNOWN_LEGAL_RATES = {
    "2024-H1": Decimal("5.07"),
    "2024-H2": Decimal("4.92"),
    "2025-H1": Decimal("3.71"),
    "2025-H2": Decimal("2.76"),
    "2026-H1": Decimal("2.62"),
}
FRENCH_VAT_RATES = [Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("0")]


class SellerIdentity(BaseModel):
    """The legal identity printed on an invoice (CGI art. 242 nonies A; Code de commerce R123-237).

    Every field is optional here so that a platform can be created before its operator knows
    them; issuing an invoice checks they are complete (LAW-INVOICE-1)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)  # raison sociale
    legal_form: str | None = Field(default=None, max_length=60)  # SAS, SARL, EI...
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str = Field(default="FR", pattern=r"^[A-Z]{2}$")
    siren: str | None = Field(default=None, max_length=20)
    siret: str | None = Field(default=None, max_length=20)
    rcs_city: str | None = Field(default=None, max_length=100)  # "RCS Paris": the registry's city
    registration_exempt: bool = False  # an EI exempt from RCS/RM registration says so instead
    share_capital: Decimal | None = Field(default=None, ge=0)  # euros; not for individual forms
    vat_number: str | None = Field(default=None, max_length=20)  # intra-EU VAT number
    vat_franchise: bool = False  # franchise en base (CGI art. 293 B): every line at 0 %
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class PaymentTerms(BaseModel):
    """Due date: `days` after the invoice, or `days` then the end of that month (LAW-LATE-1)."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=0)
    end_of_month: bool = False

    @model_validator(mode="after")
    def _within_law(self) -> PaymentTerms:
        verdict = check_payment_terms(self.days, self.end_of_month)
        if not verdict.allowed:
            raise ValueError(verdict.reason)
        return self


class BillingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller: SellerIdentity = Field(default_factory=SellerIdentity)  # LAW-INVOICE-1 mentions
    # LAW-INVOICE-1: series prefixes; numbers are <prefix>-<year>-<seq> with `number_digits` digits
    invoice_prefix: str = Field(default="FA", pattern=r"^[A-Z]{1,6}$")
    credit_note_prefix: str = Field(default="AV", pattern=r"^[A-Z]{1,6}$")
    number_digits: int = Field(default=6, ge=4, le=9)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    # LAW-VAT-1: the rates an item may carry (%, Decimal); 0 is shown with `zero_rate_mention`
    vat_rates: list[Decimal] = Field(default_factory=lambda: list(FRENCH_VAT_RATES))
    zero_rate_mention: str = Field(default="TVA non applicable, art. 293 B du CGI", max_length=300)
    payment_terms: PaymentTerms = Field(default_factory=PaymentTerms)  # LAW-LATE-1: ≤ 60 d / 45 d EOM
    # LAW-LATE-1: contractual late-payment rate (% a year); None = 3 × the legal rate of the half-year
    late_penalty_rate: Decimal | None = Field(default=None, ge=0, le=100)
    legal_interest_rates: dict[str, Decimal] = Field(default_factory=lambda: dict(KNOWN_LEGAL_RATES))
    recovery_indemnity_cents: int = Field(default=4000, ge=4000)  # LAW-LATE-1: 40 € at least
    early_payment_discount: str | None = Field(default=None, max_length=300)  # None: "no discount"
    # LAW-EINVOICE-1: business invoices issued from this day carry their Factur-X (EN 16931) XML
    einvoice_from: date = date(2026, 9, 1)
    pdf_locale: Literal["fr", "en"] = "fr"
    email_documents: bool = True  # e-mail each invoice and credit note with its PDF
    # KIDRIDE-INVOICE-1: the worker issues each month's invoices from this day of the next month
    monthly_run: bool = False
    monthly_run_day: int = Field(default=1, ge=1, le=28)

    @field_validator("vat_rates")
    @classmethod
    def _rates(cls, value: list[Decimal]) -> list[Decimal]:
        if not value:
            raise ValueError("at least one VAT rate")
        for rate in value:
            if not rate.is_finite() or rate < 0 or rate > 100:
                raise ValueError(f"{rate} is not a percentage between 0 and 100")
        return sorted({plain(r) for r in value}, reverse=True)

    @field_validator("legal_interest_rates")
    @classmethod
    def _half_years(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, rate in value.items():
            if not HALF_YEAR.match(key):
                raise ValueError(f"{key!r}: half-years are written YYYY-H1 or YYYY-H2")
            if not rate.is_finite() or rate < 0 or rate > 100:
                raise ValueError(f"{key}: {rate} is not a percentage between 0 and 100")
        return value
