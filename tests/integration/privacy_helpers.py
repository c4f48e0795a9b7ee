"""Helpers for the privacy tests: marketing messages, consent rows, the outbox of a user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from entremise.notify.models import OutboxMessage
from entremise.platforms.service import PlatformView
from entremise.privacy import service as privacy
from entremise.runtime import Runtime

ANNOUNCEMENT = {"platform_name": "Covoit Est", "title": "Nouveaux trajets", "body": "Des trajets vers Metz."}


def queue_marketing(
    runtime: Runtime, platform: PlatformView, user_id: str, channel: str = "email"
) -> privacy.MarketingQueued:
    with runtime.sessions() as db, db.begin():
        return privacy.enqueue_marketing(
            db,
            platform=platform,
            user_id=user_id,
            channel=channel,
            template="marketing.announcement",
            payload=dict(ANNOUNCEMENT),
            now=runtime.clock.now(),
            base_url=runtime.settings.base_url,
            secret=runtime.settings.secret_key,
        )


def outbox_row(runtime: Runtime, outbox_id: int) -> OutboxMessage:
    with runtime.sessions() as db:
        row = db.get(OutboxMessage, outbox_id)
        assert row is not None
        db.expunge(row)
        return row


def outbox_of(
    runtime: Runtime, platform: PlatformView, user_id: str, template: str | None = None
) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        q = select(OutboxMessage).where(
            OutboxMessage.platform_id == platform.id, OutboxMessage.user_id == user_id
        )
        if template is not None:
            q = q.where(OutboxMessage.template == template)
        rows = list(db.scalars(q.order_by(OutboxMessage.id)))
        for r in rows:
            db.expunge(r)
        return rows


def count(runtime: Runtime, model: Any, **where: Any) -> int:
    with runtime.sessions() as db:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(db.scalar(q) or 0)


def consents(runtime: Runtime, platform: PlatformView, user_id: str) -> dict[str, bool]:
    with runtime.sessions() as db, db.begin():
        return {
            c.channel: c.granted for c in privacy.consents_of(db, platform_id=platform.id, user_id=user_id)
        }
