"""A small router mounted only in tests, to prove the API conventions on a real write path.

`POST /api/v1/platforms/{platform}/test-notes` writes one audit entry per run (so a test can
count how many times a handler really ran); `GET` lists them with cursor pagination;
`boom_router`'s `/test-boom` raises. `NOTES` lets a test pause the handler or make it fail once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.audit import service as audit
from entremise.audit.models import AuditEntry
from entremise.audit.service import Actor


class NoteIn(ApiModel):
    title: Annotated[Text, Field(min_length=1, max_length=100)]
    amount: Annotated[StrictInt, Field(ge=0, le=1_000_000)]
    tags: list[Annotated[Text, Field(max_length=20)]] = Field(default_factory=list, max_length=5)


class NoteOut(BaseModel):
    id: int
    title: str
    amount: int


class _Controls:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.pause = False
        self.fail_next = False


NOTES = _Controls()

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["test"])


@router.post("/test-notes", status_code=201, response_model=NoteOut)
def create_note(platform: CurrentPlatform, body: NoteIn, db: Db, now: Now, response: Response) -> NoteOut:
    with db.begin():
        entry = audit.record(
            db,
            platform_id=platform.id,
            actor=Actor("anonymous"),
            action="note.created",
            obj=("note", "n"),
            at=now,
            reason=body.title,
            data={"amount": body.amount},
        )
        db.flush()
        out = NoteOut(id=entry.id, title=body.title, amount=body.amount)
    if NOTES.pause:
        NOTES.entered.set()
        NOTES.release.wait(timeout=20)
    if NOTES.fail_next:
        NOTES.fail_next = False
        raise RuntimeError("simulated crash with secret internals")
    response.headers["Location"] = f"/api/v1/platforms/{platform.slug}/test-notes/{out.id}"
    return out


@router.get("/test-notes", response_model=Page[NoteOut])
def list_notes(platform: CurrentPlatform, page: Pagination, db: Db) -> Page[NoteOut]:
    after = page.position(int)
    with db.begin():
        q = select(AuditEntry).where(AuditEntry.platform_id == platform.id, AuditEntry.object_type == "note")
        if after is not None:
            q = q.where(AuditEntry.id > after)
        rows = list(db.scalars(q.order_by(AuditEntry.id).limit(page.fetch)))
    return paginate(
        rows,
        page,
        key=lambda r: r.id,
        shape=lambda r: NoteOut(id=r.id, title=r.reason, amount=r.data["amount"]),
    )


boom_router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["test"])


@boom_router.get("/test-boom")
def boom(platform: CurrentPlatform) -> dict[str, Any]:
    raise RuntimeError(f"secret internals of {platform.slug}")


def count_notes(runtime: Any, platform_id: str) -> int:
    with runtime.sessions() as db, db.begin():
        return int(
            db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.platform_id == platform_id, AuditEntry.object_type == "note")
            )
            or 0
        )


@contextmanager
def notes_client_for(runtime: Any) -> Iterator[TestClient]:
    """The real app with this router mounted too (use it in a fixture)."""
    from entremise.api.app import create_app

    NOTES.reset()
    with TestClient(
        create_app(runtime, extra_routers=[router, boom_router]), raise_server_exceptions=False
    ) as c:
        yield c
    NOTES.release.set()
    NOTES.reset()
