"""Mediation: which mediator a consumer may turn to, and the (expired) EU ODR link.

Code de la consommation L612-1: every consumer may turn, free of charge, to a consumer mediator;
L616-1 and R616-1: the professional shows the mediator's contact details and web site. The seller
decides whose mediator it is: the platform where it resells the service (consult), each provider
where the provider is the seller (expert), who then declares their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.claims import domain
from entremise.claims.models import ProviderMediator
from entremise.claims.settings import ClaimsSettings, Mediator
from entremise.kernel.errors import Conflict, Forbidden, NotFound
from entremise.kernel.ids import new_id
from entremise.platforms.service import PlatformView


@dataclass(frozen=True)
class MediatorView:
    name: str
    address: str
    website: str
    email: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MediationInfo:
    """What a consumer is told: whose mediator applies, its contact details, and the ODR link while
    it was still to be shown (None after the date in the settings)."""

    seller: str  # platform | provider
    mediator: MediatorView | None
    odr_url: str | None

    def payload(self) -> dict[str, Any]:
        return {"mediator": self.mediator.as_dict() if self.mediator else None, "odr_url": self.odr_url}


def _from_settings(m: Mediator | None) -> MediatorView | None:
    return MediatorView(m.name, m.address, m.website, m.email) if m else None


def odr_url(settings: ClaimsSettings, now: datetime, timezone: str) -> str | None:
    """The EU ODR platform link, only before the date it stopped being shown (Regulation (EU)
    2024/3228 closed the platform on 20 July 2025)."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    odr = settings.mediation.odr
    return odr.url if domain.odr_link_shown(today, odr.shown_before) else None


def _provider_row(db: Session, platform_id: str, provider_id: str) -> ProviderMediator | None:
    return db.scalar(
        select(ProviderMediator).where(
            ProviderMediator.platform_id == platform_id, ProviderMediator.provider_id == provider_id
        )
    )


def mediation_for(
    db: Session, platform: PlatformView, provider_id: str | None, now: datetime
) -> MediationInfo:
    """The mediation a consumer dealing with `provider_id` (None: with the platform) may use."""
    settings = platform.settings.claims
    odr = odr_url(settings, now, platform.settings.timezone)
    if settings.mediation.seller == "provider" and provider_id is not None:
        row = _provider_row(db, platform.id, provider_id)
        mediator = MediatorView(row.name, row.address, row.website, row.email) if row else None
        return MediationInfo("provider", mediator, odr)
    return MediationInfo("platform", _from_settings(settings.mediation.mediator), odr)


def provider_page_mediation(
    db: Session, platform: PlatformView, provider_id: str, now: datetime
) -> MediationInfo:
    """CONSULT-MEDIATION-1: the mediator's contact details a provider's page shows.

    NotFound unless `provider_id` is an active provider of this platform."""
    try:
        user = accounts.get_user(db, platform_id=platform.id, user_id=provider_id)
    except NotFound:
        raise NotFound("no such provider") from None
    if user.role != "provider" or user.status != "active":
        raise NotFound("no such provider")
    return mediation_for(db, platform, provider_id, now)


def declare_provider_mediator(
    db: Session, *, platform: PlatformView, provider_id: str, role: str, mediator: Mediator, now: datetime
) -> MediationInfo:
    """A provider who is the seller declares the mediator their clients may turn to."""
    if role != "provider":
        raise Forbidden("only a provider declares their own mediator")
    if platform.settings.claims.mediation.seller != "provider":
        raise Conflict("on this platform the platform is the seller: its mediator applies to every claim")
    row = _provider_row(db, platform.id, provider_id)
    if row is None:
        row = ProviderMediator(id=new_id(), platform_id=platform.id, provider_id=provider_id)
        db.add(row)
    row.name, row.address, row.website, row.email = (
        mediator.name,
        mediator.address,
        mediator.website,
        mediator.email,
    )
    row.updated_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="claims.mediator_declared",
        obj=("user", provider_id),
        at=now,
        reason="the provider declared their consumer mediator",
        data=mediator.model_dump(),
    )
    return mediation_for(db, platform, provider_id, now)
