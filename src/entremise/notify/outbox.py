"""Queue a message in the caller's transaction; the worker delivers it (see `notify.dispatch`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.notify.models import OutboxMessage

CHANNELS = ("email", "sms")


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
) -> OutboxMessage:
    """Add a message to the outbox. With `dedupe_key`, queuing the same key twice keeps the first."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
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
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(message)
    db.flush()
    return message


def messages_for(
    db: Session, *, platform_id: str, user_id: str | None = None, template: str | None = None
) -> list[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.platform_id == platform_id)
    if user_id is not None:
        q = q.where(OutboxMessage.user_id == user_id)
    if template is not None:
        q = q.where(OutboxMessage.template == template)
    return list(db.scalars(q.order_by(OutboxMessage.id)))
