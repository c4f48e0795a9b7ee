"""KYC policies (pure): which documents a provider must supply, whether a document is fresh
enough, whether a bank account's IBAN/BIC are well-formed, and whether the KYC as a whole is
validated (EXPERT-WALLET-1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.errors import FieldError
from entremise.payments.port import KycDocumentType

RULE_KYC = "EXPERT-WALLET-1"
LEGAL_FORMS = ("individual", "company")

# document states
PENDING = "pending_review"  # uploaded, waiting for staff
SUBMITTED = "submitted"  # approved by staff, sent to the payment provider
VALIDATED = "validated"  # the payment provider validated it
REFUSED = "refused"  # staff or the payment provider refused it (with a reason)
SUPERSEDED = "superseded"  # replaced by a newer document of the same type, or the IBAN changed
STATES = (PENDING, SUBMITTED, VALIDATED, REFUSED, SUPERSEDED)
OPEN_STATES = (PENDING, SUBMITTED)

# types whose issue date must be less than `max_age_months` old (EXPERT-WALLET-1)
DATED_TYPES = frozenset(
    {
        KycDocumentType.ADDRESS_PROOF,
        KycDocumentType.REGISTRATION_PROOF,
        KycDocumentType.ARTICLES_OF_ASSOCIATION,
    }
)


def required_documents(legal_form: str) -> Decision[tuple[KycDocumentType, ...]]:
    """The documents a provider must have validated before a payout (EXPERT-WALLET-1)."""
    base = (KycDocumentType.IDENTITY_PROOF, KycDocumentType.ADDRESS_PROOF, KycDocumentType.BANK_DETAILS)
    if legal_form == "company":
        return Decision(
            (*base, KycDocumentType.REGISTRATION_PROOF, KycDocumentType.ARTICLES_OF_ASSOCIATION),
            (RULE_KYC,),
            "a company also supplies a registry extract (or sole-trader certificate), its name and "
            "its articles",
        )
    return Decision(base, (RULE_KYC,), "identity, proof of address and bank details")


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the last day of a shorter month)."""
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    for d in range(day.day, 0, -1):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_freshness(
    document_type: KycDocumentType, issued_on: date | None, today: date, max_age_months: int
) -> Verdict:
    """A dated document must be issued less than `max_age_months` before `today`, and not in the
    future (EXPERT-WALLET-1); other types need no date."""
    if document_type not in DATED_TYPES:
        if issued_on is not None and issued_on > today:
            return Verdict.refuse(RULE_KYC, reason="the issue date is in the future")
        return Verdict.allow(RULE_KYC, reason="no freshness condition for this document")
    if issued_on is None:
        return Verdict.refuse(RULE_KYC, reason="this document needs its issue date")
    if issued_on > today:
        return Verdict.refuse(RULE_KYC, reason="the issue date is in the future")
    oldest = months_before(today, max_age_months)
    if issued_on <= oldest:
        return Verdict.refuse(
            RULE_KYC,
            reason=f"issued on {issued_on.isoformat()}: it must be less than {max_age_months} months old",
        )
    return Verdict.allow(RULE_KYC, reason=f"issued less than {max_age_months} months ago")


@dataclass(frozen=True)
class DocumentFact:
    type: KycDocumentType
    state: str


def kyc_status(
    legal_form: str, documents: Iterable[DocumentFact], *, company_name: str | None, bank_account: bool
) -> Decision[bool]:
    """Validated when every required type has a validated document, a company has its name and a
    bank account is recorded (EXPERT-WALLET-1). The reason lists what is missing."""
    required = required_documents(legal_form).outcome
    validated = {d.type for d in documents if d.state == VALIDATED}
    missing = [t.value for t in required if t not in validated]
    if legal_form == "company" and not company_name:
        missing.append("company_name")
    if not bank_account:
        missing.append("bank_account")
    if missing:
        return Decision(False, (RULE_KYC,), "missing: " + ", ".join(missing))
    return Decision(True, (RULE_KYC,), "every required document is validated")


def review_due_at(submitted_at: datetime, hours: int) -> datetime:
    """When the provider must have the outcome (EXPERT-WALLET-1: 48 hours)."""
    return submitted_at + timedelta(hours=hours)


@dataclass(frozen=True)
class BankDetails:
    iban: str  # compact, upper case
    bic: str | None
    country: str


def parse_bank_details(
    iban: object, bic: object, field_prefix: str = "body"
) -> BankDetails | list[FieldError]:
    """Validate an IBAN (checksum, country format) and an optional BIC; their compact forms."""
    errors: list[FieldError] = []
    parsed_iban: IBAN | None = None
    if not isinstance(iban, str) or not iban.strip():
        errors.append(FieldError(f"{field_prefix}.iban", "required"))
    else:
        try:
            parsed_iban = IBAN(iban)
        except (SchwiftyException, ValueError) as exc:
            errors.append(FieldError(f"{field_prefix}.iban", f"not a valid IBAN: {exc}"))
    parsed_bic: BIC | None = None
    if bic is not None and bic != "":
        if not isinstance(bic, str):
            errors.append(FieldError(f"{field_prefix}.bic", "must be a string"))
        else:
            try:
                parsed_bic = BIC(bic)
            except (SchwiftyException, ValueError) as exc:
                errors.append(FieldError(f"{field_prefix}.bic", f"not a valid BIC: {exc}"))
    if errors:
        return errors
    assert parsed_iban is not None
    return BankDetails(
        parsed_iban.compact, parsed_bic.compact if parsed_bic is not None else None, parsed_iban.country_code
    )


def mask_iban(iban: str) -> str:
    """Country and check digits, then only the last four characters: FR76 **** **** 0189."""
    if len(iban) <= 8:
        return iban[:2] + "*" * (len(iban) - 2)
    return f"{iban[:4]} {'*' * 4} {'*' * 4} {iban[-4:]}"
