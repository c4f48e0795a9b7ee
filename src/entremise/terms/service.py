"""Terms use cases: publish, read, accept, terminate on a change; withdrawal rights and waivers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta
from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import AUDIENCES
from entremise.terms import domain
from entremise.terms.models import TermsAcceptance, TermsVersion, WithdrawalRight


@dataclass(frozen=True)
class TermsView:
    id: str
    audience: str
    version: str
    text: str
    announced_at: datetime
    effective_at: datetime


def _view(row: TermsVersion) -> TermsView:
    return TermsView(row.id, row.audience, row.version, row.text, row.announced_at, row.effective_at)


def check_audience(audience: str, field: str = "path.audience") -> None:
    if audience not in AUDIENCES:
        raise InvalidInput([FieldError(field, f"one of {', '.join(AUDIENCES)}")])


def read_url(base_url: str, platform_slug: str, audience: str, version: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/platforms/{platform_slug}/terms/{audience}/{version}"


def accept_url(base_url: str, platform_slug: str, audience: str, version: str) -> str:
    return read_url(base_url, platform_slug, audience, version) + "/acceptance"


def audience_of(platform: PlatformView, role: str) -> str:
    return platform.settings.roles[role].audience


def version_in_force(db: Session, *, platform_id: str, audience: str, now: datetime) -> TermsView | None:
    """The latest version whose effective date has come (None when the platform has none)."""
    row = db.scalar(
        select(TermsVersion)
        .where(
            TermsVersion.platform_id == platform_id,
            TermsVersion.audience == audience,
            TermsVersion.effective_at <= now,
        )
        .order_by(TermsVersion.effective_at.desc(), TermsVersion.announced_at.desc(), TermsVersion.id.desc())
        .limit(1)
    )
    return _view(row) if row else None


def get_version(db: Session, *, platform_id: str, audience: str, version: str) -> TermsView:
    row = db.scalar(
        select(TermsVersion).where(
            TermsVersion.platform_id == platform_id,
            TermsVersion.audience == audience,
            TermsVersion.version == version,
        )
    )
    if row is None:
        raise NotFound(f"no version {version!r} of the {audience} terms")
    return _view(row)


def publish(
    db: Session,
    *,
    platform: PlatformView,
    audience: str,
    version: str,
    text: str,
    effective_at: datetime,
    actor: Actor,
    base_url: str,
    now: datetime,
) -> TermsView:
    """COMMON-TERMS-2: publish a version; a future one respects the notice and is announced to every
    active member of the audience through the outbox (with the end of the termination window)."""
    check_audience(audience)
    if db.scalar(
        select(TermsVersion.id).where(
            TermsVersion.platform_id == platform.id,
            TermsVersion.audience == audience,
            TermsVersion.version == version,
        )
    ):
        raise Conflict(f"version {version!r} of the {audience} terms exists")
    is_change = (
        db.scalar(
            select(TermsVersion.id)
            .where(TermsVersion.platform_id == platform.id, TermsVersion.audience == audience)
            .limit(1)
        )
        is not None
    )
    notice_days = platform.settings.terms_notice_days if is_change else 0
    verdict = domain.notice_verdict(now, effective_at, notice_days)
    if not verdict.allowed:
        raise InvalidInput([FieldError("body.effective_at", verdict.reason)], rules=verdict.rules)
    row = TermsVersion(
        id=new_id(),
        platform_id=platform.id,
        audience=audience,
        version=version,
        text=text,
        announced_at=now,
        effective_at=effective_at,
        published_by=actor.id,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="terms.published",
        obj=("terms_version", row.id),
        at=now,
        rules=["COMMON-TERMS-2"],
        data={"audience": audience, "version": version, "effective_at": effective_at.isoformat()},
    )
    deadline = (
        domain.termination_deadline(now, platform.settings.terms_termination_days) if is_change else None
    )
    roles = [r for r, rr in platform.settings.roles.items() if rr.audience == audience and r != "staff"]
    for user in accounts.active_users(db, platform_id=platform.id, roles=roles):
        if not user.email:
            continue
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="terms.new_version",
            recipient=user.email,
            payload={
                "platform_name": platform.name,
                "audience": audience,
                "version": version,
                "effective_at": effective_at.isoformat(),
                "read_url": read_url(base_url, platform.slug, audience, version),
                "terminate_until": deadline.date().isoformat() if deadline else None,
            },
            now=now,
            locale=user.locale,
            user_id=user.id,
            dedupe_key=f"terms.new_version:{row.id}:{user.id}",
        )
    return _view(row)


def record_acceptance(
    db: Session, *, platform_id: str, user_id: str, terms_version_id: str, meta: RequestMeta, now: datetime
) -> None:
    """COMMON-TERMS-1 evidence: version, time, IP and user agent (idempotent per version)."""
    if db.scalar(
        select(TermsAcceptance.id).where(
            TermsAcceptance.platform_id == platform_id,
            TermsAcceptance.user_id == user_id,
            TermsAcceptance.terms_version_id == terms_version_id,
        )
    ):
        return
    row = TermsAcceptance(
        id=new_id(),
        platform_id=platform_id,
        user_id=user_id,
        terms_version_id=terms_version_id,
        accepted_at=now,
        ip=meta.ip[:45],
        user_agent=(meta.user_agent or "")[:400] or None,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="terms.accepted",
        obj=("terms_version", terms_version_id),
        at=now,
        rules=["COMMON-TERMS-1", "COMMON-EVIDENCE-1"],
        data={"ip": row.ip, "user_agent": row.user_agent, "user_id": user_id},
    )


def accept(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    role: str,
    audience: str,
    version: str,
    accepted: bool,
    meta: RequestMeta,
    now: datetime,
) -> TermsView:
    """COMMON-TERMS-1: an explicit acceptance of a version of the user's own audience."""
    check_audience(audience)
    if audience != audience_of(platform, role):
        raise Forbidden(
            f"your account accepts the {audience_of(platform, role)} terms, not the {audience} terms"
        )
    if accepted is not True:
        raise InvalidInput(
            [FieldError("body.accepted", "must be true: tick the box to accept")], rules=["COMMON-TERMS-1"]
        )
    terms = get_version(db, platform_id=platform.id, audience=audience, version=version)
    record_acceptance(
        db, platform_id=platform.id, user_id=user_id, terms_version_id=terms.id, meta=meta, now=now
    )
    return terms


def has_accepted(db: Session, *, platform_id: str, user_id: str, terms_version_id: str) -> bool:
    return (
        db.scalar(
            select(TermsAcceptance.id).where(
                TermsAcceptance.platform_id == platform_id,
                TermsAcceptance.user_id == user_id,
                TermsAcceptance.terms_version_id == terms_version_id,
            )
        )
        is not None
    )


def pending_acceptance(
    db: Session, *, platform: PlatformView, user_id: str, role: str, now: datetime
) -> TermsView | None:
    """COMMON-TERMS-2: the version in force the user still has to accept (None: nothing to accept).

    Staff act for the operator and are not bound by the members' terms."""
    if role == "staff":
        return None
    current = version_in_force(db, platform_id=platform.id, audience=audience_of(platform, role), now=now)
    if current is None or has_accepted(
        db, platform_id=platform.id, user_id=user_id, terms_version_id=current.id
    ):
        return None
    return current


def terminate(
    db: Session, *, platform: PlatformView, user_id: str, role: str, now: datetime
) -> accounts.UserView:
    """COMMON-TERMS-2: close the account because of announced new terms, within the window."""
    audience = audience_of(platform, role)
    versions = list(
        db.scalars(
            select(TermsVersion)
            .where(TermsVersion.platform_id == platform.id, TermsVersion.audience == audience)
            .order_by(TermsVersion.announced_at.desc(), TermsVersion.effective_at.desc())
            .limit(2)
        )
    )
    if len(versions) < 2:  # the first version of the terms changes nothing
        raise Conflict("no change of the terms was announced", rules=["COMMON-TERMS-2"])
    latest = versions[0]
    verdict = domain.termination_verdict(latest.announced_at, now, platform.settings.terms_termination_days)
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules)
    return accounts.close_account(
        db,
        platform=platform,
        user_id=user_id,
        now=now,
        reason="terms_change",
        rules=("COMMON-TERMS-2", "COMMON-ACCOUNT-4"),
        data={"terms_version": latest.version, "terms_version_id": latest.id},
    )


# --- withdrawal (COMMON-WITHDRAW-1) -----------------------------------------------------------------


@dataclass(frozen=True)
class WithdrawalView:
    object_type: str
    object_id: str
    user_id: str
    concluded_at: datetime
    deadline: datetime
    open: bool
    waived_at: datetime | None
    waiver_text: str | None
    rules: tuple[str, ...]
    reason: str


def _wview(row: WithdrawalRight, now: datetime, reason: str = "") -> WithdrawalView:
    return WithdrawalView(
        row.object_type,
        row.object_id,
        row.user_id,
        row.concluded_at,
        row.deadline,
        row.waived_at is None and now <= row.deadline,
        row.waived_at,
        row.waiver_text,
        ("COMMON-WITHDRAW-1",),
        reason,
    )


def open_withdrawal_right(
    db: Session,
    *,
    platform: PlatformView,
    object_type: str,
    object_id: str,
    user_id: str,
    concluded_at: datetime,
    now: datetime,
) -> WithdrawalView:
    """Called by the module that concludes a consumer contract (booking, subscription...): records
    the contract reference, its consumer and the end of the withdrawal period. Idempotent."""
    existing = db.scalar(
        select(WithdrawalRight).where(
            WithdrawalRight.platform_id == platform.id,
            WithdrawalRight.object_type == object_type,
            WithdrawalRight.object_id == object_id,
        )
    )
    if existing is not None:
        if existing.user_id != user_id:
            raise Conflict("this contract reference belongs to another consumer")
        return _wview(existing, now)
    accounts.get_user(db, platform_id=platform.id, user_id=user_id)  # NotFound across platforms
    decision = domain.withdrawal_deadline(concluded_at, platform.settings.withdrawal_days)
    row = WithdrawalRight(
        id=new_id(),
        platform_id=platform.id,
        object_type=object_type,
        object_id=object_id,
        user_id=user_id,
        concluded_at=concluded_at,
        deadline=decision.outcome,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor.system(),
        action="withdrawal.opened",
        obj=(object_type, object_id),
        at=now,
        rules=decision.rules,
        reason=decision.reason,
        data={"deadline": decision.outcome.isoformat(), "user_id": user_id},
    )
    return _wview(row, now, decision.reason)


def _owned(db: Session, platform_id: str, object_type: str, object_id: str, user_id: str) -> WithdrawalRight:
    row = db.scalar(
        select(WithdrawalRight).where(
            WithdrawalRight.platform_id == platform_id,
            WithdrawalRight.object_type == object_type,
            WithdrawalRight.object_id == object_id,
        )
    )
    if row is None or row.user_id != user_id:
        raise NotFound("no such contract of yours")
    return row


def withdrawal_status(
    db: Session, *, platform_id: str, object_type: str, object_id: str, user_id: str, now: datetime
) -> WithdrawalView:
    return _wview(_owned(db, platform_id, object_type, object_id, user_id), now)


def record_waiver(
    db: Session,
    *,
    platform_id: str,
    object_type: str,
    object_id: str,
    user_id: str,
    waiver_text: str,
    meta: RequestMeta,
    now: datetime,
) -> WithdrawalView:
    """COMMON-WITHDRAW-1: the consumer's express prior waiver, for a service starting at once."""
    row = _owned(db, platform_id, object_type, object_id, user_id)
    if row.waived_at is not None:
        raise Conflict("the withdrawal right was already waived")
    if now > row.deadline:
        raise Conflict("the withdrawal period is over", rules=["COMMON-WITHDRAW-1"])
    if not waiver_text.strip():
        raise InvalidInput([FieldError("body.waiver_text", "the text shown to the consumer is required")])
    row.waived_at = now
    row.waiver_text = waiver_text
    row.waiver_ip = meta.ip[:45]
    row.waiver_user_agent = (meta.user_agent or "")[:400] or None
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="withdrawal.waived",
        obj=(object_type, object_id),
        at=now,
        rules=["COMMON-WITHDRAW-1", "COMMON-EVIDENCE-1"],
        data={"ip": row.waiver_ip, "user_agent": row.waiver_user_agent},
    )
    return _wview(row, now)


# --- privacy (called by the privacy module) ---------------------------------------------------------


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, list[dict[str, str | None]]]:
    """The terms evidence about a user (COMMON-PRIVACY-1): acceptances, withdrawal rights, waivers."""
    acceptances = [
        {
            "audience": version.audience,
            "version": version.version,
            "accepted_at": row.accepted_at.isoformat(),
            "ip": row.ip,
            "user_agent": row.user_agent,
        }
        for row, version in db.execute(
            select(TermsAcceptance, TermsVersion)
            .join(TermsVersion, TermsVersion.id == TermsAcceptance.terms_version_id)
            .where(TermsAcceptance.platform_id == platform_id, TermsAcceptance.user_id == user_id)
            .order_by(TermsAcceptance.accepted_at, TermsAcceptance.id)
        ).tuples()
    ]
    withdrawals = [
        {
            "object_type": w.object_type,
            "object_id": w.object_id,
            "concluded_at": w.concluded_at.isoformat(),
            "deadline": w.deadline.isoformat(),
            "waived_at": w.waived_at.isoformat() if w.waived_at else None,
            "waiver_text": w.waiver_text,
            "waiver_ip": w.waiver_ip,
            "waiver_user_agent": w.waiver_user_agent,
        }
        for w in db.scalars(
            select(WithdrawalRight)
            .where(WithdrawalRight.platform_id == platform_id, WithdrawalRight.user_id == user_id)
            .order_by(WithdrawalRight.concluded_at, WithdrawalRight.id)
        )
    ]
    return {"acceptances": acceptances, "withdrawal_rights": withdrawals}


def purge_evidence(db: Session, *, platform_id: str, user_ids: list[str]) -> int:
    """Delete the acceptances and withdrawal records of `user_ids` (closed accounts whose evidence
    period has ended, COMMON-PRIVACY-3). Returns how many rows went."""
    total = 0
    for i in range(0, len(user_ids), 500):
        chunk = user_ids[i : i + 500]
        for model in (TermsAcceptance, WithdrawalRight):
            result = db.execute(
                delete(model)
                .where(model.platform_id == platform_id, model.user_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
            total += int(getattr(result, "rowcount", 0) or 0)
    return total
