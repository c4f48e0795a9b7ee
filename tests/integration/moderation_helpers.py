"""Helpers for the moderation and sanctions tests: notices, decisions, the e-mails they queue."""

from __future__ import annotations

import uuid
from typing import Any

from accounts_helpers import auth, url
from sqlalchemy import select

from entremise.notify.models import OutboxMessage
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

RULES = ["COMMON-MODERATION-1"]


def notice_body(content_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "profile",
        "content_id": content_id,
        "location": f"https://example.fr/profiles/{content_id}",
        "explanation": "the profile insults other members by name",
        "legal_grounds": "Code pénal art. R621-2 (injure non publique); terms §10",
        "name": "Durand",
        "email": "notifier@example.fr",
        "good_faith": True,
        "notifier_type": "natural",
        "first_names": "Claire Marie",
        "profession": "enseignante",
        "domicile": "3 rue des Lilas, 75011 Paris",
        "nationality": "française",
        "birth_date": "1980-04-02",
        "birth_place": "Lyon",
        "author_unreachable_reason": "the profile shows no way to contact its author",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def notify(client, platform: PlatformView, content_id: str, **over: Any):  # type: ignore[no-untyped-def]
    headers = over.pop("headers", {})
    return client.post(
        url(platform, "/moderation/notices"), json=notice_body(content_id, **over), headers=headers
    )


def decide(client, platform: PlatformView, token: str, item_id: str, decision: str = "remove", **over: Any):  # type: ignore[no-untyped-def]
    body = {
        "decision": decision,
        "facts": "the profile text calls another member a thief by name",
        "ground_kind": "terms",
        "ground": "terms §10: no insult of other members",
        "rules": RULES,
        **over,
    }
    return client.post(
        url(platform, f"/staff/moderation/items/{item_id}/decision"), json=body, headers=auth(token)
    )


def messages(
    runtime: Runtime, platform: PlatformView, template: str, recipient: str | None = None
) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        q = select(OutboxMessage).where(
            OutboxMessage.platform_id == platform.id, OutboxMessage.template == template
        )
        if recipient is not None:
            q = q.where(OutboxMessage.recipient == recipient)
        rows = list(db.scalars(q.order_by(OutboxMessage.id)))
        for r in rows:
            db.expunge(r)
        return rows


def make_platform(runtime: Runtime, settings: dict[str, Any] | None = None) -> PlatformView:
    slug = f"m-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms.create_platform(
            db, slug=slug, name=slug.title(), now=runtime.clock.now(), settings=settings
        )
