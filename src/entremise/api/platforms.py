"""Public list of the platforms this deployment hosts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from entremise.api.deps import CurrentPlatform, Db
from entremise.platforms import service

router = APIRouter(prefix="/api/v1", tags=["platforms"])


class PlatformOut(BaseModel):
    slug: str
    name: str
    locale: str
    timezone: str


@router.get("/platforms", response_model=list[PlatformOut], summary="Platforms hosted here")
def list_platforms(db: Db) -> list[PlatformOut]:
    with db.begin():
        rows = service.list_platforms(db)
    return [
        PlatformOut(slug=p.slug, name=p.name, locale=p.settings.locale, timezone=p.settings.timezone)
        for p in rows
    ]


@router.get("/platforms/{platform}", response_model=PlatformOut, summary="One platform")
def get_platform(platform: CurrentPlatform) -> PlatformOut:
    return PlatformOut(
        slug=platform.slug,
        name=platform.name,
        locale=platform.settings.locale,
        timezone=platform.settings.timezone,
    )
