"""Use cases for platforms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.platforms.models import Platform
from entremise.platforms.settings import PlatformSettings

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


@dataclass(frozen=True)
class PlatformView:
    id: str
    slug: str
    name: str
    settings: PlatformSettings


def _view(row: Platform) -> PlatformView:
    return PlatformView(row.id, row.slug, row.name, PlatformSettings.model_validate(row.settings))


def parse_settings(raw: dict[str, Any] | None) -> PlatformSettings:
    try:
        return PlatformSettings.model_validate(raw or {})
    except ValidationError as exc:
        raise InvalidInput(
            [FieldError("settings." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc


def create_platform(
    db: Session, *, slug: str, name: str, now: datetime, settings: dict[str, Any] | None = None
) -> PlatformView:
    if not SLUG.match(slug):
        raise InvalidInput(
            [FieldError("slug", "lowercase letters, digits and dashes, 2 to 40, starting with a letter")]
        )
    parsed = parse_settings(settings)
    if db.scalar(select(Platform.id).where(Platform.slug == slug)):
        raise Conflict(f"a platform named {slug!r} exists")
    row = Platform(id=new_id(), slug=slug, name=name, settings=parsed.model_dump(mode="json"), created_at=now)
    db.add(row)
    db.flush()
    record(db, platform_id=row.id, actor=None, action="platform.created", obj=("platform", row.id), at=now)
    return _view(row)


def get_by_slug(db: Session, slug: str) -> PlatformView:
    row = db.scalar(select(Platform).where(Platform.slug == slug))
    if row is None:
        raise NotFound(f"no platform {slug!r}")
    return _view(row)


def get(db: Session, platform_id: str, *, lock: bool = False) -> PlatformView:
    """A platform; with `lock`, its row is locked until the transaction ends (settings changes)."""
    row = db.get(Platform, platform_id, with_for_update=lock)
    if row is None:
        raise NotFound("no such platform")
    return _view(row)


def list_platforms(db: Session) -> list[PlatformView]:
    return [_view(r) for r in db.scalars(select(Platform).order_by(Platform.slug))]


def update_settings(
    db: Session,
    *,
    platform_id: str,
    settings: PlatformSettings,
    actor: Actor,
    now: datetime,
    rules: Sequence[str] = (),
    data: dict[str, Any] | None = None,
) -> PlatformView:
    """Replace a platform's settings (already validated), recorded in the audit trail."""
    row = db.get(Platform, platform_id, with_for_update=True)
    if row is None:
        raise NotFound("no such platform")
    row.settings = settings.model_dump(mode="json")
    db.flush()
    record(
        db,
        platform_id=row.id,
        actor=actor,
        action="platform.settings_changed",
        obj=("platform", row.id),
        at=now,
        rules=rules,
        data=data,
    )
    return _view(row)
