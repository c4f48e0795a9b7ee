"""The messages of claims, queued in the outbox in the caller's transaction.

The claimant is written to at their account's address; a provider who must answer, at theirs; a
claim the platform answers is announced to `claims.desk_email` when the platform set one (staff
also list every claim, and the overdue ones, through the API).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.claims.domain import Deadline
from entremise.claims.models import Claim
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView


def due_payload(due: Deadline) -> dict[str, Any]:
    return {
        "answer_due_at": due.at.isoformat(),
        "answer_due_day": due.last_day.isoformat() if due.last_day else None,
    }


def base_payload(platform: PlatformView, claim: Claim, due: Deadline) -> dict[str, Any]:
    kind = platform.settings.claims.kinds.get(claim.kind)
    return {
        "platform_name": platform.name,
        "reference": claim.reference,
        "label": kind.label if kind else claim.kind,
        "object": claim.object,
        **due_payload(due),
    }


def _enqueue(
    db: Session,
    platform: PlatformView,
    *,
    recipient: str,
    locale: str,
    user_id: str | None,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe: str,
) -> bool:
    enqueue(
        db,
        platform_id=platform.id,
        channel="email",
        template=template,
        recipient=recipient,
        payload=payload,
        now=now,
        locale=locale,
        user_id=user_id,
        dedupe_key=dedupe,
    )
    return True


def _send_to_user(
    db: Session,
    platform: PlatformView,
    user_id: str,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe: str,
) -> bool:
    contact = accounts.contact_of(db, platform.id, user_id)
    if not contact.email:
        return False  # a closed account has no address left
    return _enqueue(
        db,
        platform,
        recipient=contact.email,
        locale=contact.locale,
        user_id=user_id,
        template=template,
        payload=payload,
        now=now,
        dedupe=dedupe,
    )


def to_claimant(
    db: Session,
    platform: PlatformView,
    claim: Claim,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe: str,
) -> bool:
    return _send_to_user(
        db, platform, claim.claimant_id, template, payload, now, f"claims:{claim.id}:{dedupe}"
    )


def to_respondent(
    db: Session,
    platform: PlatformView,
    claim: Claim,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe: str,
) -> bool:
    """To the provider who must answer, or to the platform's claims desk (if it has one)."""
    key = f"claims:{claim.id}:{dedupe}"
    if claim.respondent == "provider" and claim.respondent_id:
        return _send_to_user(db, platform, claim.respondent_id, template, payload, now, key)
    desk = platform.settings.claims.desk_email
    if not desk:
        return False
    return _enqueue(
        db,
        platform,
        recipient=desk,
        locale=platform.settings.locale,
        user_id=None,
        template=template,
        payload=payload,
        now=now,
        dedupe=key,
    )
