"""The expert pack's policies: pure functions of plain values returning decisions with rule IDs.

Packages (EXPERT-PRICE-2), the per-minute budget cap (EXPERT-PRICE-4) and cancellations
(EXPERT-CANCEL-1/2) are the scheduling module's policies (`scheduling.domain`), configured by this
pack's figures; what is specific to the expert platform lives here."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money
from entremise.packs.expert.settings import ExpertSettings

Status = Literal["individual", "sole_trader", "company"]


def kyc_documents(status: Status) -> Decision[tuple[str, ...]]:
    """EXPERT-WALLET-1: the documents a payout needs, by legal status."""
    base = ("id_card", "proof_of_address", "bank_details")
    if status == "individual":
        return Decision(base, ("EXPERT-WALLET-1",), "identity, address, bank details")
    if status == "sole_trader":
        return Decision((*base, "registry_extract"), ("EXPERT-WALLET-1",), "and a sole-trader certificate")
    return Decision(
        (*base, "registry_extract", "company_name", "articles"),
        ("EXPERT-WALLET-1",),
        "and the company's papers",
    )


DATED = frozenset({"proof_of_address", "registry_extract", "articles"})


def kyc_document_verdict(
    settings: ExpertSettings, *, kind: str, issued_on: date | None, today: date
) -> Verdict:
    """EXPERT-WALLET-1: proof of address, registry extract and articles are under 3 months old."""
    if kind not in DATED:
        return Verdict.allow("EXPERT-WALLET-1", reason="no age limit")
    if issued_on is None:
        return Verdict.refuse("EXPERT-WALLET-1", reason="the issue date of this document is needed")
    if issued_on > today:
        return Verdict.refuse("EXPERT-WALLET-1", reason="the issue date is in the future")
    if (today - issued_on).days > settings.kyc_document_max_age_days:
        return Verdict.refuse(
            "EXPERT-WALLET-1",
            reason=f"the document must be under {settings.kyc_document_max_age_days} days old",
        )
    return Verdict.allow("EXPERT-WALLET-1", reason="recent enough")


def kyc_answer_due(settings: ExpertSettings, *, submitted_at: datetime) -> Decision[datetime]:
    """EXPERT-WALLET-1: the provider learns the KYC outcome within 48 hours."""
    return Decision(
        submitted_at + timedelta(hours=settings.kyc_answer_hours),
        ("EXPERT-WALLET-1",),
        f"answer within {settings.kyc_answer_hours} hours",
    )


def payout_verdict(settings: ExpertSettings, *, balance: Money, kyc_validated: bool) -> Verdict:
    """EXPERT-WALLET-1/2: a payout needs validated KYC and a wallet of at least 50 €."""
    if not kyc_validated:
        return Verdict.refuse("EXPERT-WALLET-1", reason="a payout needs validated identity documents")
    minimum = Money(settings.payout_minimum, balance.currency)
    if balance < minimum:
        return Verdict.refuse("EXPERT-WALLET-2", reason=f"a payout needs at least {minimum} in the wallet")
    return Verdict.allow("EXPERT-WALLET-1", "EXPERT-WALLET-2", reason="payout allowed")


def may_record(settings: ExpertSettings) -> Verdict:
    """EXPERT-RECORD-1: the platform records no exchange between provider and client."""
    return Verdict.refuse("EXPERT-RECORD-1", reason="this platform records no exchange")


def rating_opposition(settings: ExpertSettings) -> Verdict:
    """EXPERT-RATING-1: a provider cannot oppose the publication of a rating."""
    if settings.provider_may_oppose_rating:  # pragma: no cover - the setting is Literal[False]
        return Verdict.allow("EXPERT-RATING-1", reason="allowed by the platform")
    return Verdict.refuse("EXPERT-RATING-1", reason="a provider cannot oppose a rating's publication")


def sanction_verdict(settings: ExpertSettings, *, sanction: str) -> Verdict:
    """EXPERT-SANCTION-1: the sanctions staff may apply."""
    if sanction not in settings.sanctions:
        return Verdict.refuse("EXPERT-SANCTION-1", reason=f"one of {', '.join(settings.sanctions)}")
    return Verdict.allow("EXPERT-SANCTION-1", reason=sanction)
