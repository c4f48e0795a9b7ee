"""Use cases of fraud signals: note what happens (identifiers used, incidents, verifications), raise
signals into cases, scan, and let staff decide. The caller opens the transaction.

Signals are raised at the moment their facts appear (a registration, an identifier reported by
payments, an incident, a verification) and again by the worker's scan, which is idempotent: a
signal's key names its facts, so the same facts never raise it twice. A signal joins the open case
that already concerns one of its accounts, or opens a new one. Nothing here sanctions anyone:
staff dismiss or confirm a case, with reasons (no automatic termination).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.counters import service as counters
from entremise.fraud import domain
from entremise.fraud.domain import Signal
from entremise.fraud.models import (
    FraudCase,
    FraudCaseSignal,
    FraudIdentifier,
    FraudIncident,
    FraudVerification,
)
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.platforms.service import PlatformView


@dataclass(frozen=True)
class SignalView:
    id: str
    kind: str
    user_ids: list[str]
    rules: list[str]
    evidence: dict[str, Any]
    source: str
    at: datetime


@dataclass(frozen=True)
class CaseView:
    id: str
    status: str
    user_ids: list[str]
    rules: list[str]
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    signals: list[SignalView]


def _signals(db: Session, case_id: str) -> list[SignalView]:
    rows = db.scalars(
        select(FraudCaseSignal)
        .where(FraudCaseSignal.case_id == case_id)
        .order_by(FraudCaseSignal.at, FraudCaseSignal.id)
    )
    return [
        SignalView(r.id, r.kind, list(r.user_ids), list(r.rules), dict(r.evidence), r.source, r.at)
        for r in rows
    ]


def _view(db: Session, c: FraudCase, *, with_signals: bool = True) -> CaseView:
    return CaseView(
        c.id,
        c.status,
        list(c.user_ids),
        list(c.rules),
        c.opened_at,
        c.updated_at,
        c.decided_at,
        c.decided_by,
        c.decision_reason,
        _signals(db, c.id) if with_signals else [],
    )


# --- raising signals ------------------------------------------------------------------------------


def raise_signal(db: Session, *, platform_id: str, signal: Signal, source: str, now: datetime) -> str | None:
    """Add the signal to the open case of one of its accounts, or open a case; the case id, or None
    when the same signal (same key) was raised before."""
    if db.scalar(
        select(FraudCaseSignal.id).where(
            FraudCaseSignal.platform_id == platform_id, FraudCaseSignal.key == signal.key
        )
    ):
        return None
    # one writer at a time assigns signals to a platform's cases (the counter row's lock, held to the
    # end of the transaction on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers already), so
    # two signals about one account raised at the same instant land in one case
    counters.next_value(db, platform_id, "fraud.case_assignments")
    if db.scalar(
        select(FraudCaseSignal.id).where(
            FraudCaseSignal.platform_id == platform_id, FraudCaseSignal.key == signal.key
        )
    ):
        return None
    users = set(signal.user_ids)
    case = next(
        (
            c
            for c in db.scalars(
                select(FraudCase)
                .where(FraudCase.platform_id == platform_id, FraudCase.status == "open")
                .order_by(FraudCase.opened_at, FraudCase.id)
            )
            if users & set(c.user_ids)
        ),
        None,
    )
    opened = case is None
    if case is None:
        case = FraudCase(
            id=new_id(),
            platform_id=platform_id,
            status="open",
            user_ids=sorted(users),
            rules=sorted(signal.rules),
            opened_at=now,
            updated_at=now,
        )
        db.add(case)
    else:
        case.user_ids = sorted(users | set(case.user_ids))
        case.rules = sorted(set(signal.rules) | set(case.rules))
        case.updated_at = now
    try:
        with db.begin_nested():
            db.add(
                FraudCaseSignal(
                    id=new_id(),
                    platform_id=platform_id,
                    case_id=case.id,
                    kind=signal.kind,
                    key=signal.key[:300],
                    user_ids=list(signal.user_ids),
                    rules=list(signal.rules),
                    evidence=dict(signal.evidence),
                    source=source,
                    at=now,
                )
            )
            db.flush()
    except IntegrityError:  # raised at the same instant by another transaction
        if opened:
            db.expunge(case)
        return None
    record(
        db,
        platform_id=platform_id,
        actor=Actor.system(),
        action="fraud_case.opened" if opened else "fraud_case.signal_added",
        obj=("fraud_case", case.id),
        at=now,
        rules=list(signal.rules),
        reason=f"signal {signal.kind} ({source}); a person decides",
        data={"signal": signal.kind, "accounts": list(signal.user_ids)},
    )
    return case.id


def _linked(db: Session, platform: PlatformView, user_id: str) -> dict[str, set[str]]:
    """The other accounts sharing an identifier with `user_id`, and by which kinds of identifiers."""
    kinds = platform.settings.fraud.linking_identifiers
    mine = list(
        db.execute(
            select(FraudIdentifier.kind, FraudIdentifier.digest).where(
                FraudIdentifier.platform_id == platform.id,
                FraudIdentifier.user_id == user_id,
                FraudIdentifier.kind.in_(kinds),
            )
        )
    )
    linked: dict[str, set[str]] = {}
    for kind, dig in mine:
        for other in db.scalars(
            select(FraudIdentifier.user_id).where(
                FraudIdentifier.platform_id == platform.id,
                FraudIdentifier.kind == kind,
                FraudIdentifier.digest == dig,
                FraudIdentifier.user_id != user_id,
            )
        ):
            linked.setdefault(other, set()).add(kind)
    return linked


def _check_links(db: Session, platform: PlatformView, user_id: str, source: str, now: datetime) -> list[str]:
    """TEL-FRAUD-1: the accounts linked to `user_id` that had an incident, and `user_id`'s own
    incidents seen from its linked accounts: one signal per (incident, account)."""
    cases: list[str] = []
    for other, via in _linked(db, platform, user_id).items():
        for a, b in ((user_id, other), (other, user_id)):
            for inc in db.scalars(
                select(FraudIncident).where(
                    FraudIncident.platform_id == platform.id, FraudIncident.user_id == b
                )
            ):
                sig = domain.linked_to_incident(a, b, inc.id, inc.kind, inc.reference, sorted(via))
                case = raise_signal(db, platform_id=platform.id, signal=sig, source=source, now=now)
                if case:
                    cases.append(case)
    return cases


def note_identifier(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    kind: str,
    value: str | None = None,
    value_digest: str | None = None,
    source: str,
    now: datetime,
) -> list[str]:
    """An account used an identifier (a device, a phone, a payment instrument's fingerprint, a bank
    account): kept as a digest; accounts sharing it raise a signal (COMMON-ACCOUNT-1), and so does a
    link to an account with an incident (TEL-FRAUD-1). The ids of the cases raised or added to."""
    if kind not in domain.IDENTIFIER_KINDS:
        raise InvalidInput([FieldError("kind", f"one of {', '.join(domain.IDENTIFIER_KINDS)}")])
    if value_digest is None:
        if not value or not value.strip():
            raise InvalidInput([FieldError("value", "an identifier")])
        value_digest = domain.digest(platform.id, kind, value)
    seen = db.scalar(
        select(FraudIdentifier).where(
            FraudIdentifier.platform_id == platform.id,
            FraudIdentifier.kind == kind,
            FraudIdentifier.digest == value_digest,
            FraudIdentifier.user_id == user_id,
        )
    )
    if seen is not None:
        seen.last_seen = now
    else:
        try:
            with db.begin_nested():
                db.add(
                    FraudIdentifier(
                        id=new_id(),
                        platform_id=platform.id,
                        kind=kind,
                        digest=value_digest,
                        user_id=user_id,
                        first_seen=now,
                        last_seen=now,
                    )
                )
                db.flush()
        except IntegrityError:
            pass  # noted at the same instant by another transaction
    users = list(
        db.scalars(
            select(FraudIdentifier.user_id).where(
                FraudIdentifier.platform_id == platform.id,
                FraudIdentifier.kind == kind,
                FraudIdentifier.digest == value_digest,
            )
        )
    )
    cases: list[str] = []
    sig = domain.shared_identifier(kind, value_digest, users, seen_on=source)
    if sig is not None:
        case = raise_signal(db, platform_id=platform.id, signal=sig, source=source, now=now)
        if case:
            cases.append(case)
    cases += _check_links(db, platform, user_id, source, now)
    return cases


def report_incident(
    db: Session, *, platform: PlatformView, user_id: str, kind: str, reference: str, now: datetime
) -> list[str]:
    """A chargeback, a refund abuse or an unpaid debt of an account (payments, billing, staff): kept,
    and every account linked to it raises a signal (TEL-FRAUD-1). The ids of the cases touched."""
    if kind not in domain.INCIDENT_KINDS:
        raise InvalidInput([FieldError("kind", f"one of {', '.join(domain.INCIDENT_KINDS)}")])
    if not reference.strip() or len(reference) > 200:
        raise InvalidInput([FieldError("reference", "1 to 200 characters naming the incident")])
    exists = db.scalar(
        select(FraudIncident.id).where(
            FraudIncident.platform_id == platform.id,
            FraudIncident.kind == kind,
            FraudIncident.reference == reference,
        )
    )
    if exists is None:
        db.add(
            FraudIncident(
                id=new_id(), platform_id=platform.id, user_id=user_id, kind=kind, reference=reference, at=now
            )
        )
        db.flush()
    return _check_links(db, platform, user_id, kind, now)


def record_verification(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    kind: str,
    passed: bool,
    reference: str,
    now: datetime,
) -> list[str]:
    """One verification of an account's activity (a trip checked, a document...); an abnormal share
    of failures in the window raises a signal (CARPOOL-FRAUD-1)."""
    if not kind.strip() or len(kind) > 40:
        raise InvalidInput([FieldError("kind", "1 to 40 characters")])
    if not reference.strip() or len(reference) > 200:
        raise InvalidInput([FieldError("reference", "1 to 200 characters naming what was verified")])
    exists = db.scalar(
        select(FraudVerification.id).where(
            FraudVerification.platform_id == platform.id,
            FraudVerification.kind == kind,
            FraudVerification.reference == reference,
        )
    )
    if exists is None:
        db.add(
            FraudVerification(
                id=new_id(),
                platform_id=platform.id,
                user_id=user_id,
                kind=kind,
                passed=passed,
                reference=reference,
                at=now,
            )
        )
        db.flush()
    return _check_verifications(db, platform, user_id, "verification", now)


def _check_verifications(
    db: Session, platform: PlatformView, user_id: str, source: str, now: datetime
) -> list[str]:
    s = platform.settings.fraud
    since = now - timedelta(days=s.failed_verification_window_days)
    rows = list(
        db.execute(
            select(FraudVerification.passed, func.count())
            .where(
                FraudVerification.platform_id == platform.id,
                FraudVerification.user_id == user_id,
                FraudVerification.at > since,
            )
            .group_by(FraudVerification.passed)
        )
    )
    counts = {bool(p): int(n) for p, n in rows}
    failed, total = counts.get(False, 0), sum(counts.values())
    decision = domain.failed_share(
        failed, total, percent=s.failed_verification_percent, min_count=s.failed_verification_min_count
    )
    if not decision.outcome:
        return []
    sig = domain.failed_verifications(
        user_id, failed, total, s.failed_verification_window_days, now.strftime("%Y-%m"), decision.reason
    )
    case = raise_signal(db, platform_id=platform.id, signal=sig, source=source, now=now)
    return [case] if case else []


def on_registration(
    db: Session,
    platform: PlatformView,
    user: accounts.UserView,
    extras: dict[str, Any],
    meta: accounts.RequestMeta,
    now: datetime,
) -> None:
    """The registration hook: the new account's phone(s) and device are noted (COMMON-ACCOUNT-1)."""
    phones = {p for p in (user.phone, user.profile.get("landline")) if isinstance(p, str) and p.strip()}
    for phone in sorted(phones):
        note_identifier(
            db, platform=platform, user_id=user.id, kind="phone", value=phone, source="registration", now=now
        )
    if meta.device_id:
        note_identifier(
            db,
            platform=platform,
            user_id=user.id,
            kind="device",
            value=meta.device_id[:200],
            source="registration",
            now=now,
        )


accounts.register_registration_hook(on_registration)


def scan(db: Session, *, platform: PlatformView, now: datetime) -> int:
    """The worker's pass over one platform: the accounts module's own device signals become case
    signals, and every account's links and verification share are checked again. Idempotent; the
    number of signals raised."""
    raised = 0
    after: str | None = None
    while True:
        batch = accounts.list_fraud_signals(
            db, platform_id=platform.id, status="open", after_id=after, limit=200
        )
        for s in batch:
            sig = Signal(
                s.kind,
                tuple(sorted(set(s.user_ids))),
                f"accounts:{s.id}",
                ("COMMON-ACCOUNT-1", "CARPOOL-FRAUD-1")
                if s.kind == "shared_device"
                else ("COMMON-ACCOUNT-1",),
                {**s.evidence, "accounts_signal_id": s.id},
            )
            if raise_signal(db, platform_id=platform.id, signal=sig, source="scan", now=now):
                raised += 1
        if len(batch) < 200:
            break
        after = batch[-1].id
    for uid in sorted(
        set(db.scalars(select(FraudIncident.user_id).where(FraudIncident.platform_id == platform.id)))
    ):
        for other in _linked(db, platform, uid):
            raised += len(_check_links(db, platform, other, "scan", now))
    for uid in sorted(
        set(db.scalars(select(FraudVerification.user_id).where(FraudVerification.platform_id == platform.id)))
    ):
        raised += len(_check_verifications(db, platform, uid, "scan", now))
    return raised


# --- staff ----------------------------------------------------------------------------------------


def list_cases(
    db: Session, *, platform_id: str, status: str | None, after_id: str | None, limit: int
) -> list[CaseView]:
    q = select(FraudCase).where(FraudCase.platform_id == platform_id)
    if status:
        q = q.where(FraudCase.status == status)
    if after_id:
        q = q.where(FraudCase.id > after_id)
    return [_view(db, c, with_signals=False) for c in db.scalars(q.order_by(FraudCase.id).limit(limit))]


def get_case(db: Session, *, platform_id: str, case_id: str) -> CaseView:
    c = db.scalar(select(FraudCase).where(FraudCase.platform_id == platform_id, FraudCase.id == case_id))
    if c is None:
        raise NotFound(f"no fraud case {case_id!r}")
    return _view(db, c)


def decide(
    db: Session, *, platform_id: str, case_id: str, staff_id: str, decision: str, reason: str, now: datetime
) -> CaseView:
    """A person dismisses or confirms a case, with reasons. Confirming records the finding; any
    sanction is a separate decision of its own (with its statement of reasons), never automatic."""
    errors = []
    if decision not in domain.DECISIONS:
        errors.append(FieldError("body.decision", "dismiss or confirm"))
    if not reason.strip():
        errors.append(FieldError("body.reason", "a decision states its reasons"))
    if errors:
        raise InvalidInput(errors)
    c = db.scalar(
        select(FraudCase)
        .where(FraudCase.platform_id == platform_id, FraudCase.id == case_id)
        .with_for_update()
    )
    if c is None:
        raise NotFound(f"no fraud case {case_id!r}")
    if c.status != "open":
        raise Conflict(f"this case was {c.status} already")
    c.status = "dismissed" if decision == "dismiss" else "confirmed"
    c.decided_at = now
    c.decided_by = staff_id
    c.decision_reason = reason.strip()
    c.updated_at = now
    record(
        db,
        platform_id=platform_id,
        actor=Actor("staff", staff_id),
        action=f"fraud_case.{c.status}",
        obj=("fraud_case", c.id),
        at=now,
        rules=list(c.rules),
        reason=c.decision_reason,
        data={"accounts": list(c.user_ids)},
    )
    db.flush()
    return _view(db, c)


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    """What fraud detection holds about a user: identifiers (kinds and dates, digests only),
    incidents and verifications. Cases are staff's working files and are left out of the export
    while open (GDPR art. 23 restrictions for fraud prevention); decided ones are included."""
    ids = db.scalars(
        select(FraudIdentifier).where(
            FraudIdentifier.platform_id == platform_id, FraudIdentifier.user_id == user_id
        )
    )
    incidents = db.scalars(
        select(FraudIncident).where(
            FraudIncident.platform_id == platform_id, FraudIncident.user_id == user_id
        )
    )
    checks = db.scalars(
        select(FraudVerification).where(
            FraudVerification.platform_id == platform_id, FraudVerification.user_id == user_id
        )
    )
    decided = [
        c
        for c in db.scalars(
            select(FraudCase)
            .where(FraudCase.platform_id == platform_id, FraudCase.status != "open")
            .order_by(FraudCase.id)
        )
        if user_id in c.user_ids
    ]
    return {
        "identifiers": [
            {"kind": i.kind, "first_seen": i.first_seen.isoformat(), "last_seen": i.last_seen.isoformat()}
            for i in ids
        ],
        "incidents": [{"kind": i.kind, "reference": i.reference, "at": i.at.isoformat()} for i in incidents],
        "verifications": [
            {"kind": v.kind, "passed": v.passed, "reference": v.reference, "at": v.at.isoformat()}
            for v in checks
        ],
        "decided_cases": [
            {
                "id": c.id,
                "status": c.status,
                "rules": list(c.rules),
                "decided_at": c.decided_at.isoformat() if c.decided_at else None,
            }
            for c in decided
        ],
    }
