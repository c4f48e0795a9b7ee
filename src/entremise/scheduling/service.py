"""Availability and appointments use cases. Each runs in the caller's transaction (`with db.begin():`).

No double booking: `book` locks the provider's schedule row (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` already admits one writer), then reads the provider's
active appointments, checks the slot and inserts, so two bookings of one provider run one after the
other and the second sees the first. Locks are taken in one order everywhere: the schedule row,
then the process instance, then the appointment row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import domain as accounts_domain
from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta
from entremise.audit.service import Actor, record
from entremise.booking import service as processes
from entremise.booking.service import ProcessActor
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.scheduling import domain, funding, offers
from entremise.scheduling import process as appointment_process
from entremise.scheduling.domain import Availability, BookingWindow, Buffers, LocalInterval, Override, Span
from entremise.scheduling.models import Appointment, AvailabilityOverride, ProviderSchedule
from entremise.scheduling.offers import OfferChoice
from entremise.terms import service as terms

MAX_SLOTS = 500
MODES = ("video", "phone")


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleView:
    provider_id: str
    weekly: dict[str, list[LocalInterval]]
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    per_minute_rate: Money | None
    packages: list[tuple[int, Money]]
    overrides: list[Override]
    timezone: str
    updated_at: datetime


@dataclass(frozen=True)
class AppointmentView:
    id: str
    instance_id: str
    state: str
    provider_id: str
    client_id: str
    starts_at: datetime
    ends_at: datetime
    kind: str
    minutes: int
    mode: str
    phone: str | None
    price: Money
    fee: Money
    charged: Money
    provider_fee: Money
    client_joined_at: datetime | None
    provider_joined_at: datetime | None
    outcome: dict[str, Any] | None
    withdrawal_deadline: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SlotListing:
    provider_id: str
    timezone: str
    terms: domain.Terms
    slots: list[Span]


def _aview(db: Session, row: Appointment) -> AppointmentView:
    c = row.currency
    instance = processes.get_instance(db, row.platform_id, row.instance_id) if row.instance_id else None
    return AppointmentView(
        id=row.id,
        instance_id=row.instance_id,
        state=row.state,
        provider_id=row.provider_id,
        client_id=row.client_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        kind=row.kind,
        minutes=row.minutes,
        mode=row.mode,
        phone=row.phone,
        price=Money(row.price, c),
        fee=Money(row.fee, c),
        charged=Money(row.charged, c),
        provider_fee=Money(row.provider_fee, c),
        client_joined_at=row.client_joined_at,
        provider_joined_at=row.provider_joined_at,
        outcome=(instance.data.get("outcome") if instance else None),
        withdrawal_deadline=row.withdrawal_deadline,
        created_at=row.created_at,
    )


def _tz(platform: PlatformView) -> ZoneInfo:
    return ZoneInfo(platform.settings.timezone)


# --- the provider's schedule ------------------------------------------------------------------


def _schedule_row(
    db: Session, platform_id: str, provider_id: str, *, lock: bool = False
) -> ProviderSchedule | None:
    q = select(ProviderSchedule).where(
        ProviderSchedule.platform_id == platform_id, ProviderSchedule.provider_id == provider_id
    )
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    return db.scalar(q)


def _require_provider(db: Session, platform: PlatformView, user_id: str) -> None:
    try:
        user = accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    except NotFound:
        raise NotFound("no such provider") from None
    if user.role != "provider" or user.status != "active":
        raise NotFound("no such provider")


def _overrides(
    db: Session, platform_id: str, provider_id: str, first: date | None = None, last: date | None = None
) -> list[Override]:
    q = select(AvailabilityOverride).where(
        AvailabilityOverride.platform_id == platform_id, AvailabilityOverride.provider_id == provider_id
    )
    if first is not None:
        q = q.where(AvailabilityOverride.day >= first)
    if last is not None:
        q = q.where(AvailabilityOverride.day <= last)
    return [
        Override(r.day, r.closed, tuple((int(a), int(b)) for a, b in r.intervals))
        for r in db.scalars(q.order_by(AvailabilityOverride.day))
    ]


def _sview(db: Session, platform: PlatformView, row: ProviderSchedule, today: date) -> ScheduleView:
    c = row.currency
    return ScheduleView(
        provider_id=row.provider_id,
        weekly={d: [(int(a), int(b)) for a, b in row.weekly.get(d, [])] for d in domain.WEEKDAYS},
        buffer_before_minutes=row.buffer_before_minutes,
        buffer_after_minutes=row.buffer_after_minutes,
        min_notice_minutes=row.min_notice_minutes,
        per_minute_rate=Money(row.per_minute_rate, c) if row.per_minute_rate is not None else None,
        packages=[(int(p["minutes"]), Money(int(p["price"]), c)) for p in row.packages],
        overrides=_overrides(db, platform.id, row.provider_id, first=today),
        timezone=platform.settings.timezone,
        updated_at=row.updated_at,
    )


def _check_intervals(intervals: Sequence[LocalInterval], field: str) -> list[FieldError]:
    return [FieldError(f"{field}.{i}", reason) for i, reason in domain.interval_problems(intervals)]


def set_schedule(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    weekly: Mapping[str, Sequence[LocalInterval]],
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    min_notice_minutes: int | None,
    per_minute_rate: int | None,
    packages: Sequence[tuple[int, int]],
    now: datetime,
) -> ScheduleView:
    """Publish (or replace) the provider's weekly hours, buffers, notice and prices."""
    s = platform.settings.scheduling
    _require_provider(db, platform, provider_id)
    errors: list[FieldError] = []
    for day, intervals in weekly.items():
        if day not in domain.WEEKDAYS:
            errors.append(FieldError(f"body.weekly.{day}", f"one of {', '.join(domain.WEEKDAYS)}"))
        else:
            errors += _check_intervals(intervals, f"body.weekly.{day}")
    for name, value in (
        ("buffer_before_minutes", buffer_before_minutes),
        ("buffer_after_minutes", buffer_after_minutes),
    ):
        if not 0 <= value <= s.buffer_minutes_max:
            errors.append(
                FieldError(f"body.{name}", f"from 0 to {s.buffer_minutes_max} minutes on this platform")
            )
    notice = s.min_notice_minutes_default if min_notice_minutes is None else min_notice_minutes
    if not s.min_notice_minutes_floor <= notice <= s.min_notice_minutes_ceiling:
        errors.append(
            FieldError(
                "body.min_notice_minutes",
                f"from {s.min_notice_minutes_floor} to {s.min_notice_minutes_ceiling} minutes on this platform",
            )
        )
    seen: set[int] = set()
    for i, (minutes, price) in enumerate(packages):
        if not s.package_min_minutes <= minutes <= s.package_max_minutes:
            errors.append(
                FieldError(
                    f"body.packages.{i}.minutes",
                    f"from {s.package_min_minutes} to {s.package_max_minutes} minutes",
                )
            )
        if minutes in seen:
            errors.append(FieldError(f"body.packages.{i}.minutes", "two packages of the same length"))
        seen.add(minutes)
        if price < s.fee_per_package:
            errors.append(FieldError(f"body.packages.{i}.price", "below the platform's fee on a package"))
    if per_minute_rate is not None and per_minute_rate < s.fee_per_minute:
        errors.append(FieldError("body.per_minute_rate", "below the platform's fee per minute"))
    if errors:
        raise InvalidInput(
            errors, rules=["EXPERT-PRICE-2"] if any("packages" in e.field for e in errors) else []
        )
    row = _schedule_row(db, platform.id, provider_id, lock=True)
    if row is None:
        row = ProviderSchedule(
            id=new_id(), platform_id=platform.id, provider_id=provider_id, currency=s.currency
        )
        db.add(row)
    row.weekly = {d: [list(i) for i in sorted(weekly.get(d, ()))] for d in domain.WEEKDAYS if weekly.get(d)}
    row.buffer_before_minutes = buffer_before_minutes
    row.buffer_after_minutes = buffer_after_minutes
    row.min_notice_minutes = notice
    row.per_minute_rate = per_minute_rate
    row.packages = [{"minutes": m, "price": p} for m, p in sorted(packages)]
    row.updated_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="schedule.published",
        obj=("provider_schedule", row.id),
        at=now,
        data={"weekly": row.weekly, "min_notice_minutes": notice, "packages": row.packages},
    )
    return _sview(db, platform, row, now.astimezone(_tz(platform)).date())


def get_schedule(db: Session, *, platform: PlatformView, provider_id: str, now: datetime) -> ScheduleView:
    row = _schedule_row(db, platform.id, provider_id)
    if row is None:
        raise NotFound("no schedule published yet")
    return _sview(db, platform, row, now.astimezone(_tz(platform)).date())


def _override_row(db: Session, platform_id: str, provider_id: str, day: date) -> AvailabilityOverride | None:
    return db.scalar(
        select(AvailabilityOverride).where(
            AvailabilityOverride.platform_id == platform_id,
            AvailabilityOverride.provider_id == provider_id,
            AvailabilityOverride.day == day,
        )
    )


def set_override(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    day: date,
    closed: bool,
    intervals: Sequence[LocalInterval],
    now: datetime,
) -> ScheduleView:
    """One local day differs from the week: closed, and/or extra hours."""
    if _schedule_row(db, platform.id, provider_id, lock=True) is None:
        raise Conflict("publish a weekly schedule first")
    errors = _check_intervals(intervals, "body.intervals")
    if not closed and not intervals:
        errors.append(FieldError("body.intervals", "give extra hours, or close the day"))
    if day < now.astimezone(_tz(platform)).date():
        errors.append(FieldError("path.day", "this day is in the past"))
    if errors:
        raise InvalidInput(errors)
    row = _override_row(db, platform.id, provider_id, day)
    if row is None:
        row = AvailabilityOverride(id=new_id(), platform_id=platform.id, provider_id=provider_id, day=day)
        db.add(row)
    row.closed = closed
    row.intervals = [list(i) for i in sorted(intervals)]
    row.updated_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="schedule.override_set",
        obj=("availability_override", row.id),
        at=now,
        data={"day": day.isoformat(), "closed": closed, "intervals": row.intervals},
    )
    return get_schedule(db, platform=platform, provider_id=provider_id, now=now)


def delete_override(
    db: Session, *, platform: PlatformView, provider_id: str, day: date, now: datetime
) -> None:
    row = _override_row(db, platform.id, provider_id, day)
    if row is None:
        raise NotFound("no change on that day")
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="schedule.override_removed",
        obj=("availability_override", row.id),
        at=now,
        data={"day": day.isoformat()},
    )
    db.delete(row)
    db.flush()


# --- free slots ---------------------------------------------------------------------------------


def _availability(
    db: Session, platform: PlatformView, row: ProviderSchedule, first: date, last: date
) -> Availability:
    weekly = {d: [(int(a), int(b)) for a, b in v] for d, v in row.weekly.items()}
    overrides = {o.day: o for o in _overrides(db, platform.id, row.provider_id, first, last)}
    return Availability(weekly, overrides, _tz(platform))


def _busy(db: Session, platform_id: str, provider_id: str, start: datetime, end: datetime) -> list[Span]:
    rows = db.execute(
        select(Appointment.blocked_from, Appointment.blocked_until).where(
            Appointment.platform_id == platform_id,
            Appointment.provider_id == provider_id,
            Appointment.active.is_(True),
            Appointment.blocked_from < end,
            Appointment.blocked_until > start,
        )
    ).all()
    return [Span(a, b) for a, b in rows]


def _window(platform: PlatformView, row: ProviderSchedule, now: datetime) -> BookingWindow:
    return BookingWindow(
        now=now,
        min_notice=timedelta(minutes=row.min_notice_minutes),
        max_ahead=timedelta(days=platform.settings.scheduling.max_days_ahead),
    )


def _buffers(row: ProviderSchedule) -> Buffers:
    return Buffers(timedelta(minutes=row.buffer_before_minutes), timedelta(minutes=row.buffer_after_minutes))


def list_slots(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    first_day: date,
    last_day: date,
    choice: OfferChoice,
    now: datetime,
) -> SlotListing:
    """EXPERT-CONSULT-1: the provider's free slots for the chosen offer, between two local days
    (both included, at most `max_listing_days`), first `MAX_SLOTS` only."""
    s = platform.settings.scheduling
    if last_day < first_day:
        raise InvalidInput([FieldError("query.to", "must not come before `from`")])
    if (last_day - first_day).days + 1 > s.max_listing_days:
        raise InvalidInput([FieldError("query.to", f"at most {s.max_listing_days} days from `from`")])
    _require_provider(db, platform, provider_id)
    row = _schedule_row(db, platform.id, provider_id)
    if row is None:
        raise NotFound("this provider publishes no availability")
    terms_ = offers.resolve(db, platform, row, choice, "query")
    spans = _availability(db, platform, row, first_day, last_day).spans(first_day, last_day)
    length = timedelta(minutes=terms_.minutes)
    buffers = _buffers(row)
    busy = (
        _busy(
            db,
            platform.id,
            provider_id,
            spans[0].start - buffers.before - length,
            spans[-1].end + buffers.after + length,
        )
        if spans
        else []
    )
    slots = domain.free_slots(
        spans,
        length=length,
        step=timedelta(minutes=s.slot_step_minutes),
        buffers=buffers,
        busy=busy,
        window=_window(platform, row, now),
        limit=MAX_SLOTS,
    )
    return SlotListing(provider_id, platform.settings.timezone, terms_, slots)


# --- booking ----------------------------------------------------------------------------------


def _phone(platform: PlatformView, mode: str, phone: str | None) -> str | None:
    if mode not in MODES:
        raise InvalidInput([FieldError("body.mode", "video or phone")])
    if mode == "video":
        return None
    if not phone:
        raise InvalidInput(
            [FieldError("body.phone", "the number to call is required for a phone consultation")],
            rules=["EXPERT-CONSULT-1"],
        )
    parsed = accounts_domain.parse_phone(phone, platform.settings.default_region)
    if parsed.outcome is None:
        raise InvalidInput([FieldError("body.phone", parsed.reason)], rules=parsed.rules)
    return parsed.outcome


def book(
    db: Session,
    *,
    platform: PlatformView,
    client_id: str,
    provider_id: str,
    starts_at: datetime,
    choice: OfferChoice,
    mode: str,
    phone: str | None,
    waiver_text: str | None,
    meta: RequestMeta,
    now: datetime,
) -> AppointmentView:
    """EXPERT-CONSULT-1: book a free slot of the provider; the price is held on the client's credit.

    Refusals (nothing written): the slot in the past, under the provider's notice, too far ahead,
    outside the availability or off the slot grid (422 `body.starts_at`); the slot taken (409);
    not enough credit (409, InsufficientFunds)."""
    s = platform.settings.scheduling
    if starts_at.tzinfo is None:
        raise InvalidInput([FieldError("body.starts_at", "a date-time with its UTC offset")])
    if client_id == provider_id:
        raise InvalidInput([FieldError("body.provider_id", "you cannot book yourself")])
    starts_at = starts_at.astimezone(UTC)
    clean_phone = _phone(platform, mode, phone)
    _require_provider(db, platform, provider_id)
    row = _schedule_row(db, platform.id, provider_id, lock=True)
    if row is None:
        raise NotFound("this provider publishes no availability")
    terms_ = offers.resolve(db, platform, row, choice, "body.offer")
    slot = Span(starts_at, starts_at + timedelta(minutes=terms_.minutes))
    tz = _tz(platform)
    first, last = (
        slot.start.astimezone(tz).date() - timedelta(days=1),
        slot.end.astimezone(tz).date() + timedelta(days=1),
    )
    buffers = _buffers(row)
    problem, verdict = domain.slot_verdict(
        slot,
        spans=_availability(db, platform, row, first, last).spans(first, last),
        step=timedelta(minutes=s.slot_step_minutes),
        buffers=buffers,
        busy=_busy(
            db, platform.id, provider_id, slot.start - timedelta(days=1), slot.end + timedelta(days=1)
        ),
        window=_window(platform, row, now),
    )
    if problem == "taken":
        raise Conflict(verdict.reason, rules=verdict.rules)
    if problem is not None:
        raise InvalidInput([FieldError("body.starts_at", verdict.reason)], rules=verdict.rules)
    appointment_id = new_id()
    hold_id = funding.reserve(
        db,
        platform_id=platform.id,
        client_id=client_id,
        amount=terms_.price,
        appointment_id=appointment_id,
        rules=("EXPERT-CONSULT-1", *verdict.rules),
        now=now,
    )
    blocked = buffers.blocked(slot)
    appt = Appointment(
        id=appointment_id,
        platform_id=platform.id,
        provider_id=provider_id,
        client_id=client_id,
        instance_id="",
        state="confirmed",
        active=True,
        starts_at=slot.start,
        ends_at=slot.end,
        blocked_from=blocked.start,
        blocked_until=blocked.end,
        kind=terms_.kind,
        minutes=terms_.minutes,
        mode=mode,
        phone=clean_phone,
        currency=terms_.price.currency,
        price=terms_.price.amount,
        rate_per_minute=terms_.rate_per_minute.amount if terms_.rate_per_minute else None,
        fee_per_minute=terms_.fee_per_minute.amount,
        fee=terms_.fee.amount,
        hold_id=hold_id,
        charged=0,
        provider_fee=0,
        created_at=now,
        updated_at=now,
    )
    db.add(appt)
    db.flush()
    decide_at = slot.end + timedelta(minutes=s.no_show_grace_minutes)
    instance = processes.start(
        db,
        platform.id,
        appointment_process.NAME,
        ProcessActor("client", client_id),
        {
            "appointment_id": appointment_id,
            "client_id": client_id,
            "provider_id": provider_id,
            "starts_at": slot.start.isoformat(),
            "ends_at": slot.end.isoformat(),
            "remind_at": (slot.start - timedelta(minutes=s.reminder_minutes_before)).isoformat(),
            "decide_at": decide_at.isoformat(),
            "settle_by": (decide_at + timedelta(hours=s.settle_within_hours)).isoformat(),
            "joined": {},
        },
        now,
        subject=("appointment", appointment_id),
    )
    appt.instance_id = instance.id
    withdrawal = terms.open_withdrawal_right(
        db,
        platform=platform,
        object_type="appointment",
        object_id=appointment_id,
        user_id=client_id,
        concluded_at=now,
        now=now,
    )
    appt.withdrawal_deadline = withdrawal.deadline
    if waiver_text:
        terms.record_waiver(
            db,
            platform_id=platform.id,
            object_type="appointment",
            object_id=appointment_id,
            user_id=client_id,
            waiver_text=waiver_text,
            meta=meta,
            now=now,
        )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", client_id),
        action="appointment.booked",
        obj=("appointment", appointment_id),
        at=now,
        rules=verdict.rules,
        reason=verdict.reason,
        data={
            "starts_at": slot.start.isoformat(),
            "minutes": terms_.minutes,
            "kind": terms_.kind,
            "price": terms_.price.amount,
            "hold_id": hold_id,
        },
    )
    _tell_booked(db, platform, appt, now)
    db.flush()
    return _aview(db, appt)


def _tell_booked(db: Session, platform: PlatformView, appt: Appointment, now: datetime) -> None:
    for user_id, role in ((appt.client_id, "client"), (appt.provider_id, "provider")):
        contact = accounts.contact_of(db, platform.id, user_id)
        if contact.email:
            enqueue(
                db,
                platform_id=platform.id,
                channel="email",
                template="scheduling.appointment_booked",
                recipient=contact.email,
                locale=contact.locale,
                payload={
                    "platform_name": platform.name,
                    "role": role,
                    "starts_at": appt.starts_at.isoformat(),
                    "minutes": appt.minutes,
                    "mode": appt.mode,
                    "price": str(Money(appt.price, appt.currency)),
                    "free_hours": platform.settings.scheduling.cancel_free_hours,  # EXPERT-CANCEL-1
                },
                now=now,
                user_id=user_id,
                dedupe_key=f"scheduling.appointment_booked:{appt.id}:{role}",
            )


# --- reading ----------------------------------------------------------------------------------


def _row(db: Session, platform_id: str, appointment_id: str) -> Appointment:
    row = db.scalar(
        select(Appointment).where(Appointment.platform_id == platform_id, Appointment.id == appointment_id)
    )
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    return row


def get_appointment(
    db: Session, *, platform_id: str, appointment_id: str, user_id: str, is_staff: bool = False
) -> AppointmentView:
    """The appointment, for its client, its provider or staff; NotFound for anyone else."""
    row = _row(db, platform_id, appointment_id)
    if not is_staff and user_id not in (row.client_id, row.provider_id):
        raise NotFound(f"no appointment {appointment_id!r}")
    return _aview(db, row)


def list_appointments(
    db: Session, *, platform_id: str, user_id: str, after_id: str | None, limit: int
) -> list[AppointmentView]:
    q = select(Appointment).where(
        Appointment.platform_id == platform_id,
        (Appointment.client_id == user_id) | (Appointment.provider_id == user_id),
    )
    if after_id:
        q = q.where(Appointment.id > after_id)
    return [_aview(db, r) for r in db.scalars(q.order_by(Appointment.id).limit(limit))]


# --- moving an appointment along -------------------------------------------------------------


def cancel(
    db: Session,
    *,
    platform_id: str,
    appointment_id: str,
    actor: ProcessActor,
    on_behalf_of: str | None,
    now: datetime,
) -> AppointmentView:
    """The client cancels (EXPERT-CANCEL-1), or the provider does (EXPERT-CANCEL-2); staff cancel
    for one of them (`on_behalf_of`)."""
    row = get_appointment(
        db,
        platform_id=platform_id,
        appointment_id=appointment_id,
        user_id=actor.id or "",
        is_staff=actor.role == "operator",
    )
    side = on_behalf_of if actor.role == "operator" else actor.role
    if actor.role == "operator" and side not in ("client", "provider"):
        raise InvalidInput([FieldError("body.on_behalf_of", "client or provider")])
    if actor.role != "operator" and on_behalf_of is not None:
        raise Forbidden("only staff cancel on someone's behalf")
    if side not in ("client", "provider"):
        raise Forbidden("only the client or the provider of an appointment cancels it")
    processes.take(db, platform_id, row.instance_id, f"cancel_by_{side}", actor, now)
    return _aview(db, _row(db, platform_id, appointment_id))


def appointment_joined(
    db: Session, appointment_id: str, role: str, at: datetime, *, platform_id: str | None = None
) -> AppointmentView:
    """A participant joined the consultation (called by the metering module when the video room
    or the call connects them). When both have joined, the appointment starts. Joining is
    possible from `join_opens_minutes_before` the start until the no-show decision is due."""
    if role not in ("client", "provider"):
        raise InvalidInput([FieldError("role", "client or provider")])
    q = select(Appointment).where(Appointment.id == appointment_id)
    if platform_id is not None:
        q = q.where(Appointment.platform_id == platform_id)
    row = db.scalar(q)
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    s = platforms.get(db, row.platform_id).settings.scheduling
    if row.state == "started":
        return _aview(db, row)
    if row.state != "confirmed":
        raise Conflict(f"the appointment is {row.state.replace('_', ' ')}")
    if at < row.starts_at - timedelta(minutes=s.join_opens_minutes_before):
        raise Conflict("the consultation is not open yet")
    if at > row.ends_at + timedelta(minutes=s.no_show_grace_minutes):
        raise Conflict("the time to join this appointment is over")
    result = processes.take(
        db,
        row.platform_id,
        row.instance_id,
        "join",
        ProcessActor.system(),
        at,
        {"role": role, "at": at.isoformat()},
    )
    joined = result.instance.data.get("joined") or {}
    if joined.get("client") and joined.get("provider"):
        processes.take(db, row.platform_id, row.instance_id, "start", ProcessActor.system(), at)
    return _aview(db, _row(db, row.platform_id, appointment_id))


def appointment_settled(
    db: Session,
    *,
    platform_id: str,
    appointment_id: str,
    charge: Money,
    platform_fee: Money,
    now: datetime,
    rules: Sequence[str] = ("EXPERT-CONSULT-1",),
    reason: str = "the consultation took place",
) -> AppointmentView:
    """The metering module settles a consultation that took place: `charge` is taken from the
    held price (`platform_fee` of it to the platform, the rest to the provider), the rest is
    given back, and the appointment is completed."""
    row = _row(db, platform_id, appointment_id)
    if charge.currency != row.currency or platform_fee.currency != row.currency:
        raise InvalidInput([FieldError("charge", f"in {row.currency}")])
    processes.take(
        db,
        platform_id,
        row.instance_id,
        "complete",
        ProcessActor.system(),
        now,
        {
            "charge": charge.amount,
            "platform_fee": platform_fee.amount,
            "rules": list(rules),
            "reason": reason,
        },
    )
    return _aview(db, _row(db, platform_id, appointment_id))
