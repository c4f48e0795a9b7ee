"""Sanctions over HTTP (docs/sanctions.md): staff impose and lift; a user reads theirs and gives
the sworn statement a formal notice asks for. Another platform's staff see nothing (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, Text
from entremise.sanctions import domain, service

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["sanctions"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


class SanctionIn(ApiModel):
    user_id: Annotated[Text, Field(min_length=1, max_length=36)]
    kind: Literal[
        "formal_notice", "restriction", "suspension", "termination", "wallet_freeze", "registration_ban"
    ] = Field(description=", ".join(domain.KINDS))
    rules: list[Annotated[Text, Field(max_length=40)]] = Field(min_length=1, max_length=20)
    facts: Annotated[Text, Field(min_length=1, max_length=5000)]
    ground: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None
    ground_kind: Literal["law", "terms"] = "terms"


class SanctionOut(BaseModel):
    id: str
    user_id: str
    kind: str
    status: str
    rules: list[str]
    facts: str
    ground: str
    decided_by: str | None
    decided_at: datetime
    cure_until: datetime | None
    sworn_at: datetime | None
    effects: dict[str, Any]
    statement_id: str | None
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None

    @staticmethod
    def of(v: service.SanctionView) -> SanctionOut:
        return SanctionOut(**v.__dict__)


class LiftIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=5000)]


class SwornIn(ApiModel):
    text: Annotated[Text, Field(min_length=1, max_length=5000)]


@router.post(
    "/staff/sanctions", status_code=201, response_model=SanctionOut, summary="Impose a sanction (staff)"
)
def impose(
    body: SanctionIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep
) -> SanctionOut:
    with db.begin():
        v = service.impose(
            db,
            platform_id=platform.id,
            user_id=body.user_id,
            kind=body.kind,
            rules=list(body.rules),
            facts=body.facts,
            ground=body.ground,
            ground_kind=body.ground_kind,
            decided_by=staff.user_id,
            now=now,
            base_url=runtime.settings.base_url,
        )
    return SanctionOut.of(v)


@router.get("/staff/sanctions", response_model=Page[SanctionOut], summary="Sanctions (staff)")
def list_sanctions(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    user_id: Annotated[str | None, Query(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] = None,
    status: Annotated[Literal["active", "lifted"] | None, Query()] = None,
) -> Page[SanctionOut]:
    with db.begin():
        rows = service.list_sanctions(
            db,
            platform_id=platform.id,
            user_id=user_id,
            status=status,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=SanctionOut.of)


@router.get("/staff/sanctions/{sanction_id}", response_model=SanctionOut, summary="One sanction (staff)")
def get_sanction(sanction_id: Id, _staff: StaffPrincipal, platform: CurrentPlatform, db: Db) -> SanctionOut:
    with db.begin():
        return SanctionOut.of(service.get(db, platform_id=platform.id, sanction_id=sanction_id))


@router.post(
    "/staff/sanctions/{sanction_id}/lift", response_model=SanctionOut, summary="Lift a sanction (staff)"
)
def lift(
    sanction_id: Id, body: LiftIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> SanctionOut:
    with db.begin():
        v = service.lift(
            db,
            platform_id=platform.id,
            sanction_id=sanction_id,
            lifted_by=staff.user_id,
            reason=body.reason,
            now=now,
        )
    return SanctionOut.of(v)


@router.get("/me/sanctions", response_model=list[SanctionOut], summary="The sanctions about me")
def my_sanctions(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> list[SanctionOut]:
    with db.begin():
        rows = service.list_sanctions(db, platform_id=platform.id, user_id=principal.user_id, limit=1000)
    return [SanctionOut.of(v) for v in rows]


@router.post(
    "/me/sanctions/{sanction_id}/sworn-statement",
    response_model=SanctionOut,
    summary="Answer a formal notice (CONSULT-SANCTION-1)",
)
def sworn(
    sanction_id: Id, body: SwornIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> SanctionOut:
    with db.begin():
        v = service.sworn_statement(
            db,
            platform_id=platform.id,
            sanction_id=sanction_id,
            user_id=principal.user_id,
            text=body.text,
            now=now,
        )
    return SanctionOut.of(v)
