"""Queue a message in the caller's transaction; the worker delivers it (see `notify.dispatch`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from entremise.notify.models import OutboxAttachment, OutboxMessage
from entremise.notify.ports import Attachment

CHANNELS = ("email", "sms")
# transactional: password resets, invoices, notices... always sent. marketing: promotional messages,
# sent only while the recipient consents (checked again at delivery) and carrying an unsubscribe link
# (payload key `unsubscribe_url`); see docs/privacy.md.
CATEGORIES = ("transactional", "marketing")
FINISHED = ("sent", "dead", "suppressed")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # all attachments of one e-mail together
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def _check_attachments(channel: str, attachments: Sequence[Attachment]) -> None:
    if attachments and channel != "email":
        raise ValueError("only e-mails carry attachments")
    if sum(len(a.content) for a in attachments) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachments are at most {MAX_ATTACHMENT_BYTES} bytes in all")
    for a in attachments:
        if not _FILENAME.match(a.filename):
            raise ValueError(f"attachment file name {a.filename!r}: letters, digits, dot, dash, underscore")
        if not _CONTENT_TYPE.match(a.content_type):
            raise ValueError(f"attachment content type {a.content_type!r} is not a MIME type")
        if not isinstance(a.content, bytes) or not a.content:
            raise ValueError(f"attachment {a.filename!r} has no content")


def enqueue(
    db: Session,
    *,
    platform_id: str,
    channel: str,
    template: str,
    recipient: str,
    payload: dict[str, Any],
    now: datetime,
    locale: str = "fr",
    user_id: str | None = None,
    dedupe_key: str | None = None,
    category: str = "transactional",
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Add a message to the outbox. With `dedupe_key`, queuing the same key twice keeps the first.

    Marketing messages are queued by `entremise.privacy.service.enqueue_marketing`, which checks
    consent and adds the unsubscribe link; a marketing message needs a `user_id`.
    `attachments` (e-mail only, 10 MiB in all) are stored with the message and sent with it."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if category == "marketing" and (user_id is None or not isinstance(payload.get("unsubscribe_url"), str)):
        raise ValueError("a marketing message needs a user_id and an unsubscribe_url in its payload")
    _check_attachments(channel, attachments)
    if dedupe_key is not None:
        existing = db.scalar(
            select(OutboxMessage).where(
                OutboxMessage.platform_id == platform_id, OutboxMessage.dedupe_key == dedupe_key
            )
        )
        if existing is not None:
            return existing
    message = OutboxMessage(
        platform_id=platform_id,
        user_id=user_id,
        channel=channel,
        template=template,
        locale=locale,
        recipient=recipient,
        payload=payload,
        dedupe_key=dedupe_key,
        category=category,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(message)
    db.flush()
    for position, a in enumerate(attachments):
        db.add(
            OutboxAttachment(
                message_id=message.id,
                position=position,
                filename=a.filename,
                content_type=a.content_type,
                content=a.content,
            )
        )
    if attachments:
        db.flush()
    return message


def attachments_of(db: Session, message_id: int) -> list[Attachment]:
    """The files of one message, in the order they were given."""
    rows = db.scalars(
        select(OutboxAttachment)
        .where(OutboxAttachment.message_id == message_id)
        .order_by(OutboxAttachment.position)
    )
    return [Attachment(r.filename, r.content_type, bytes(r.content)) for r in rows]


def messages_for(
    db: Session, *, platform_id: str, user_id: str | None = None, template: str | None = None
) -> list[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.platform_id == platform_id)
    if user_id is not None:
        q = q.where(OutboxMessage.user_id == user_id)
    if template is not None:
        q = q.where(OutboxMessage.template == template)
    return list(db.scalars(q.order_by(OutboxMessage.id)))


_SECRET_HINTS = ("url", "token", "code", "password", "secret")


def _redacted(payload: Any) -> Any:
    """A payload without what could open something (links with tokens, codes)."""
    if not isinstance(payload, dict):
        return payload
    return {
        k: "[redacted]" if any(h in k.lower() for h in _SECRET_HINTS) else _redacted(v)
        for k, v in payload.items()
    }


def export_data(db: Session, *, platform_id: str, user_id: str) -> list[dict[str, Any]]:
    """The messages queued for a user (COMMON-PRIVACY-1): when, how, to which address, what template,
    what became of it, and the payload with links and codes redacted."""
    return [
        {
            "id": m.id,
            "created_at": m.created_at.isoformat(),
            "channel": m.channel,
            "category": m.category,
            "template": m.template,
            "locale": m.locale,
            "recipient": m.recipient,
            "status": m.status,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "payload": _redacted(m.payload),
        }
        for m in messages_for(db, platform_id=platform_id, user_id=user_id)
    ]


def purge_finished(
    db: Session,
    *,
    platform_id: str,
    user_ids: Sequence[str] | None = None,
    created_before: datetime | None = None,
) -> int:
    """Delete finished messages (sent, dead or suppressed; never one still to send) of a platform,
    of `user_ids` when given, created before `created_before` when given. Returns how many went.
    The audit entries `notification.sent` stay as the proof that a message left."""
    if user_ids is not None and not user_ids:
        return 0
    total = 0
    chunks = [list(user_ids[i : i + 500]) for i in range(0, len(user_ids), 500)] if user_ids else [None]
    for chunk in chunks:
        stmt = delete(OutboxMessage).where(
            OutboxMessage.platform_id == platform_id, OutboxMessage.status.in_(FINISHED)
        )
        if chunk is not None:
            stmt = stmt.where(OutboxMessage.user_id.in_(chunk))
        if created_before is not None:
            stmt = stmt.where(OutboxMessage.created_at < created_before)
        result = db.execute(stmt.execution_options(synchronize_session=False))
        total += int(getattr(result, "rowcount", 0) or 0)
    return total
