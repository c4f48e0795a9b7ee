"""Availability and appointments over HTTP.

Providers publish their week, their days off and extra hours, their buffers, notice and prices;
anyone lists a provider's free slots; a client books one (EXPERT-CONSULT-1), and either side
cancels (EXPERT-CANCEL-1, EXPERT-CANCEL-2). An appointment is visible to its client, its provider
and staff only (404 for anyone else).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Meta, Principal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.processes import actor_of
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.kernel.errors import FieldError, Forbidden, InvalidInput
from entremise.kernel.money import Money
from entremise.scheduling import domain, service
from entremise.scheduling.offers import OfferChoice
from entremise.scheduling.service import AppointmentView, ScheduleView
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["scheduling"])

UserId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
Hhmm = Annotated[
    str, Field(max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="local time HH:MM")
]
Minutes = Annotated[StrictInt, Field(ge=0, le=43_200)]
Cents = Annotated[StrictInt, Field(ge=0, le=10**9, description="minor units, all taxes included")]


class IntervalIn(ApiModel):
    start: Hhmm
    end: Hhmm


class IntervalOut(BaseModel):
    start: str
    end: str


def _intervals(items: list[IntervalIn]) -> list[domain.LocalInterval]:
    return [(domain.parse_hhmm(i.start), domain.parse_hhmm(i.end)) for i in items]


def _out_intervals(items: list[domain.LocalInterval]) -> list[IntervalOut]:
    return [IntervalOut(start=domain.format_hhmm(a), end=domain.format_hhmm(b)) for a, b in items]


class PackageIn(ApiModel):
    minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)]
    price: Cents


class MoneyOut(BaseModel):
    amount: int = Field(description="minor units")
    currency: str

    @staticmethod
    def of(m: Money) -> MoneyOut:
        return MoneyOut(amount=m.amount, currency=m.currency)


class ScheduleIn(ApiModel):
    weekly: dict[Annotated[str, Field(max_length=3)], Annotated[list[IntervalIn], Field(max_length=12)]] = (
        Field(
            default_factory=dict, max_length=7, description="mon..sun: intervals in the platform's local time"
        )
    )
    buffer_before_minutes: Minutes = 0
    buffer_after_minutes: Minutes = 0
    min_notice_minutes: Minutes | None = Field(default=None, description="the platform's default when absent")
    per_minute_rate: Cents | None = None
    packages: Annotated[list[PackageIn], Field(max_length=20)] = Field(default_factory=list)


class OverrideIn(ApiModel):
    closed: bool = False
    intervals: Annotated[list[IntervalIn], Field(max_length=12)] = Field(default_factory=list)


class OverrideOut(BaseModel):
    day: date
    closed: bool
    intervals: list[IntervalOut]


class PackageOut(BaseModel):
    minutes: int
    price: MoneyOut


class ScheduleOut(BaseModel):
    provider_id: str
    timezone: str
    weekly: dict[str, list[IntervalOut]]
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    per_minute_rate: MoneyOut | None
    packages: list[PackageOut]
    overrides: list[OverrideOut]
    updated_at: datetime

    @staticmethod
    def of(v: ScheduleView) -> ScheduleOut:
        return ScheduleOut(
            provider_id=v.provider_id,
            timezone=v.timezone,
            weekly={d: _out_intervals(i) for d, i in v.weekly.items()},
            buffer_before_minutes=v.buffer_before_minutes,
            buffer_after_minutes=v.buffer_after_minutes,
            min_notice_minutes=v.min_notice_minutes,
            per_minute_rate=MoneyOut.of(v.per_minute_rate) if v.per_minute_rate else None,
            packages=[PackageOut(minutes=m, price=MoneyOut.of(p)) for m, p in v.packages],
            overrides=[
                OverrideOut(day=o.day, closed=o.closed, intervals=_out_intervals(list(o.intervals)))
                for o in v.overrides
            ],
            updated_at=v.updated_at,
        )


def _provider(principal: Principal) -> str:
    if principal.role != "provider":
        raise Forbidden("only providers publish a schedule")
    return principal.user_id


@router.get("/scheduling/me", response_model=ScheduleOut, summary="My published schedule (providers)")
def my_schedule(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> ScheduleOut:
    with db.begin():
        return ScheduleOut.of(
            service.get_schedule(db, platform=platform, provider_id=_provider(principal), now=now)
        )


@router.put(
    "/scheduling/me",
    response_model=ScheduleOut,
    summary="Publish my weekly hours, buffers, notice and prices",
)
def publish_schedule(
    body: ScheduleIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ScheduleOut:
    provider_id = _provider(principal)
    weekly = {day: _intervals(items) for day, items in body.weekly.items()}
    with db.begin():
        view = service.set_schedule(
            db,
            platform=platform,
            provider_id=provider_id,
            weekly=weekly,
            buffer_before_minutes=body.buffer_before_minutes,
            buffer_after_minutes=body.buffer_after_minutes,
            min_notice_minutes=body.min_notice_minutes,
            per_minute_rate=body.per_minute_rate,
            packages=[(p.minutes, p.price) for p in body.packages],
            now=now,
        )
    return ScheduleOut.of(view)


@router.put(
    "/scheduling/me/days/{day}", response_model=ScheduleOut, summary="Close a day, or add hours to it"
)
def set_day(
    day: Annotated[date, Path(description="a local day, YYYY-MM-DD")],
    body: OverrideIn,
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> ScheduleOut:
    provider_id = _provider(principal)
    with db.begin():
        view = service.set_override(
            db,
            platform=platform,
            provider_id=provider_id,
            day=day,
            closed=body.closed,
            intervals=_intervals(body.intervals),
            now=now,
        )
    return ScheduleOut.of(view)


@router.delete("/scheduling/me/days/{day}", status_code=204, summary="That day follows the week again")
def clear_day(
    day: Annotated[date, Path(description="a local day, YYYY-MM-DD")],
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> Response:
    provider_id = _provider(principal)
    with db.begin():
        service.delete_override(db, platform=platform, provider_id=provider_id, day=day, now=now)
    return Response(status_code=204)


class SlotOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class SlotsOut(BaseModel):
    provider_id: str
    timezone: str
    kind: str
    minutes: int
    price: MoneyOut
    slots: list[SlotOut]


OfferKind = Literal["per_minute", "package"]


@router.get(
    "/providers/{provider_id}/slots",
    response_model=SlotsOut,
    summary="A provider's free slots for an offer, between two local days (EXPERT-CONSULT-1)",
)
def list_slots(
    provider_id: UserId,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    start: Annotated[date, Query(alias="from", description="first local day")],
    end: Annotated[date, Query(alias="to", description="last local day, included")],
    kind: Annotated[OfferKind, Query()] = "per_minute",
    minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 30,
) -> SlotsOut:
    with db.begin():
        listing = service.list_slots(
            db,
            platform=platform,
            provider_id=provider_id,
            first_day=start,
            last_day=end,
            choice=OfferChoice(kind, minutes),
            now=now,
        )
    return SlotsOut(
        provider_id=listing.provider_id,
        timezone=listing.timezone,
        kind=listing.terms.kind,
        minutes=listing.terms.minutes,
        price=MoneyOut.of(listing.terms.price),
        slots=[SlotOut(starts_at=s.start, ends_at=s.end) for s in listing.slots],
    )


class OfferIn(ApiModel):
    kind: OfferKind
    minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)]


class WaiverIn(ApiModel):
    accepted: bool
    text: Annotated[
        Text, Field(min_length=1, max_length=2000, description="the waiver text shown to the client")
    ]


class BookIn(ApiModel):
    provider_id: Annotated[Text, Field(min_length=1, max_length=36)]
    starts_at: datetime
    offer: OfferIn
    mode: Literal["video", "phone"] = "video"
    phone: Annotated[Text, Field(max_length=40)] | None = None
    withdrawal_waiver: WaiverIn | None = Field(
        default=None,
        description="COMMON-WITHDRAW-1: the client's express waiver, so the consultation may take place "
        "within the withdrawal period (EXPERT-CONSULT-1)",
    )


class AppointmentOut(BaseModel):
    id: str
    process_instance_id: str
    state: str
    provider_id: str
    client_id: str
    starts_at: datetime
    ends_at: datetime
    kind: str
    minutes: int
    mode: str
    phone: str | None
    price: MoneyOut
    platform_fee: MoneyOut
    charged: MoneyOut
    provider_fee: MoneyOut
    client_joined_at: datetime | None
    provider_joined_at: datetime | None
    outcome: dict[str, Any] | None = Field(description="the decision that ended it: rules, reason, amounts")
    withdrawal_deadline: datetime | None
    created_at: datetime

    @staticmethod
    def of(v: AppointmentView) -> AppointmentOut:
        return AppointmentOut(
            id=v.id,
            process_instance_id=v.instance_id,
            state=v.state,
            provider_id=v.provider_id,
            client_id=v.client_id,
            starts_at=v.starts_at,
            ends_at=v.ends_at,
            kind=v.kind,
            minutes=v.minutes,
            mode=v.mode,
            phone=v.phone,
            price=MoneyOut.of(v.price),
            platform_fee=MoneyOut.of(v.fee),
            charged=MoneyOut.of(v.charged),
            provider_fee=MoneyOut.of(v.provider_fee),
            client_joined_at=v.client_joined_at,
            provider_joined_at=v.provider_joined_at,
            outcome=v.outcome,
            withdrawal_deadline=v.withdrawal_deadline,
            created_at=v.created_at,
        )


@router.post(
    "/appointments", status_code=201, response_model=AppointmentOut, summary="Book a free slot (clients)"
)
def book(
    body: BookIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, meta: Meta
) -> AppointmentOut:
    if principal.role != "client":
        raise Forbidden("only clients book appointments")
    if body.withdrawal_waiver is not None and not body.withdrawal_waiver.accepted:
        raise InvalidInput(
            [FieldError("body.withdrawal_waiver.accepted", "must be true, or leave the waiver out")]
        )
    with db.begin():
        view = service.book(
            db,
            platform=platform,
            client_id=principal.user_id,
            provider_id=body.provider_id,
            starts_at=body.starts_at,
            choice=OfferChoice(body.offer.kind, body.offer.minutes),
            mode=body.mode,
            phone=body.phone,
            waiver_text=body.withdrawal_waiver.text if body.withdrawal_waiver else None,
            meta=meta,
            now=now,
        )
    return AppointmentOut.of(view)


@router.get(
    "/appointments", response_model=Page[AppointmentOut], summary="My appointments (as client or provider)"
)
def list_appointments(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[AppointmentOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_appointments(
            db, platform_id=platform.id, user_id=principal.user_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda v: v.id, shape=AppointmentOut.of)


AppointmentId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut, summary="An appointment of mine")
def get_appointment(
    appointment_id: AppointmentId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db
) -> AppointmentOut:
    with db.begin():
        view = service.get_appointment(
            db,
            platform_id=platform.id,
            appointment_id=appointment_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        )
    return AppointmentOut.of(view)


class CancelIn(ApiModel):
    on_behalf_of: Literal["client", "provider"] | None = Field(default=None, description="staff only")


@router.post(
    "/appointments/{appointment_id}/cancellation",
    response_model=AppointmentOut,
    summary="Cancel (EXPERT-CANCEL-1 for the client, EXPERT-CANCEL-2 for the provider); the answer says what it cost",
)
def cancel(
    appointment_id: AppointmentId,
    body: CancelIn,
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> AppointmentOut:
    with db.begin():
        view = service.cancel(
            db,
            platform_id=platform.id,
            appointment_id=appointment_id,
            actor=actor_of(principal),
            on_behalf_of=body.on_behalf_of,
            now=now,
        )
    return AppointmentOut.of(view)
