"""Terms API: read, publish (staff), accept, terminate on a change; withdrawal deadline and waiver."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Meta, StaffPrincipal
from entremise.api.accounts import UserOut, _out
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.schemas import ApiModel, Text
from entremise.audit.service import Actor
from entremise.terms import service
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["terms"])

Audience = Annotated[str, Path(pattern="^(client|provider|business)$")]
Version = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
ObjType = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
ObjId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class TermsOut(BaseModel):
    audience: str
    version: str
    text: str
    announced_at: datetime
    effective_at: datetime
    in_force: bool


def _terms_out(t: service.TermsView, now: datetime) -> TermsOut:
    return TermsOut(
        audience=t.audience,
        version=t.version,
        text=t.text,
        announced_at=t.announced_at,
        effective_at=t.effective_at,
        in_force=t.effective_at <= now,
    )


@router.get("/terms/{audience}", response_model=TermsOut, summary="The terms in force for an audience")
def terms_in_force(audience: Audience, platform: CurrentPlatform, db: Db, now: Now) -> TermsOut:
    with db.begin():
        t = service.version_in_force(db, platform_id=platform.id, audience=audience, now=now)
    if t is None:
        from entremise.kernel.errors import NotFound

        raise NotFound(f"no {audience} terms are in force")
    return _terms_out(t, now)


@router.get("/terms/{audience}/{version}", response_model=TermsOut, summary="One version of the terms")
def terms_version(
    audience: Audience, version: Version, platform: CurrentPlatform, db: Db, now: Now
) -> TermsOut:
    with db.begin():
        t = service.get_version(db, platform_id=platform.id, audience=audience, version=version)
    return _terms_out(t, now)


class PublishIn(ApiModel):
    version: Annotated[Text, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
    text: Annotated[Text, Field(min_length=1, max_length=500_000)]
    effective_at: AwareDatetime


@router.post(
    "/staff/terms/{audience}", status_code=201, response_model=TermsOut, summary="Publish a version (staff)"
)
def publish(
    audience: Audience,
    body: PublishIn,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
) -> TermsOut:
    with db.begin():
        t = service.publish(
            db,
            platform=platform,
            audience=audience,
            version=body.version,
            text=body.text,
            effective_at=body.effective_at,
            actor=Actor("staff", staff.user_id),
            base_url=runtime.settings.base_url,
            now=now,
        )
    return _terms_out(t, now)


class AcceptIn(ApiModel):
    accepted: bool


@router.post(
    "/terms/{audience}/{version}/acceptance",
    status_code=201,
    response_model=TermsOut,
    summary="Accept a version (the ticked checkbox: accepted must be true)",
)
def accept(
    audience: Audience,
    version: Version,
    body: AcceptIn,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    meta: Meta,
) -> TermsOut:
    with db.begin():
        t = service.accept(
            db,
            platform=platform,
            user_id=principal.user_id,
            role=principal.role,
            audience=audience,
            version=version,
            accepted=body.accepted,
            meta=meta,
            now=now,
        )
    return _terms_out(t, now)


@router.post(
    "/me/terms-termination", response_model=UserOut, summary="Leave because of new terms (COMMON-TERMS-2)"
)
def terminate(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> UserOut:
    with db.begin():
        user = service.terminate(
            db, platform=platform, user_id=principal.user_id, role=principal.role, now=now
        )
    return _out(user)


class WithdrawalOut(BaseModel):
    object_type: str
    object_id: str
    concluded_at: datetime
    deadline: datetime
    open: bool
    waived_at: datetime | None
    waiver_text: str | None
    rules: list[str]


def _w(v: service.WithdrawalView) -> WithdrawalOut:
    return WithdrawalOut(
        object_type=v.object_type,
        object_id=v.object_id,
        concluded_at=v.concluded_at,
        deadline=v.deadline,
        open=v.open,
        waived_at=v.waived_at,
        waiver_text=v.waiver_text,
        rules=list(v.rules),
    )


@router.get(
    "/withdrawal/{object_type}/{object_id}", response_model=WithdrawalOut, summary="My withdrawal deadline"
)
def withdrawal(
    object_type: ObjType,
    object_id: ObjId,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> WithdrawalOut:
    with db.begin():
        v = service.withdrawal_status(
            db,
            platform_id=platform.id,
            object_type=object_type,
            object_id=object_id,
            user_id=principal.user_id,
            now=now,
        )
    return _w(v)


class WaiverIn(ApiModel):
    waiver_text: Annotated[Text, Field(min_length=1, max_length=5000)]
    accepted: bool


@router.post(
    "/withdrawal/{object_type}/{object_id}/waiver",
    status_code=201,
    response_model=WithdrawalOut,
    summary="Waive my withdrawal right so the service starts at once (COMMON-WITHDRAW-1)",
)
def waive(
    object_type: ObjType,
    object_id: ObjId,
    body: WaiverIn,
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    meta: Meta,
) -> WithdrawalOut:
    from entremise.kernel.errors import FieldError, InvalidInput

    if body.accepted is not True:
        raise InvalidInput(
            [FieldError("body.accepted", "must be true: the waiver is express")], rules=["COMMON-WITHDRAW-1"]
        )
    with db.begin():
        v = service.record_waiver(
            db,
            platform_id=platform.id,
            object_type=object_type,
            object_id=object_id,
            user_id=principal.user_id,
            waiver_text=body.waiver_text,
            meta=meta,
            now=now,
        )
    return _w(v)
