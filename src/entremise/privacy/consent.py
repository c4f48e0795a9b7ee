"""Marketing consent per channel (COMMON-PRIVACY-2), limits on processing (restriction and objection,
COMMON-PRIVACY-1), signed one-click unsubscribe links, and the checks other modules consult.

Each function runs inside the caller's transaction. Other modules ask, never read the tables:
- `may_send_marketing(db, platform_id=, user_id=, channel=)`: the notify module asks it again when it
  is about to deliver a marketing message (registered as its marketing gate);
- `processing_allowed(db, platform_id=, user_id=, purpose="profiling")` and `excluded_from(...)`:
  ranking, recommendation or any profiling asks before using a user's data;
- `enqueue_marketing(...)`: the only way to queue a promotional message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta
from entremise.audit.service import Actor, record
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView
from entremise.privacy import domain
from entremise.privacy.models import ConsentEvent, MarketingConsent, ProcessingLimit

SENDABLE = ("email", "sms")  # channels the outbox delivers; phone consent is asked by telephony


@dataclass(frozen=True)
class ConsentView:
    channel: str
    granted: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class ConsentEventView:
    channel: str
    granted: bool
    at: datetime
    source: str
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class LimitView:
    purpose: str
    basis: str
    active: bool
    since: datetime
    ended_at: datetime | None
    request_id: str | None


def _check_channel(channel: str, field: str = "path.channel") -> None:
    verdict = domain.check_channel(channel)
    if not verdict.allowed:
        raise InvalidInput([FieldError(field, verdict.reason)], rules=verdict.rules)


def consents_of(db: Session, *, platform_id: str, user_id: str) -> list[ConsentView]:
    """Every channel, in the order of `domain.CHANNELS`; a channel never chosen is not consented."""
    rows = {
        r.channel: r
        for r in db.scalars(
            select(MarketingConsent).where(
                MarketingConsent.platform_id == platform_id, MarketingConsent.user_id == user_id
            )
        )
    }
    return [
        ConsentView(c, rows[c].granted, rows[c].updated_at) if c in rows else ConsentView(c, False, None)
        for c in domain.CHANNELS
    ]


def consent_history(db: Session, *, platform_id: str, user_id: str) -> list[ConsentEventView]:
    rows = db.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.platform_id == platform_id, ConsentEvent.user_id == user_id)
        .order_by(ConsentEvent.id)
    )
    return [ConsentEventView(r.channel, r.granted, r.at, r.source, r.ip, r.user_agent) for r in rows]


def _consent_row(db: Session, platform_id: str, user_id: str, channel: str) -> MarketingConsent | None:
    return db.scalar(
        select(MarketingConsent)
        .where(
            MarketingConsent.platform_id == platform_id,
            MarketingConsent.user_id == user_id,
            MarketingConsent.channel == channel,
        )
        .with_for_update()
    )


def set_consent(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    channel: str,
    granted: bool,
    source: str,
    now: datetime,
    meta: RequestMeta | None = None,
    actor: Actor | None = None,
) -> ConsentView:
    """COMMON-PRIVACY-2: record a choice on one channel with its proof (time, source, IP address, user
    agent). Choosing what is already chosen changes nothing and records nothing."""
    _check_channel(channel)
    if source not in domain.CONSENT_SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    accounts.get_user(db, platform_id=platform_id, user_id=user_id)  # NotFound across platforms
    row = _consent_row(db, platform_id, user_id, channel)
    if row is None:
        row = MarketingConsent(
            id=new_id(),
            platform_id=platform_id,
            user_id=user_id,
            channel=channel,
            granted=granted,
            updated_at=now,
        )
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
        except IntegrityError:  # a concurrent first choice on this channel: take it as the current one
            row = _consent_row(db, platform_id, user_id, channel)
            assert row is not None
            if row.granted == granted:
                return ConsentView(channel, row.granted, row.updated_at)
            row.granted, row.updated_at = granted, now
    elif row.granted == granted:
        return ConsentView(channel, row.granted, row.updated_at)
    else:
        row.granted, row.updated_at = granted, now
    ip = (meta.ip[:45] if meta else None) or None
    user_agent = ((meta.user_agent or "")[:400] if meta else "") or None
    db.add(
        ConsentEvent(
            platform_id=platform_id,
            user_id=user_id,
            channel=channel,
            granted=granted,
            at=now,
            source=source,
            ip=ip,
            user_agent=user_agent,
        )
    )
    record(
        db,
        platform_id=platform_id,
        actor=actor or Actor("user", user_id),
        action="marketing_consent.granted" if granted else "marketing_consent.withdrawn",
        obj=("user", user_id),
        at=now,
        rules=[domain.RULE_MARKETING, *(["LAW-CANVASS-1"] if channel == "phone" else [])],
        data={"channel": channel, "source": source, "ip": ip, "user_agent": user_agent},
    )
    db.flush()
    return ConsentView(channel, granted, now)


def withdraw_all(db: Session, *, platform_id: str, user_id: str, source: str, now: datetime) -> list[str]:
    """Withdraw every consent given (closure, erasure); the channels withdrawn."""
    withdrawn = []
    for consent in consents_of(db, platform_id=platform_id, user_id=user_id):
        if consent.granted:
            set_consent(
                db,
                platform_id=platform_id,
                user_id=user_id,
                channel=consent.channel,
                granted=False,
                source=source,
                now=now,
                actor=Actor.system(),
            )
            withdrawn.append(consent.channel)
    return withdrawn


# --- restriction and objection (GDPR arts. 18 and 21) ---------------------------------------------


def limits_of(db: Session, *, platform_id: str, user_id: str, active_only: bool = True) -> list[LimitView]:
    q = select(ProcessingLimit).where(
        ProcessingLimit.platform_id == platform_id, ProcessingLimit.user_id == user_id
    )
    if active_only:
        q = q.where(ProcessingLimit.active.is_(True))
    rows = db.scalars(q.order_by(ProcessingLimit.purpose, ProcessingLimit.basis))
    return [LimitView(r.purpose, r.basis, r.active, r.since, r.ended_at, r.request_id) for r in rows]


def add_limits(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    purposes: Sequence[str],
    basis: str,
    now: datetime,
    actor: Actor,
    request_id: str | None = None,
) -> list[LimitView]:
    """COMMON-PRIVACY-1: stop `purposes` for this user at once, on the basis of a restriction or an
    objection; it stays until the user lifts it or a refusal with reasons ends it."""
    assert basis in domain.LIMIT_KINDS
    for purpose in purposes:
        assert purpose in domain.PURPOSES
        row = db.scalar(
            select(ProcessingLimit)
            .where(
                ProcessingLimit.platform_id == platform_id,
                ProcessingLimit.user_id == user_id,
                ProcessingLimit.purpose == purpose,
                ProcessingLimit.basis == basis,
            )
            .with_for_update()
        )
        if row is None:
            db.add(
                ProcessingLimit(
                    id=new_id(),
                    platform_id=platform_id,
                    user_id=user_id,
                    purpose=purpose,
                    basis=basis,
                    active=True,
                    request_id=request_id,
                    since=now,
                )
            )
        elif not row.active:
            row.active, row.since, row.ended_at, row.request_id = True, now, None, request_id
        else:
            continue
        record(
            db,
            platform_id=platform_id,
            actor=actor,
            action=f"processing.{basis}_started",
            obj=("user", user_id),
            at=now,
            rules=[domain.RULE_REQUESTS],
            data={"purpose": purpose, "request_id": request_id},
        )
    db.flush()
    return limits_of(db, platform_id=platform_id, user_id=user_id)


def end_limits(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    purposes: Sequence[str],
    now: datetime,
    actor: Actor,
    basis: str | None = None,
    reason: str = "",
) -> int:
    """Lift active limits on `purposes` (of `basis`, or both); how many were lifted."""
    q = (
        select(ProcessingLimit)
        .where(
            ProcessingLimit.platform_id == platform_id,
            ProcessingLimit.user_id == user_id,
            ProcessingLimit.purpose.in_(list(purposes)),
            ProcessingLimit.active.is_(True),
        )
        .with_for_update()
    )
    if basis is not None:
        q = q.where(ProcessingLimit.basis == basis)
    rows = list(db.scalars(q))
    for row in rows:
        row.active, row.ended_at = False, now
        record(
            db,
            platform_id=platform_id,
            actor=actor,
            action=f"processing.{row.basis}_ended",
            obj=("user", user_id),
            at=now,
            rules=[domain.RULE_REQUESTS],
            reason=reason,
            data={"purpose": row.purpose, "request_id": row.request_id},
        )
    db.flush()
    return len(rows)


def lift_own_limit(
    db: Session, *, platform_id: str, user_id: str, purpose: str, now: datetime
) -> list[LimitView]:
    """The user lifts their own restriction or objection on `purpose`."""
    if purpose not in domain.PURPOSES:
        raise InvalidInput([FieldError("path.purpose", f"one of {', '.join(domain.PURPOSES)}")])
    if not end_limits(
        db,
        platform_id=platform_id,
        user_id=user_id,
        purposes=[purpose],
        now=now,
        actor=Actor("user", user_id),
        reason="lifted by the user",
    ):
        raise NotFound(f"no restriction or objection on {purpose}")
    return limits_of(db, platform_id=platform_id, user_id=user_id)


def _limited_by(db: Session, platform_id: str, user_id: str, purpose: str) -> list[str]:
    return sorted(
        db.scalars(
            select(ProcessingLimit.basis).where(
                ProcessingLimit.platform_id == platform_id,
                ProcessingLimit.user_id == user_id,
                ProcessingLimit.purpose == purpose,
                ProcessingLimit.active.is_(True),
            )
        )
    )


def processing_allowed(db: Session, *, platform_id: str, user_id: str, purpose: str) -> Verdict:
    """May this user's data be used for `purpose` (marketing, profiling: ranking, recommendations)?"""
    if purpose not in domain.PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    limited = _limited_by(db, platform_id, user_id, purpose)
    if limited:
        return Verdict.refuse(
            domain.RULE_REQUESTS, reason=f"{purpose} is stopped by the user's {' and '.join(limited)}"
        )
    return Verdict.allow(domain.RULE_REQUESTS, reason=f"no restriction or objection on {purpose}")


def excluded_from(db: Session, *, platform_id: str, purpose: str, user_ids: Iterable[str]) -> set[str]:
    """Of `user_ids`, those whose data must not be used for `purpose` (for a ranking over many users)."""
    ids = list(dict.fromkeys(user_ids))
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        found.update(
            db.scalars(
                select(ProcessingLimit.user_id).where(
                    ProcessingLimit.platform_id == platform_id,
                    ProcessingLimit.purpose == purpose,
                    ProcessingLimit.active.is_(True),
                    ProcessingLimit.user_id.in_(ids[i : i + 500]),
                )
            )
        )
    return found


def may_send_marketing(db: Session, *, platform_id: str, user_id: str | None, channel: str) -> Verdict:
    """COMMON-PRIVACY-2: consulted when a marketing message is queued and again when it is delivered."""
    if user_id is None or channel not in domain.CHANNELS:
        return Verdict.refuse(
            domain.RULE_MARKETING, reason="a marketing message names its recipient's account"
        )
    try:
        user = accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    except NotFound:
        return Verdict.refuse(domain.RULE_MARKETING, reason="the account no longer exists")
    consented = any(
        c.granted for c in consents_of(db, platform_id=platform_id, user_id=user_id) if c.channel == channel
    )
    return domain.marketing_verdict(
        consented=consented,
        account_active=user.status == "active",
        limited_by=_limited_by(db, platform_id, user_id, "marketing"),
        channel=channel,
    )


# --- unsubscribe links -------------------------------------------------------------------------


def unsubscribe_url(base_url: str, platform: PlatformView, user_id: str, channel: str, secret: str) -> str:
    token = domain.unsubscribe_token(secret, platform.id, user_id, channel)
    return f"{base_url.rstrip('/')}/api/v1/platforms/{platform.slug}/unsubscribe/{token}"


def read_link(db: Session, *, platform: PlatformView, token: str, secrets: Sequence[str]) -> ConsentView:
    """The channel a link names and whether its owner is still subscribed; refuses a forged link."""
    decision = domain.read_unsubscribe_token(secrets, platform.id, token)
    if decision.outcome is None:
        raise InvalidInput([FieldError("path.token", decision.reason)], rules=decision.rules)
    link = decision.outcome
    [consent] = [
        c for c in consents_of(db, platform_id=platform.id, user_id=link.user_id) if c.channel == link.channel
    ]
    return consent


def unsubscribe(
    db: Session,
    *,
    platform: PlatformView,
    token: str,
    secrets: Sequence[str],
    meta: RequestMeta,
    now: datetime,
) -> ConsentView:
    """COMMON-PRIVACY-2, RFC 8058: the one-click opt-out. No session is needed: the signed link is the
    proof. It takes effect at once, for queued messages too (checked again at delivery)."""
    decision = domain.read_unsubscribe_token(secrets, platform.id, token)
    if decision.outcome is None:
        raise InvalidInput([FieldError("path.token", decision.reason)], rules=decision.rules)
    link = decision.outcome
    try:
        return set_consent(
            db,
            platform_id=platform.id,
            user_id=link.user_id,
            channel=link.channel,
            granted=False,
            source="unsubscribe_link",
            now=now,
            meta=meta,
            actor=Actor("anonymous"),
        )
    except NotFound as exc:  # the account was purged; a valid link still says it is over
        raise NotFound("this subscription no longer exists") from exc


@dataclass(frozen=True)
class MarketingQueued:
    verdict: Verdict
    outbox_id: int | None


def enqueue_marketing(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    channel: str,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    base_url: str,
    secret: str,
    dedupe_key: str | None = None,
) -> MarketingQueued:
    """COMMON-PRIVACY-2: queue a promotional message when the user consents on `channel` (e-mail or
    SMS) and has not restricted or objected to marketing. The payload gains `unsubscribe_url`, the
    signed one-click link, which the template shows and the e-mail carries in `List-Unsubscribe`.
    When refused, nothing is queued and the verdict says why."""
    if channel not in SENDABLE:
        raise ValueError(f"the outbox sends marketing by {' or '.join(SENDABLE)}, not {channel!r}")
    verdict = may_send_marketing(db, platform_id=platform.id, user_id=user_id, channel=channel)
    if not verdict.allowed:
        return MarketingQueued(verdict, None)
    contact = accounts.contact_of(db, platform.id, user_id)
    recipient = contact.email if channel == "email" else contact.phone
    if not recipient:
        return MarketingQueued(
            Verdict.refuse(domain.RULE_MARKETING, reason=f"the account has no {channel} address"), None
        )
    message = enqueue(
        db,
        platform_id=platform.id,
        channel=channel,
        template=template,
        recipient=recipient,
        payload={**payload, "unsubscribe_url": unsubscribe_url(base_url, platform, user_id, channel, secret)},
        now=now,
        locale=contact.locale,
        user_id=user_id,
        dedupe_key=dedupe_key,
        category="marketing",
    )
    return MarketingQueued(verdict, message.id)
