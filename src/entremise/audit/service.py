"""Writing and reading the audit trail. There is deliberately no update or delete function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from entremise.audit.models import AuditEntry
from entremise.db.prepared import Prepared


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (by role), a staff member, or the system (timers, worker)."""

    type: str  # user | staff | system | anonymous
    id: str | None = None

    @staticmethod
    def system() -> Actor:
        return Actor("system")


_SYSTEM = Actor.system()


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
    entry = AuditEntry(**_values(platform_id, actor, action, obj, at, rules, reason, data))
    db.add(entry)
    return entry


def _values(
    platform_id: str,
    actor: Actor | None,
    action: str,
    obj: tuple[str, str],
    at: datetime,
    rules: Sequence[str],
    reason: str,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    actor = actor or _SYSTEM
    return {
        "platform_id": platform_id,
        "at": at,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "action": action,
        "object_type": obj[0],
        "object_id": obj[1],
        "rules": list(rules),
        "reason": reason,
        "data": data or {},
    }


_AUDIT = cast(Table, AuditEntry.__table__)
_APPEND = Prepared(
    insert(_AUDIT).values({c.name: bindparam(c.name) for c in _AUDIT.c if c.name != "id"}).inline()
)


def append(
    db: Session | Connection,
    *,
    platform_id: str,
    actor: Actor | None,
    action: str,
    obj: tuple[str, str],
    at: datetime,
    rules: Sequence[str] = (),
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """The entry `record` writes, inserted at once with one Core statement and no ORM object, for
    hot paths (ledger postings). Same transaction (given as the session or its connection), same
    row; nothing is returned."""
    conn = db if isinstance(db, Connection) else db.connection()
    _APPEND.run(conn, _values(platform_id, actor, action, obj, at, rules, reason, data))


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
