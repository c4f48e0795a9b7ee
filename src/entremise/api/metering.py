"""Metered consultations over HTTP: providers' tariffs, starting a consultation now, my sessions,
hanging up, and each session's itemised statement (visible to its client, its provider and staff;
404 for anyone else)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt
from entremise.kernel.errors import Forbidden
from entremise.kernel.money import Money
from entremise.metering import service
from entremise.metering.service import SessionView, TariffView
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["metering"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
Cents = Annotated[StrictInt, Field(ge=0, le=10**9, description="minor units, all taxes included")]


class MoneyOut(BaseModel):
    amount: int = Field(description="minor units")
    currency: str

    @staticmethod
    def of(m: Money) -> MoneyOut:
        return MoneyOut(amount=m.amount, currency=m.currency)


class PackageIn(ApiModel):
    minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)]
    price: Cents


class TariffIn(ApiModel):
    rate_per_minute: Cents
    free_minutes: Annotated[StrictInt, Field(ge=0, le=600)] = Field(
        default=0, description="offered on a client's first consultation (CONSULT-GIFT-1)"
    )
    packages: list[PackageIn] = Field(default_factory=list, max_length=20, description="EXPERT-PRICE-2")
    phone: Annotated[str, Field(max_length=30)] | None = Field(
        default=None, description="the number phone consultations are bridged to"
    )
    commission_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = (
        Field(default=None, description="staff only: the platform's commission agreed with this provider")
    )


class PackageOut(BaseModel):
    minutes: int
    price: MoneyOut


class TariffOut(BaseModel):
    provider_id: str
    rate_per_minute: MoneyOut
    free_minutes: int
    packages: list[PackageOut]
    phone: str | None
    commission_percent: Decimal | None
    updated_at: datetime

    @staticmethod
    def of(v: TariffView, *, private: bool) -> TariffOut:
        return TariffOut(
            provider_id=v.provider_id,
            rate_per_minute=MoneyOut.of(v.rate_per_minute),
            free_minutes=v.free_minutes,
            packages=[PackageOut(minutes=m, price=MoneyOut.of(p)) for m, p in v.packages],
            phone=v.phone if private else None,
            commission_percent=v.commission_percent if private else None,
            updated_at=v.updated_at,
        )


class ScriptIn(ApiModel):
    """Sandbox provider only: how the call goes (see docs/telephony.md)."""

    answer_after: Annotated[StrictInt, Field(ge=0, le=86_400)] = 5
    duration: Annotated[StrictInt, Field(ge=0, le=86_400)] = 300
    outcome: Literal["answer", "drop", "no_answer", "busy", "fail"] = "answer"
    duplicate: bool = False
    reverse: bool = False
    record: bool = False


class StartIn(ApiModel):
    provider_id: Annotated[str, Field(min_length=1, max_length=36)]
    mode: Literal["phone", "video"]
    phone: Annotated[str, Field(max_length=30)] | None = Field(
        default=None, description="the client's number (phone mode; the account's number when absent)"
    )
    budget: Cents | None = Field(default=None, description="per-minute: the most the client allows")
    package_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] | None = Field(
        default=None, description="a package of the provider instead of per-minute (EXPERT-PRICE-2)"
    )
    sandbox: ScriptIn | None = None


class SessionOut(BaseModel):
    id: str
    state: str
    client_id: str
    provider_id: str
    appointment_id: str | None
    mode: str
    kind: str
    budget: MoneyOut
    max_seconds: int = Field(description="the longest the budget allows")
    to_mobile: bool
    answered_at: datetime | None
    ended_at: datetime | None
    billed_seconds: int | None
    total: MoneyOut | None
    join_urls: dict[str, str]
    created_at: datetime

    @staticmethod
    def of(v: SessionView) -> SessionOut:
        return SessionOut(
            id=v.id,
            state=v.state,
            client_id=v.client_id,
            provider_id=v.provider_id,
            appointment_id=v.appointment_id,
            mode=v.mode,
            kind=v.kind,
            budget=MoneyOut.of(v.budget),
            max_seconds=v.max_seconds,
            to_mobile=v.to_mobile,
            answered_at=v.answered_at,
            ended_at=v.ended_at,
            billed_seconds=v.billed_seconds,
            total=MoneyOut.of(v.total) if v.total is not None else None,
            join_urls=v.join_urls,
            created_at=v.created_at,
        )


def _is_staff(p: Principal) -> bool:
    return p.role == "staff"


@router.put(
    "/metering/tariffs/{provider_id}",
    response_model=TariffOut,
    summary="Set a provider's tariff (the provider, or staff; the commission is staff's)",
)
def set_tariff(
    provider_id: Id, body: TariffIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> TariffOut:
    with db.begin():
        view = service.set_tariff(
            db,
            platform=platform,
            provider_id=provider_id,
            actor_id=principal.user_id,
            is_staff=_is_staff(principal),
            rate_per_minute=body.rate_per_minute,
            free_minutes=body.free_minutes,
            packages=[(p.minutes, p.price) for p in body.packages],
            phone=body.phone,
            commission_percent=body.commission_percent,
            now=now,
        )
    return TariffOut.of(view, private=True)


@router.get("/metering/tariffs/{provider_id}", response_model=TariffOut, summary="A provider's tariff")
def get_tariff(provider_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> TariffOut:
    with db.begin():
        view = service.get_tariff(db, platform_id=platform.id, provider_id=provider_id)
    return TariffOut.of(view, private=_is_staff(principal) or principal.user_id == provider_id)


@router.post(
    "/metering/sessions",
    response_model=SessionOut,
    status_code=201,
    summary="Consult a provider now, by phone or video (EXPERT-CONSULT-1)",
)
def start(body: StartIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now) -> SessionOut:
    if principal.role != "client":
        raise Forbidden("only clients start a consultation")
    with db.begin():
        view = service.start(
            db,
            platform=platform,
            client_id=principal.user_id,
            provider_id=body.provider_id,
            mode=body.mode,
            phone=body.phone,
            budget=body.budget,
            package_minutes=body.package_minutes,
            options={"sandbox": body.sandbox.model_dump()} if body.sandbox else None,
            now=now,
        )
    return SessionOut.of(view)


@router.get(
    "/metering/sessions", response_model=Page[SessionOut], summary="My sessions (as client or provider)"
)
def list_sessions(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[SessionOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_sessions(
            db, platform_id=platform.id, user_id=principal.user_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda v: v.id, shape=SessionOut.of)


@router.get("/metering/sessions/{session_id}", response_model=SessionOut, summary="A session of mine")
def get_session(session_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> SessionOut:
    with db.begin():
        view = service.get_session(
            db,
            platform_id=platform.id,
            session_id=session_id,
            user_id=principal.user_id,
            is_staff=_is_staff(principal),
        )
    return SessionOut.of(view)


@router.post(
    "/metering/sessions/{session_id}/hang-up",
    response_model=SessionOut,
    summary="End a live session now (or cancel one still ringing)",
)
def hang_up(
    session_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> SessionOut:
    with db.begin():
        view = service.hang_up(
            db,
            platform_id=platform.id,
            session_id=session_id,
            user_id=principal.user_id,
            is_staff=_is_staff(principal),
            now=now,
        )
    return SessionOut.of(view)


@router.get(
    "/metering/sessions/{session_id}/statement",
    summary="The itemised statement of a session, each line with its rule IDs",
)
def get_statement(
    session_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db
) -> dict[str, Any]:
    with db.begin():
        return service.statement(
            db,
            platform_id=platform.id,
            session_id=session_id,
            user_id=principal.user_id,
            is_staff=_is_staff(principal),
        )
