"""Writing and reading the audit trail. There is deliberately no update or delete function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.audit.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (by role), a staff member, or the system (timers, worker)."""

    type: str  # user | staff | system | anonymous
    id: str | None = None

    @staticmethod
    def system() -> Actor:
        return Actor("system")


def record(
    db: Session,
    *,
    platform_id: str,
    actor: Actor | None,
    action: str,
    obj: tuple[str, str],
    at: datetime,
    rules: Sequence[str] = (),
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, in the caller's transaction (so it commits or rolls back with the change)."""
    actor = actor or Actor.system()
    entry = AuditEntry(
        platform_id=platform_id,
        at=at,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        object_type=obj[0],
        object_id=obj[1],
        rules=list(rules),
        reason=reason,
        data=data or {},
    )
    db.add(entry)
    return entry


def list_entries(
    db: Session,
    *,
    platform_id: str,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    q = select(AuditEntry).where(AuditEntry.platform_id == platform_id)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if object_id:
        q = q.where(AuditEntry.object_id == object_id)
    if actor_id:
        q = q.where(AuditEntry.actor_id == actor_id)
    if after_id is not None:
        q = q.where(AuditEntry.id > after_id)
    return list(db.scalars(q.order_by(AuditEntry.id).limit(limit)))
