"""Audit trail API (staff only): COMMON-EVIDENCE-1."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from entremise.accounts.auth import StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db
from entremise.api.pagination import decode_cursor, encode_cursor
from entremise.api.schemas import Page
from entremise.audit.service import list_entries
from entremise.kernel.errors import FieldError, InvalidInput

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["audit"])


@router.get("/audit", response_model=Page, summary="The audit trail, oldest first (staff)")
def audit(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[dict[str, Any]]:
    after = decode_cursor(cursor)
    if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")])
    with db.begin():
        rows = list_entries(
            db,
            platform_id=platform.id,
            object_type=object_type,
            object_id=object_id,
            actor_id=actor_id,
            after_id=after,
            limit=limit + 1,
        )
    items = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor_type": r.actor_type,
            "actor_id": r.actor_id,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "rules": list(r.rules),
            "reason": r.reason,
            "data": r.data,
        }
        for r in rows[:limit]
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
