"""Packs and a platform's effective settings: every figure with the rule IDs it implements.

Anyone may read a platform's figures (they are the executable part of its public terms); only
staff change them, by dotted path, each refusal naming the setting (`body.settings.<path>`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from entremise.accounts.auth import StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.schemas import ApiModel, Text
from entremise.audit.service import Actor
from entremise.packs import registry, service
from entremise.packs.base import Pack
from entremise.packs.consult import service as consult_service

# every pack's hooks (refund policies, registration checks) are registered when the API starts
registry.all_packs()

router = APIRouter(prefix="/api/v1", tags=["packs"])


class PackOut(BaseModel):
    name: str
    label: str
    description: str
    rules: list[str]
    processes: list[str]
    policies: list[str]
    claims_presets: list[str]
    templates: list[str]
    audiences: list[str]


def _pack_out(p: Pack) -> PackOut:
    return PackOut(
        name=p.name,
        label=p.label,
        description=p.description,
        rules=list(p.rules),
        processes=list(p.processes),
        policies=sorted(p.policies),
        claims_presets=list(p.claims_presets),
        templates=list(p.templates),
        audiences=p.audiences(),
    )


class FigureOut(BaseModel):
    path: str = Field(description="dotted path in the platform's settings")
    value: Any
    default: Any = Field(description="the pack's figure")
    overridden: bool
    rules: list[str]
    description: str


class SettingsOut(BaseModel):
    platform: str
    pack: str | None
    figures: list[FigureOut]


class SettingsIn(ApiModel):
    settings: dict[str, Any] = Field(
        description='new values by dotted path, e.g. {"pack_settings.connection_fee": 150}', max_length=100
    )


@router.get("/packs", response_model=list[PackOut], summary="The packs this engine ships")
def list_packs() -> list[PackOut]:
    return [_pack_out(p) for p in registry.all_packs()]


def _settings_out(slug: str, pack: Pack | None, figures: list[service.EffectiveFigure]) -> SettingsOut:
    return SettingsOut(
        platform=slug,
        pack=pack.name if pack else None,
        figures=[
            FigureOut(
                path=f.path,
                value=f.value,
                default=f.default,
                overridden=f.overridden,
                rules=list(f.rules),
                description=f.description,
            )
            for f in figures
        ],
    )


@router.get(
    "/platforms/{platform}/settings",
    response_model=SettingsOut,
    summary="The platform's figures, with the rule IDs behind each",
)
def get_settings(platform: CurrentPlatform) -> SettingsOut:
    pack, figures = service.effective_settings(platform)
    return _settings_out(platform.slug, pack, figures)


@router.patch(
    "/platforms/{platform}/settings",
    response_model=SettingsOut,
    summary="Override figures of the platform (staff)",
)
def override_settings(
    body: SettingsIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> SettingsOut:
    with db.begin():
        pack, figures = service.override(
            db, platform=platform, changes=body.settings, actor=Actor("staff", staff.user_id), now=now
        )
    return _settings_out(platform.slug, pack, figures)


class FormalNoticeIn(ApiModel):
    user_id: Annotated[Text, Field(min_length=1, max_length=36)]
    grievances: Annotated[Text, Field(min_length=1, max_length=5000)]


class FormalNoticeOut(BaseModel):
    id: str
    user_id: str
    grievances: str
    remedy_due: datetime
    rules: list[str]
    reason: str


@router.post(
    "/platforms/{platform}/staff/consult/formal-notices",
    status_code=201,
    response_model=FormalNoticeOut,
    summary="Send a formal notice to remedy a breach (staff, consult pack: CONSULT-SANCTION-1)",
)
def formal_notice(
    body: FormalNoticeIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> FormalNoticeOut:
    with db.begin():
        v = consult_service.formal_notice(
            db,
            platform=platform,
            user_id=body.user_id,
            grievances=body.grievances,
            actor=Actor("staff", staff.user_id),
            now=now,
        )
    return FormalNoticeOut(
        id=v.id,
        user_id=v.user_id,
        grievances=v.grievances,
        remedy_due=v.remedy_due,
        rules=list(v.rules),
        reason=v.reason,
    )
