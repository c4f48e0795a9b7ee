"""Deliver the outbox: claim a due message, render it, send it, record the outcome.

`deliver_due(runtime, now)` is a worker job. Each message goes through three steps:

1. claim, in its own short transaction: the oldest pending message whose `next_attempt_at` has come
   and that no live claim holds is marked `claimed_by` this run, `claimed_at` now. PostgreSQL takes
   it with `FOR UPDATE SKIP LOCKED`, so concurrent workers pick different rows without waiting;
   on SQLite every transaction is `BEGIN IMMEDIATE`, which serialises the claims.
2. render and send, outside any transaction (the network is never called with a row lock held).
3. record, in a second transaction: `sent` with `sent_at`; or, on failure, the error, one more
   attempt and the next try with exponential backoff (1 min, 2, 4 ... capped at 1 h); `dead` after
   `ENTREMISE_MAIL_MAX_ATTEMPTS` attempts, or at once when retrying cannot help (the template does
   not render, the server refuses the address for good).

Marketing messages (category `marketing`) are checked once more when claimed: every registered
marketing gate (`register_marketing_gate`; the privacy module registers the consent check) must allow
it, else it is marked `suppressed` and never sent, so an opt-out stops messages already queued
(COMMON-PRIVACY-2). With no gate registered, a marketing message is suppressed too: it is never sent
unchecked. Marketing e-mails carry `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058).

Delivery is at least once, not exactly once. If a worker dies after the SMTP server accepted a
message but before step 3 committed, the claim lapses after `ENTREMISE_MAIL_LEASE_SECONDS` and
another worker sends the message again. Both copies carry the same Message-ID (derived from the
outbox row id and the platform id), so mail clients and archives that de-duplicate on Message-ID
show it once, and an operator can see that they are the same message.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import NotFound
from entremise.notify.adapters import build_email, email_sender_for, sender_address, sms_sender_for
from entremise.notify.domain import after_failure, message_id
from entremise.notify.models import OutboxMessage
from entremise.notify.outbox import attachments_of
from entremise.notify.ports import Attachment, DeliveryError, EmailSender, SmsMessage, SmsSender
from entremise.notify.render import RenderError, render
from entremise.platforms import service as platforms
from entremise.runtime import Runtime

log = structlog.get_logger(__name__)
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class _Job:
    """What the send step needs, copied out of the row so no session is held while sending."""

    id: int
    platform_id: str
    platform_name: str | None  # None when the platform row is missing
    timezone: str | None
    channel: str
    template: str
    locale: str
    recipient: str
    payload: Any
    category: str = "transactional"
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class _Outcome:
    sent: bool
    error: str | None = None
    permanent: bool = False


# (db, platform_id, user_id, channel) -> may this marketing message still go? Checked in the claim's
# transaction, so a consent withdrawn before the claim is always seen.
MarketingGate = Callable[[Session, str, str | None, str], Verdict]
MARKETING_GATES: list[MarketingGate] = []


def register_marketing_gate(gate: MarketingGate) -> None:
    if gate not in MARKETING_GATES:
        MARKETING_GATES.append(gate)


def _marketing_verdict(db: Session, row: OutboxMessage) -> Verdict:
    if not MARKETING_GATES:
        return Verdict.refuse("COMMON-PRIVACY-2", reason="no consent check is registered")
    for gate in MARKETING_GATES:
        verdict = gate(db, row.platform_id, row.user_id, row.channel)
        if not verdict.allowed:
            return verdict
    return Verdict.allow("COMMON-PRIVACY-2", reason="the recipient consents")


def _suppress(db: Session, row: OutboxMessage, verdict: Verdict, now: datetime) -> None:
    row.status = "suppressed"
    row.last_error = f"suppressed: {verdict.reason}"[:MAX_ERROR_CHARS]
    row.claimed_by, row.claimed_at = None, None
    record(
        db,
        platform_id=row.platform_id,
        actor=Actor.system(),
        action="notification.suppressed",
        obj=("outbox_message", str(row.id)),
        at=now,
        rules=list(verdict.rules),
        reason=verdict.reason,
        data={"template": row.template, "channel": row.channel, "category": row.category},
    )
    log.info("outbox.suppressed", outbox_id=row.id, reason=verdict.reason)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_next(
    db: Session, *, now: datetime, worker: str, lease: timedelta, platform_id: str | None
) -> OutboxMessage | None:
    q = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at <= now - lease),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        # PostgreSQL: skip rows another worker is claiming; SQLite ignores the clause (BEGIN IMMEDIATE)
        .with_for_update(skip_locked=True)
    )
    if platform_id is not None:
        q = q.where(OutboxMessage.platform_id == platform_id)
    row = db.scalar(q)
    if row is None:
        return None
    row.claimed_by = worker
    row.claimed_at = now
    db.flush()
    return row


def _job(db: Session, row: OutboxMessage) -> _Job:
    try:
        platform = platforms.get(db, row.platform_id)
        name, timezone = platform.name, platform.settings.timezone
    except NotFound:
        name, timezone = None, None
    return _Job(
        id=row.id,
        platform_id=row.platform_id,
        platform_name=name,
        timezone=timezone,
        channel=row.channel,
        template=row.template,
        locale=row.locale,
        recipient=row.recipient,
        payload=row.payload,
        category=row.category,
        attachments=tuple(attachments_of(db, row.id)) if row.channel == "email" else (),
    )


def _attempt(job: _Job, *, mail_from: str, now: datetime, email: EmailSender, sms: SmsSender) -> _Outcome:
    """Render then send one message. Never raises: the outcome says what happened."""
    send: Callable[[], None]
    try:
        if job.timezone is None:
            raise RenderError(f"platform {job.platform_id} does not exist")
        rendered = render(job.template, job.channel, job.locale, job.payload, timezone=job.timezone)
        payload_name = job.payload.get("platform_name") if isinstance(job.payload, dict) else None
        sender_name = payload_name if isinstance(payload_name, str) else job.platform_name
        unsubscribe = job.payload.get("unsubscribe_url") if isinstance(job.payload, dict) else None
        if job.category == "marketing" and not isinstance(unsubscribe, str):
            raise RenderError("a marketing message needs its unsubscribe_url (COMMON-PRIVACY-2)")
        if job.channel == "email":
            mail = build_email(
                outbox_id=job.id,
                platform_id=job.platform_id,
                recipient=job.recipient,
                rendered=rendered,
                mail_from=mail_from,
                now=now,
                sender_name=sender_name,
                list_unsubscribe=unsubscribe if job.category == "marketing" else None,
                attachments=job.attachments,
            )
            send = partial(email.send, mail)
        else:
            domain = sender_address(mail_from)[1].rpartition("@")[2]
            short = SmsMessage(
                message_id=message_id(job.id, job.platform_id, domain),
                to=job.recipient,
                text=rendered.text,
                sender=sender_name or "",
            )
            send = partial(sms.send, short)
    except (RenderError, ValueError) as exc:
        return _Outcome(sent=False, error=f"cannot render: {exc}", permanent=True)
    try:
        send()
    except DeliveryError as exc:
        return _Outcome(sent=False, error=str(exc), permanent=exc.permanent)
    except Exception as exc:  # an unexpected adapter error: keep it and try again later
        log.exception("outbox.send_crashed", outbox_id=job.id)
        return _Outcome(sent=False, error=f"{type(exc).__name__}: {exc}")
    return _Outcome(sent=True)


def _record(
    db: Session, job: _Job, outcome: _Outcome, *, worker: str, now: datetime, max_attempts: int
) -> None:
    row = db.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == job.id, OutboxMessage.platform_id == job.platform_id)
        .with_for_update()
    )
    if row is None or row.status != "pending":
        # another worker took the message over after our lease ran out, and finished first
        log.warning("outbox.already_finished", outbox_id=job.id, sent_here=outcome.sent)
        return
    if not outcome.sent and row.claimed_by != worker:
        log.warning("outbox.claim_lost", outbox_id=job.id)  # the new holder will try again
        return
    row.attempts += 1
    audit = {"template": row.template, "channel": row.channel, "attempts": row.attempts}
    if outcome.sent:
        # kept even when the claim was lost: the message did leave, and says so
        row.status, row.sent_at = "sent", now
        record(
            db,
            platform_id=row.platform_id,
            actor=Actor.system(),
            action="notification.sent",
            obj=("outbox_message", str(row.id)),
            at=now,
            data=audit,
        )
        return
    row.last_error = (outcome.error or "unknown error")[:MAX_ERROR_CHARS]
    row.claimed_by, row.claimed_at = None, None
    plan = after_failure(row.attempts, max_attempts, now, permanent=outcome.permanent)
    if plan.dead:
        row.status = "dead"
        record(
            db,
            platform_id=row.platform_id,
            actor=Actor.system(),
            action="notification.dead",
            obj=("outbox_message", str(row.id)),
            at=now,
            reason=row.last_error[:500],
            data=audit,
        )
        log.warning("outbox.dead", outbox_id=row.id, error=row.last_error)
    else:
        assert plan.next_attempt_at is not None
        row.next_attempt_at = plan.next_attempt_at
        log.info(
            "outbox.retry", outbox_id=row.id, attempts=row.attempts, next_attempt_at=plan.next_attempt_at
        )


def deliver_due(
    runtime: Runtime,
    now: datetime,
    *,
    platform_id: str | None = None,
    limit: int | None = None,
    email: EmailSender | None = None,
    sms: SmsSender | None = None,
) -> int:
    """Deliver the messages due at `now`; return how many were handled (sent, retried or dead).

    At most `limit` (default `ENTREMISE_MAIL_BATCH_SIZE`) per call, so other worker jobs get their
    turn. `platform_id` restricts the run to one platform (operations, tests). The adapters come
    from the settings unless given."""
    settings = runtime.settings
    sender_address(settings.mail_from)  # a misconfigured sender stops the job, not the messages
    email = email or email_sender_for(settings)
    sms = sms or sms_sender_for(settings)
    worker = new_worker_id()
    lease = timedelta(seconds=settings.mail_lease_seconds)
    budget = limit if limit is not None else settings.mail_batch_size
    handled = 0
    while handled < budget:
        with runtime.sessions() as db, db.begin():
            row = _claim_next(db, now=now, worker=worker, lease=lease, platform_id=platform_id)
            if row is None:
                break
            if row.category == "marketing":
                verdict = _marketing_verdict(db, row)
                if not verdict.allowed:
                    _suppress(db, row, verdict, now)
                    handled += 1
                    continue
            job = _job(db, row)
        outcome = _attempt(job, mail_from=settings.mail_from, now=now, email=email, sms=sms)
        with runtime.sessions() as db, db.begin():
            _record(db, job, outcome, worker=worker, now=now, max_attempts=settings.mail_max_attempts)
        handled += 1
    return handled
