"""Claims use cases: file, read, add evidence, answer (with a refund), escalate, close.

Every function runs in the caller's transaction (`with db.begin(): service.fn(db, ...)`): the
claim's change, its ledger posting, its audit entry, its messages and its deadline timers commit or
roll back together. A refused call raises before anything is kept.

Locks: a claim about a subject is changed only after locking every claim about that subject, in id
order (`SELECT ... FOR UPDATE` on PostgreSQL), so two refunds of one subject can never together
exceed what it cost; the claim's deadline watch is locked after (see `claims.deadlines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.claims import deadlines, domain, notices
from entremise.claims.domain import Deadline
from entremise.claims.mediation import MediationInfo, mediation_for
from entremise.claims.models import Claim, ClaimAnswer, ClaimEvidence, ClaimRefund
from entremise.claims.refunds import RefundRequest, refund_method, refund_policy
from entremise.claims.settings import ClaimKind
from entremise.claims.subjects import SubjectFacts, lookup_for
from entremise.claims.trail import claim_event
from entremise.counters import service as counters
from entremise.kernel.business_days import BusinessCalendar
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.platforms.service import PlatformView

MAX_EVIDENCE = 100


class FilingWindowClosed(Conflict):
    """A claim filed after its window: the problem names the deadline that passed and its rules."""

    type_ = "https://entremise.dev/problems/claim-window-closed"
    title = "Filing window closed"


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceItem:
    text: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class FilingInput:
    kind: str
    subject_id: str | None = None
    object: str | None = None
    comment: str | None = None
    name: str | None = None
    contact: str | None = None
    pseudonym: str | None = None
    occurred_at: datetime | None = None
    evidence: Sequence[EvidenceItem] = ()


@dataclass(frozen=True)
class EvidenceView:
    id: int
    kind: str
    text: str | None
    reference: str | None
    added_by: str
    added_as: str
    added_at: datetime


@dataclass(frozen=True)
class AnswerView:
    seq: int
    author_id: str
    author_as: str
    decision: str
    reasons: str
    remedy: str | None
    answered_at: datetime
    on_time: bool


@dataclass(frozen=True)
class RefundView:
    amount: Money
    method: str
    status: str
    external_ref: str
    rules: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class ClaimView:
    id: str
    reference: str
    kind: str
    label: str
    rules: tuple[str, ...]
    subject_id: str | None
    state: str
    claimant_id: str
    respondent: str
    respondent_id: str | None
    provider_id: str | None
    object: str | None
    comment: str | None
    name: str | None
    contact: str | None
    pseudonym: str | None
    occurred_at: datetime | None
    reference_at: datetime
    filing_deadline: Deadline | None
    filed_at: datetime
    acknowledged_at: datetime | None
    answer_due: Deadline
    answered_at: datetime | None
    decision: str | None
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    overdue: bool
    capacities: tuple[str, ...] = ()
    allowed_actions: tuple[str, ...] = ()
    evidence: tuple[EvidenceView, ...] = ()
    answers: tuple[AnswerView, ...] = ()
    refunds: tuple[RefundView, ...] = ()
    mediation: MediationInfo | None = None
    mediation_open: bool = False


def _tz(platform: PlatformView) -> str:
    return platform.settings.timezone


def _calendar(platform: PlatformView) -> BusinessCalendar:
    return BusinessCalendar(platform.settings.claims.departement)


def _kind_of(platform: PlatformView, claim: Claim) -> ClaimKind:
    kind = platform.settings.claims.kinds.get(claim.kind)
    if kind is None:  # the kind was removed from the settings after the claim was filed
        return ClaimKind(rules=list(claim.rules))
    return kind


def _view(
    db: Session,
    platform: PlatformView,
    claim: Claim,
    now: datetime,
    capacities: set[str] | None = None,
    *,
    detail: bool = False,
) -> ClaimView:
    tz = _tz(platform)
    kind = platform.settings.claims.kinds.get(claim.kind)
    caps = tuple(sorted(capacities or ()))
    evidence: tuple[EvidenceView, ...] = ()
    answers: tuple[AnswerView, ...] = ()
    refunds: tuple[RefundView, ...] = ()
    mediation = None
    if detail:
        evidence = tuple(
            EvidenceView(e.id, e.kind, e.text, e.reference, e.added_by, e.added_as, e.added_at)
            for e in db.scalars(
                select(ClaimEvidence).where(ClaimEvidence.claim_id == claim.id).order_by(ClaimEvidence.id)
            )
        )
        answers = tuple(
            AnswerView(
                a.seq, a.author_id, a.author_as, a.decision, a.reasons, a.remedy, a.answered_at, a.on_time
            )
            for a in db.scalars(
                select(ClaimAnswer).where(ClaimAnswer.claim_id == claim.id).order_by(ClaimAnswer.seq)
            )
        )
        refunds = tuple(
            RefundView(
                Money(r.amount, r.currency), r.method, r.status, r.external_ref, tuple(r.rules), r.created_at
            )
            for r in db.scalars(
                select(ClaimRefund).where(ClaimRefund.claim_id == claim.id).order_by(ClaimRefund.created_at)
            )
        )
        mediation = mediation_for(db, platform, claim.provider_id, now)
    overdue = domain.is_overdue(claim.state, claim.answer_due_at, now)
    return ClaimView(
        id=claim.id,
        reference=claim.reference,
        kind=claim.kind,
        label=kind.label if kind else claim.kind,
        rules=tuple(claim.rules),
        subject_id=claim.subject_id,
        state=claim.state,
        claimant_id=claim.claimant_id,
        respondent=claim.respondent,
        respondent_id=claim.respondent_id,
        provider_id=claim.provider_id,
        object=claim.object,
        comment=claim.comment,
        name=claim.name,
        contact=claim.contact,
        pseudonym=claim.pseudonym,
        occurred_at=claim.occurred_at,
        reference_at=claim.reference_at,
        filing_deadline=domain.deadline_at(claim.filing_deadline, tz) if claim.filing_deadline else None,
        filed_at=claim.filed_at,
        acknowledged_at=claim.acknowledged_at,
        answer_due=domain.deadline_at(claim.answer_due_at, tz),
        answered_at=claim.answered_at,
        decision=claim.decision,
        escalated_at=claim.escalated_at,
        closed_at=claim.closed_at,
        closed_by=claim.closed_by,
        overdue=overdue,
        capacities=caps,
        allowed_actions=tuple(domain.allowed_actions(claim.state, caps)) if caps else (),
        evidence=evidence,
        answers=answers,
        refunds=refunds,
        mediation=mediation,
        mediation_open=overdue or (claim.state != "escalated" and domain.offers_mediation(claim.decision)),
    )


def _provider_kinds(platform: PlatformView) -> list[str]:
    return [name for name, kind in platform.settings.claims.kinds.items() if kind.respondent == "provider"]


def _capacities(platform: PlatformView, claim: Claim, user_id: str, role: str) -> set[str]:
    """What the caller is to this claim: its claimant, the respondent who must answer it, staff, or
    (`provider`) the provider it was addressed to, after staff took it over: they still follow it."""
    caps: set[str] = set()
    if claim.claimant_id == user_id:
        caps.add("claimant")
    if role == "staff":
        caps.add("staff")
        if claim.respondent == "platform":
            caps.add("respondent")
    if claim.respondent == "provider" and claim.respondent_id == user_id:
        caps.add("respondent")
    elif claim.provider_id == user_id and claim.kind in _provider_kinds(platform):
        caps.add("provider")
    return caps


def _deadline_extra(deadline: Deadline, reference_at: datetime, period: domain.Period) -> dict[str, Any]:
    return {
        "deadline": deadline.at.isoformat(),
        "deadline_local": deadline.local().isoformat(),
        "timezone": deadline.timezone,
        "last_day": deadline.last_day.isoformat() if deadline.last_day else None,
        "reference_at": reference_at.isoformat(),
        "window": period.describe(),
    }


# --- reading -----------------------------------------------------------------------------------


def claim_kinds(platform: PlatformView) -> list[tuple[str, ClaimKind, bool]]:
    """The platform's kinds of claims, each with whether its subjects can be looked up here."""
    return [
        (name, kind, kind.subject == "platform" or lookup_for(name) is not None)
        for name, kind in sorted(platform.settings.claims.kinds.items())
    ]


def _row(db: Session, platform_id: str, claim_id: str, *, lock: bool = False) -> Claim:
    q = select(Claim).where(Claim.platform_id == platform_id, Claim.id == claim_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    row = db.scalar(q)
    if row is None:
        raise NotFound("no such claim")
    return row


def _visible(
    db: Session, platform: PlatformView, claim_id: str, user_id: str, role: str
) -> tuple[Claim, set[str]]:
    row = _row(db, platform.id, claim_id)
    caps = _capacities(platform, row, user_id, role)
    if not caps:
        raise NotFound("no such claim")  # another user's claim: its existence is not revealed
    return row, caps


def get_claim(
    db: Session, *, platform: PlatformView, claim_id: str, user_id: str, role: str, now: datetime
) -> ClaimView:
    """A claim as its claimant, its respondent or staff see it (NotFound for anyone else)."""
    row, caps = _visible(db, platform, claim_id, user_id, role)
    return _view(db, platform, row, now, caps, detail=True)


def list_claims(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    role: str,
    as_: str,
    now: datetime,
    after_id: str | None,
    limit: int,
) -> list[ClaimView]:
    """The caller's claims: those they filed (`claimant`), or (`respondent`) those addressed to them
    as a provider, including the ones staff took over since."""
    q = select(Claim).where(Claim.platform_id == platform.id)
    if as_ == "claimant":
        q = q.where(Claim.claimant_id == user_id)
    elif as_ == "respondent":
        q = q.where(Claim.provider_id == user_id, Claim.kind.in_(_provider_kinds(platform)))
    else:
        raise InvalidInput([FieldError("query.as", "claimant or respondent")])
    if after_id is not None:
        q = q.where(Claim.id > after_id)
    rows = db.scalars(q.order_by(Claim.id).limit(limit))
    return [_view(db, platform, r, now, _capacities(platform, r, user_id, role)) for r in rows]


def list_for_staff(
    db: Session,
    *,
    platform: PlatformView,
    now: datetime,
    state: str | None,
    kind: str | None,
    overdue: bool | None,
    after_id: str | None,
    limit: int,
) -> list[ClaimView]:
    """Every claim of the platform, filtered; `overdue=True`: awaiting an answer past its deadline."""
    q = select(Claim).where(Claim.platform_id == platform.id)
    if state is not None:
        if state not in domain.STATES:
            raise InvalidInput([FieldError("query.state", f"one of {', '.join(domain.STATES)}")])
        q = q.where(Claim.state == state)
    if kind is not None:
        q = q.where(Claim.kind == kind)
    if overdue is True:
        q = q.where(Claim.state.in_(domain.AWAITING_ANSWER), Claim.answer_due_at <= now)
    elif overdue is False:
        q = q.where((Claim.state.not_in(domain.AWAITING_ANSWER)) | (Claim.answer_due_at > now))
    if after_id is not None:
        q = q.where(Claim.id > after_id)
    rows = db.scalars(q.order_by(Claim.id).limit(limit))
    return [
        _view(db, platform, r, now, {"staff"} | ({"respondent"} if r.respondent == "platform" else set()))
        for r in rows
    ]


def overdue_claims(db: Session, *, platform: PlatformView, now: datetime) -> list[ClaimView]:
    """Every claim awaiting an answer past its deadline, the oldest deadline first."""
    rows = db.scalars(
        select(Claim)
        .where(
            Claim.platform_id == platform.id,
            Claim.state.in_(domain.AWAITING_ANSWER),
            Claim.answer_due_at <= now,
        )
        .order_by(Claim.answer_due_at, Claim.id)
    )
    return [_view(db, platform, r, now) for r in rows]


# --- filing ------------------------------------------------------------------------------------


def _evidence_rows(
    platform_id: str, claim_id: str, items: Sequence[EvidenceItem], user_id: str, added_as: str, now: datetime
) -> list[ClaimEvidence]:
    return [
        ClaimEvidence(
            platform_id=platform_id,
            claim_id=claim_id,
            kind="reference" if item.reference else "text",
            text=item.text,
            reference=item.reference,
            added_by=user_id,
            added_as=added_as,
            added_at=now,
        )
        for item in items
    ]


def _facts(
    db: Session, platform: PlatformView, kind_name: str, subject_id: str, claimant_id: str
) -> SubjectFacts:
    lookup = lookup_for(kind_name)
    if lookup is None:
        raise InvalidInput([FieldError("body.kind", f"claims about {kind_name} cannot be filed here yet")])
    facts = lookup(db, platform.id, subject_id)
    if facts is None or claimant_id not in facts.parties:
        # the same answer whether the subject does not exist or is someone else's
        raise InvalidInput([FieldError("body.subject_id", f"no {kind_name} of yours has this id")])
    return facts


def file_claim(
    db: Session, *, platform: PlatformView, claimant_id: str, role: str, data: FilingInput, now: datetime
) -> ClaimView:
    """File a claim: checked against its kind's settings, acknowledged at once, its deadline tracked.

    Refusals: InvalidInput (unknown kind, missing required fields all named at once, unknown subject
    or one the claimant was not party to), Forbidden (a role that may not file this kind),
    FilingWindowClosed (late: the deadline that passed and the rule IDs), Conflict (an open claim
    of the claimant about the same subject)."""
    kinds = platform.settings.claims.kinds
    kind = kinds.get(data.kind)
    if kind is None:
        names = ", ".join(sorted(kinds)) or "none on this platform"
        raise InvalidInput([FieldError("body.kind", f"unknown kind of claim (known: {names})")])
    rules = tuple(kind.rules)
    if role not in kind.claimant_roles:
        raise Forbidden(
            f"a {role} cannot file a claim of this kind: it is filed from the {', '.join(kind.claimant_roles)} space",
            rules=rules,
        )
    given = {
        "name": data.name,
        "contact": data.contact,
        "pseudonym": data.pseudonym,
        "object": data.object,
        "comment": data.comment,
        "evidence": list(data.evidence),
        "occurred_at": data.occurred_at,
    }
    errors = domain.missing_fields(kind.required_fields, given, rules)
    if kind.subject == "registered" and not data.subject_id:
        errors.insert(0, FieldError("body.subject_id", "required: the id of what the claim is about"))
    if kind.subject == "platform" and data.subject_id:
        errors.insert(0, FieldError("body.subject_id", "a claim about the platform itself has no subject id"))
    if data.occurred_at is not None and data.occurred_at > now:
        errors.append(FieldError("body.occurred_at", "cannot be in the future"))
    if errors:
        raise InvalidInput(errors, rules=rules)

    facts: SubjectFacts | None = None
    if kind.subject == "registered":
        assert data.subject_id is not None
        facts = _facts(db, platform, data.kind, data.subject_id, claimant_id)
        reference_at = facts.reference_at
        open_claim = db.scalar(
            select(Claim.id).where(
                Claim.platform_id == platform.id,
                Claim.kind == data.kind,
                Claim.subject_id == data.subject_id,
                Claim.claimant_id == claimant_id,
                Claim.state != "closed",
            )
        )
        if open_claim is not None:
            raise Conflict("you already have an open claim about this", extra={"claim_id": open_claim})
    else:
        assert data.occurred_at is not None
        reference_at = data.occurred_at

    tz, calendar = _tz(platform), _calendar(platform)
    filing_deadline: Deadline | None = None
    window_reason = "no filing window"
    if kind.filing_window is not None:
        period = kind.filing_window.period()
        window = domain.deadline_after(reference_at, period, tz, calendar)
        filing_deadline = window.outcome
        verdict = domain.filing_verdict(now, filing_deadline, rules)
        if not verdict.allowed:
            raise FilingWindowClosed(
                f"too late: {verdict.reason}",
                rules=rules,
                extra=_deadline_extra(filing_deadline, reference_at, period),
            )
        window_reason = window.reason
    due = domain.deadline_after(now, kind.answer_within.period(), tz, calendar)

    if kind.respondent == "provider" and facts is not None and facts.provider_id:
        respondent, respondent_id = "provider", facts.provider_id
    else:
        respondent, respondent_id = "platform", None
    number = counters.next_value(db, platform.id, "claims")
    claim = Claim(
        id=new_id(),
        platform_id=platform.id,
        reference=f"R-{number:06d}",
        kind=data.kind,
        rules=list(rules),
        subject_id=data.subject_id,
        claimant_id=claimant_id,
        respondent=respondent,
        respondent_id=respondent_id,
        provider_id=facts.provider_id if facts else None,
        state="filed",
        object=data.object,
        comment=data.comment,
        name=data.name,
        contact=data.contact,
        pseudonym=data.pseudonym,
        occurred_at=data.occurred_at,
        reference_at=reference_at,
        filing_deadline=filing_deadline.at if filing_deadline else None,
        filed_at=now,
        answer_due_at=due.outcome.at,
    )
    db.add(claim)
    db.flush()
    db.add_all(_evidence_rows(platform.id, claim.id, data.evidence, claimant_id, "claimant", now))
    actor = Actor("user", claimant_id)
    claim_event(
        db,
        claim,
        actor=actor,
        action="claim.filed",
        now=now,
        reason=f"filed in time ({window_reason}); answer due: {due.reason}",
        data={
            "kind": data.kind,
            "subject_id": data.subject_id,
            "reference": claim.reference,
            "respondent": respondent,
            "respondent_id": respondent_id,
            "filing_deadline": filing_deadline.at.isoformat() if filing_deadline else None,
            "answer_due_at": due.outcome.at.isoformat(),
        },
    )
    _acknowledge(db, platform, claim, kind, due.outcome, now)
    return _view(db, platform, claim, now, _capacities(platform, claim, claimant_id, role), detail=True)


def _acknowledge(
    db: Session, platform: PlatformView, claim: Claim, kind: ClaimKind, due: Deadline, now: datetime
) -> None:
    """Acknowledge receipt at once (by e-mail), tell the respondent, start tracking the deadline."""
    verdict = domain.life_verdict("acknowledge", claim.state, {"system"})
    assert verdict.allowed, verdict.reason
    claim.state = "acknowledged"
    claim.acknowledged_at = now
    claim.watch_id = deadlines.start_watch(
        db,
        platform_id=platform.id,
        claim_id=claim.id,
        filed_at=now,
        due_at=due.at,
        remind_before=timedelta(hours=kind.remind_before_hours),
        now=now,
    )
    payload = {
        **notices.base_payload(platform, claim, due),
        "respondent": claim.respondent,
        "filed_at": now.isoformat(),
    }
    notices.to_claimant(
        db, platform, claim, "claims.acknowledged", payload, now, f"acknowledged:{claim.watch_id}"
    )
    notices.to_respondent(db, platform, claim, "claims.received", payload, now, f"received:{claim.watch_id}")
    db.flush()
    claim_event(
        db,
        claim,
        actor=Actor.system(),
        action="claim.acknowledged",
        now=now,
        reason=f"receipt acknowledged; an answer is due before {due.local().isoformat()}",
        data={"answer_due_at": due.at.isoformat(), "watch_id": claim.watch_id},
    )


# --- acting on a claim -------------------------------------------------------------------------


def _lock_for_change(db: Session, platform_id: str, claim_id: str) -> Claim:
    """Lock every claim about the same subject (in id order), then return this one, fresh."""
    row = _row(db, platform_id, claim_id)
    if row.subject_id is not None:
        list(
            db.scalars(
                select(Claim.id)
                .where(
                    Claim.platform_id == platform_id,
                    Claim.kind == row.kind,
                    Claim.subject_id == row.subject_id,
                )
                .order_by(Claim.id)
                .with_for_update()
            )
        )
    return _row(db, platform_id, claim_id, lock=True)


def _check(action: str, claim: Claim, caps: set[str]) -> None:
    if not caps:
        raise NotFound("no such claim")
    verdict = domain.life_verdict(action, claim.state, caps)
    if verdict.allowed:
        return
    extra = {"state": claim.state, "allowed_actions": domain.allowed_actions(claim.state, caps)}
    if verdict.reason.startswith("forbidden:"):
        error: Forbidden | Conflict = Forbidden(verdict.reason.removeprefix("forbidden: "), rules=claim.rules)
    else:
        error = Conflict(verdict.reason.removeprefix("state: "), rules=claim.rules)
    error.extra.update(extra)
    raise error


def _actor(user_id: str, role: str) -> Actor:
    return Actor("staff" if role == "staff" else "user", user_id)


def add_evidence(
    db: Session,
    *,
    platform: PlatformView,
    claim_id: str,
    user_id: str,
    role: str,
    items: Sequence[EvidenceItem],
    now: datetime,
) -> ClaimView:
    """The claimant, the respondent or staff add evidence to a claim not yet closed."""
    claim = _row(db, platform.id, claim_id, lock=True)
    caps = _capacities(platform, claim, user_id, role)
    _check("add_evidence", claim, caps)
    if not items:
        raise InvalidInput([FieldError("body.items", "at least one piece of evidence")])
    count = (
        db.scalar(select(func.count()).select_from(ClaimEvidence).where(ClaimEvidence.claim_id == claim.id))
        or 0
    )
    if count + len(items) > MAX_EVIDENCE:
        raise Conflict(f"a claim holds at most {MAX_EVIDENCE} pieces of evidence ({count} already)")
    added_as = next(c for c in ("claimant", "respondent", "provider", "staff") if c in caps)
    db.add_all(_evidence_rows(platform.id, claim.id, items, user_id, added_as, now))
    db.flush()
    claim_event(
        db,
        claim,
        actor=_actor(user_id, role),
        action="claim.evidence_added",
        now=now,
        reason=f"{len(items)} piece(s) of evidence added by the {added_as}",
        data={"count": len(items)},
    )
    return _view(db, platform, claim, now, caps, detail=True)


def _refund(
    db: Session,
    platform: PlatformView,
    claim: Claim,
    kind: ClaimKind,
    amount: Money,
    answer_id: str,
    seq: int,
    actor: Actor,
    now: datetime,
) -> RefundView:
    """Refund through the kind's method, never above what the subject cost (all claims counted)."""
    rules = tuple(claim.rules)
    facts = None
    if claim.subject_id is not None:
        lookup = lookup_for(claim.kind)
        if lookup is None:
            raise Conflict(
                f"the facts of {claim.kind} subjects are not available on this deployment", rules=rules
            )
        facts = lookup(db, platform.id, claim.subject_id)
    if facts is None or facts.paid is None:
        raise InvalidInput(
            [FieldError("body.refund", "nothing was paid for what this claim is about")], rules=rules
        )
    if kind.refund_policy is not None:
        verdict = refund_policy(kind.refund_policy)(db, platform.id, facts, claim.object)
        if not verdict.allowed:
            raise InvalidInput([FieldError("body.refund", verdict.reason)], rules=verdict.rules)
    already = db.scalar(
        select(func.coalesce(func.sum(ClaimRefund.amount), 0)).where(
            ClaimRefund.platform_id == platform.id,
            ClaimRefund.kind == claim.kind,
            ClaimRefund.subject_id == claim.subject_id,
            ClaimRefund.currency == facts.paid.currency,
        )
    )
    decision = domain.refund_decision(
        amount, facts.paid, Money(int(already or 0), facts.paid.currency), rules
    )
    if decision.outcome is None:
        where = "body.refund.currency" if amount.currency != facts.paid.currency else "body.refund.amount"
        raise InvalidInput([FieldError(where, decision.reason)], rules=rules)
    assert kind.refund_method is not None
    method = refund_method(kind.refund_method)
    result = method(
        db,
        RefundRequest(
            platform_id=platform.id,
            claim_id=claim.id,
            claim_reference=claim.reference,
            amount=decision.outcome,
            facts=facts,
            rules=rules,
            idempotency_key=f"claim:{claim.id}:answer:{seq}:refund",
            now=now,
            actor=actor,
        ),
    )
    assert claim.subject_id is not None
    row = ClaimRefund(
        id=new_id(),
        platform_id=platform.id,
        claim_id=claim.id,
        answer_id=answer_id,
        kind=claim.kind,
        subject_id=claim.subject_id,
        amount=decision.outcome.amount,
        currency=decision.outcome.currency,
        method=kind.refund_method,
        status=result.status,
        external_ref=result.external_ref,
        rules=list(rules),
        created_at=now,
    )
    db.add(row)
    db.flush()
    claim_event(
        db,
        claim,
        actor=actor,
        action="claim.refunded",
        now=now,
        reason=decision.reason,
        data={
            "amount": row.amount,
            "currency": row.currency,
            "method": row.method,
            "status": row.status,
            "external_ref": row.external_ref,
        },
    )
    return RefundView(decision.outcome, row.method, row.status, row.external_ref, rules, now)


def answer(
    db: Session,
    *,
    platform: PlatformView,
    claim_id: str,
    user_id: str,
    role: str,
    decision: str,
    reasons: str,
    remedy: str | None,
    refund: Money | None,
    now: datetime,
) -> ClaimView:
    """The respondent answers: accepted, partly accepted or refused, with reasons; a resolution may
    refund (credit back) and/or state a remedy. The claimant is told, and of mediation unless the
    claim was fully accepted."""
    claim = _lock_for_change(db, platform.id, claim_id)
    caps = _capacities(platform, claim, user_id, role)
    _check("answer", claim, caps)
    kind = _kind_of(platform, claim)
    rules = tuple(claim.rules)
    problems = domain.answer_problems(
        decision,
        refund,
        remedy,
        refund_allowed=kind.refund_method is not None,
        resolution_required=kind.resolution_required,
        rules=rules,
    )
    if not reasons or not reasons.strip():
        problems.insert(0, FieldError("body.reasons", "an answer gives its reasons"))
    if problems:
        raise InvalidInput(problems, rules=rules)
    seq = (db.scalar(select(func.max(ClaimAnswer.seq)).where(ClaimAnswer.claim_id == claim.id)) or 0) + 1
    on_time = now < claim.answer_due_at
    row = ClaimAnswer(
        id=new_id(),
        platform_id=platform.id,
        claim_id=claim.id,
        seq=seq,
        author_id=user_id,
        author_as="staff" if role == "staff" else "provider",
        decision=decision,
        reasons=reasons,
        remedy=remedy or None,
        answered_at=now,
        on_time=on_time,
    )
    db.add(row)
    db.flush()
    actor = _actor(user_id, role)
    refunded = (
        _refund(db, platform, claim, kind, refund, row.id, seq, actor, now) if refund is not None else None
    )
    claim.state = "answered"
    claim.answered_at = now
    claim.decision = decision
    deadlines.stop_watch(db, platform_id=platform.id, watch_id=claim.watch_id, now=now)
    db.flush()
    due = domain.deadline_at(claim.answer_due_at, _tz(platform))
    claim_event(
        db,
        claim,
        actor=actor,
        action="claim.answered",
        now=now,
        reason=f"{decision}: {reasons}",
        data={
            "seq": seq,
            "decision": decision,
            "on_time": on_time,
            "answer_due_at": claim.answer_due_at.isoformat(),
            "refund": str(refunded.amount) if refunded else None,
            "remedy": remedy,
        },
    )
    mediation = mediation_for(db, platform, claim.provider_id, now)
    payload = {
        **notices.base_payload(platform, claim, due),
        "decision": decision,
        "reasons": reasons,
        "remedy": remedy or None,
        "refund": str(refunded.amount) if refunded else None,
        "mediation": domain.offers_mediation(decision),
        **mediation.payload(),
    }
    notices.to_claimant(db, platform, claim, "claims.answered", payload, now, f"answered:{seq}")
    return _view(db, platform, claim, now, caps, detail=True)


def escalate(
    db: Session, *, platform: PlatformView, claim_id: str, user_id: str, role: str, reason: str, now: datetime
) -> ClaimView:
    """Staff take a claim over (unanswered in time, or its answer disputed): the platform answers it
    now, within the kind's answer period counted afresh from the escalation."""
    claim = _lock_for_change(db, platform.id, claim_id)
    caps = _capacities(platform, claim, user_id, role)
    _check("escalate", claim, caps)
    if not reason.strip():
        raise InvalidInput([FieldError("body.reason", "an escalation gives its reason")])
    kind = _kind_of(platform, claim)
    deadlines.stop_watch(db, platform_id=platform.id, watch_id=claim.watch_id, now=now)
    due = domain.deadline_after(now, kind.answer_within.period(), _tz(platform), _calendar(platform))
    previous = claim.state
    claim.state = "escalated"
    claim.escalated_at = now
    claim.respondent, claim.respondent_id = "platform", None
    claim.answer_due_at = due.outcome.at
    claim.watch_id = deadlines.start_watch(
        db,
        platform_id=platform.id,
        claim_id=claim.id,
        filed_at=now,
        due_at=due.outcome.at,
        remind_before=timedelta(hours=kind.remind_before_hours),
        now=now,
    )
    db.flush()
    claim_event(
        db,
        claim,
        actor=_actor(user_id, role),
        action="claim.escalated",
        now=now,
        reason=reason,
        data={"from": previous, "answer_due_at": due.outcome.at.isoformat(), "due": due.reason},
    )
    payload = {**notices.base_payload(platform, claim, due.outcome), "reason": reason}
    notices.to_claimant(db, platform, claim, "claims.escalated", payload, now, f"escalated:{claim.watch_id}")
    notices.to_respondent(
        db,
        platform,
        claim,
        "claims.received",
        payload | {"respondent": "platform", "filed_at": claim.filed_at.isoformat()},
        now,
        f"received:{claim.watch_id}",
    )
    return _view(db, platform, claim, now, _capacities(platform, claim, user_id, role), detail=True)


def close(
    db: Session,
    *,
    platform: PlatformView,
    claim_id: str,
    user_id: str,
    role: str,
    reason: str | None,
    now: datetime,
) -> ClaimView:
    """The claimant closes their claim (satisfied, or withdrawing it); staff close an answered one."""
    claim = _lock_for_change(db, platform.id, claim_id)
    caps = _capacities(platform, claim, user_id, role)
    _check("close", claim, caps)
    by = "claimant" if "claimant" in caps else "staff"
    previous = claim.state
    claim.state = "closed"
    claim.closed_at = now
    claim.closed_by = by
    deadlines.stop_watch(db, platform_id=platform.id, watch_id=claim.watch_id, now=now)
    db.flush()
    claim_event(
        db,
        claim,
        actor=_actor(user_id, role),
        action="claim.closed",
        now=now,
        reason=(reason or f"closed by the {by}"),
        data={"from": previous, "by": by},
    )
    if by == "staff":
        due = domain.deadline_at(claim.answer_due_at, _tz(platform))
        payload = {**notices.base_payload(platform, claim, due), "reason": reason}
        notices.to_claimant(db, platform, claim, "claims.closed", payload, now, "closed")
    return _view(db, platform, claim, now, caps, detail=True)
