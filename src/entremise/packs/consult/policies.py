"""The consult pack's policies: pure functions of plain values returning decisions with rule IDs.

Figures come from `ConsultSettings` (the platform's `pack_settings`); time comes in as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money
from entremise.packs.base import add_months
from entremise.packs.consult.settings import ConsultSettings


def credit_pack(settings: ConsultSettings, index: int) -> Decision[tuple[Money, Money] | None]:
    """CONSULT-CREDIT-1: the price and the credit offered of one of the packs on sale."""
    if not 0 <= index < len(settings.credit_packs):
        return Decision(None, ("CONSULT-CREDIT-1",), f"no credit pack number {index}")
    p = settings.credit_packs[index]
    price, bonus = Money(p.price, settings.currency), Money(p.bonus, settings.currency)
    return Decision((price, bonus), ("CONSULT-CREDIT-1",), f"pack {index}: {price} + {bonus} offered")


def cut_call_refund(settings: ConsultSettings, *, duration_seconds: int) -> Verdict:
    """CONSULT-CALL-4: a complaint about a cut call can be refunded only up to 5 minutes."""
    limit = settings.cut_call_refund_max_minutes * 60
    if duration_seconds > limit:
        return Verdict.refuse(
            "CONSULT-CALL-4",
            reason=f"the consultation lasted more than {settings.cut_call_refund_max_minutes} minutes: "
            "a cut call is not refunded",
        )
    return Verdict.allow("CONSULT-CALL-4", reason="a cut call of this length may be refunded")


def review_eligibility(
    settings: ConsultSettings,
    *,
    subject: Literal["consultation", "djob"],
    ended_at: datetime,
    now: datetime,
    duration_seconds: int = 0,
    free: bool = False,
    completed: bool = True,
) -> Verdict:
    """CONSULT-REVIEW-1: a completed DJob, or a paid consultation longer than 3 minutes, within
    21 days."""
    rule = "CONSULT-REVIEW-1"
    if subject == "djob":
        if not completed:
            return Verdict.refuse(rule, reason="only a completed DJob can be reviewed")
    else:
        if free:
            return Verdict.refuse(rule, reason="a free (gifted) consultation cannot be reviewed")
        if duration_seconds <= settings.review_min_minutes * 60:
            return Verdict.refuse(
                rule,
                reason=f"only a consultation longer than {settings.review_min_minutes} minutes can be reviewed",
            )
    if now > ended_at + timedelta(days=settings.review_window_days):
        return Verdict.refuse(rule, reason=f"reviews are written within {settings.review_window_days} days")
    if now < ended_at:
        return Verdict.refuse(rule, reason="the consultation is not over")
    return Verdict.allow(rule, reason="may be reviewed")


@dataclass(frozen=True)
class ReviewDates:
    id: str
    published_at: datetime
    changed_at: datetime | None


def review_listing(reviews: list[ReviewDates]) -> Decision[list[ReviewDates]]:
    """CONSULT-REVIEW-2: reviews are listed newest first (by publication date)."""
    ordered = sorted(reviews, key=lambda r: (r.published_at, r.id), reverse=True)
    return Decision(ordered, ("CONSULT-REVIEW-2",), "newest first")


def review_removal(*, breaks_terms_or_illicit: bool, reported: bool) -> Verdict:
    """CONSULT-REVIEW-2: a review goes only when it breaks the terms or is illicit, after a report."""
    if not reported:
        return Verdict.refuse("CONSULT-REVIEW-2", reason="a review is removed only after a pertinent report")
    if not breaks_terms_or_illicit:
        return Verdict.refuse("CONSULT-REVIEW-2", reason="the review neither breaks the terms nor is illicit")
    return Verdict.allow("CONSULT-REVIEW-2", reason="reported and in breach: removed")


def discovery_offer_lost(settings: ConsultSettings, *, last_login_at: datetime, now: datetime) -> Verdict:
    """CONSULT-GIFT-1: 12 months without a login lose the discovery offer and close the account.

    `allowed` means the offer is lost (the closing action is allowed)."""
    limit = add_months(last_login_at, settings.inactivity_months)
    if now >= limit:
        return Verdict.allow("CONSULT-GIFT-1", reason=f"no login for {settings.inactivity_months} months")
    return Verdict.refuse(
        "CONSULT-GIFT-1", reason=f"active: the offer is kept until {limit.date().isoformat()}"
    )


def recording_purge_at(settings: ConsultSettings, *, recorded_at: datetime) -> Decision[datetime]:
    """CONSULT-RECORD-1: a recording is kept 12 months, then purged."""
    return Decision(
        add_months(recorded_at, settings.recording_retention_months),
        ("CONSULT-RECORD-1",),
        f"kept {settings.recording_retention_months} months",
    )


def may_record(settings: ConsultSettings, *, client_objected: bool) -> Verdict:
    """CONSULT-RECORD-1: recorded as evidence unless the client objected (the objection is honoured)."""
    if not settings.recording_enabled:
        return Verdict.refuse("CONSULT-RECORD-1", reason="recording is turned off on this platform")
    if client_objected:
        return Verdict.refuse("CONSULT-RECORD-1", reason="the client objected to recording")
    return Verdict.allow("CONSULT-RECORD-1", reason="recorded as evidence")


@dataclass(frozen=True)
class Sanction:
    action: Literal["suspend_now", "formal_notice"]
    remedy_due: datetime | None
    sworn_statement_required: bool


def sanction(settings: ConsultSettings, *, urgent: bool, now: datetime) -> Decision[Sanction]:
    """CONSULT-SANCTION-1: an urgent breach suspends at once; a lesser one gets a formal notice
    with 30 days to remedy and a sworn statement."""
    if urgent:
        return Decision(
            Sanction("suspend_now", None, False), ("CONSULT-SANCTION-1",), "urgent breach: suspended"
        )
    due = now + timedelta(days=settings.sanction_remedy_days)
    return Decision(
        Sanction("formal_notice", due, True),
        ("CONSULT-SANCTION-1",),
        f"formal notice: {settings.sanction_remedy_days} days to remedy",
    )


@dataclass(frozen=True)
class OutageRefund:
    amount: Money
    due_by: datetime


def outage_refund(
    settings: ConsultSettings,
    *,
    price_of_period: Money,
    period_seconds: int,
    interruption_seconds: int,
    force_majeure: bool,
    now: datetime,
) -> Decision[OutageRefund | None]:
    """CONSULT-OUTAGE-1: an unplanned outage, not force majeure, is refunded pro rata within 30 days."""
    if force_majeure:
        return Decision(None, ("CONSULT-OUTAGE-1",), "force majeure: no refund")
    if period_seconds <= 0:
        raise ValueError("the period must last")
    share = min(max(interruption_seconds, 0), period_seconds)
    amount = Money(price_of_period.amount * share // period_seconds, price_of_period.currency)
    due = now + timedelta(days=settings.outage_refund_within_days)
    return Decision(OutageRefund(amount, due), ("CONSULT-OUTAGE-1",), f"pro rata {share}/{period_seconds} s")


def unused_package_notice(settings: ConsultSettings, *, last_used_at: datetime, now: datetime) -> Verdict:
    """CONSULT-PACKAGE-1: after 2 months unused, the client is told to use the package or be refunded.

    `allowed` means the notice is due."""
    due = add_months(last_used_at, settings.package_unused_notice_months)
    if now >= due:
        return Verdict.allow("CONSULT-PACKAGE-1", reason="unused for too long: tell the client")
    return Verdict.refuse("CONSULT-PACKAGE-1", reason="carried over to the next month")
