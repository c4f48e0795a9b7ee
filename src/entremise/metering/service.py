"""Metered sessions use cases. Each runs in the caller's transaction (`with db.begin():`).

- `set_tariff`: a provider's rate, free minutes, packages and number (staff set the commission).
- `start`: hold the client's budget, compute the longest session it buys, place the call or open
  the room through the port, and start the process (requested → connecting).
- `ingest`: one provider event (from a verified webhook), stored once per event id; the facts are
  re-read (`domain.derive`) and the process is moved to where they say it stands.
- `hang_up`: the client, the provider or staff end a live session (or cancel one still ringing).
- `statement`: the itemised bill, for the client, the provider or staff.

Settling (the `end`, `hang_up` and `cutoff` transitions) rates the seconds between the answer and
the end, clamped to what the budget buys, and captures the total from the hold in one ledger
transaction split between the provider, the platform and the VAT; its key derives from the
session's id, so a retry never settles twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import domain as accounts_domain
from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.booking import service as processes
from entremise.booking.models import ProcessInstance
from entremise.booking.service import ProcessActor
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.ledger.domain import AccountType
from entremise.metering import domain, funding, rating
from entremise.metering.models import CallEventRow, MeteredSession, ProviderTariff
from entremise.metering.rating import Tariff
from entremise.metering.settings import MeteringSettings
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import PlatformSettings
from entremise.telephony import registry as telephony
from entremise.telephony.port import CallEvent, Mode, StartRequest

MAX_PACKAGES = 10


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TariffView:
    provider_id: str
    rate_per_minute: Money
    free_minutes: int
    packages: list[tuple[int, Money]]
    phone: str | None
    commission_percent: Decimal | None
    updated_at: datetime


@dataclass(frozen=True)
class SessionView:
    id: str
    state: str
    client_id: str
    provider_id: str
    appointment_id: str | None
    mode: str
    kind: str
    reference: str | None
    budget: Money
    max_seconds: int
    to_mobile: bool
    answered_at: datetime | None
    ended_at: datetime | None
    billed_seconds: int | None
    total: Money | None
    join_urls: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class IngestResult:
    duplicate: bool
    session_id: str
    state: str
    outcome: str


def _tview(row: ProviderTariff) -> TariffView:
    return TariffView(
        provider_id=row.provider_id,
        rate_per_minute=Money(row.rate_per_minute, row.currency),
        free_minutes=row.free_minutes,
        packages=[(int(p["minutes"]), Money(int(p["price"]), row.currency)) for p in row.packages],
        phone=row.phone,
        commission_percent=Decimal(row.commission_percent) if row.commission_percent is not None else None,
        updated_at=row.updated_at,
    )


def _sview(row: MeteredSession, join_urls: Mapping[str, str] | None = None) -> SessionView:
    c = row.currency
    return SessionView(
        id=row.id,
        state=row.state,
        client_id=row.client_id,
        provider_id=row.provider_id,
        appointment_id=row.appointment_id,
        mode=row.mode,
        kind=str(row.tariff.get("kind")),
        reference=row.reference,
        budget=Money(row.budget, c),
        max_seconds=row.max_seconds,
        to_mobile=row.to_mobile,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        billed_seconds=row.billed_seconds,
        total=Money(row.total, c) if row.total is not None else None,
        join_urls=dict(join_urls or {}),
        created_at=row.created_at,
    )


def _platform_settings(db: Session, platform_id: str) -> PlatformSettings:
    return platforms.get(db, platform_id).settings


def _settings(db: Session, platform_id: str) -> MeteringSettings:
    return platforms.get(db, platform_id).settings.metering


def _require_provider(db: Session, platform_id: str, user_id: str) -> None:
    try:
        user = accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    except NotFound:
        raise NotFound("no such provider") from None
    if user.role != "provider" or user.status != "active":
        raise NotFound("no such provider")


def _phone(platform: PlatformView, raw: str | None, field: str) -> str:
    if not raw:
        raise InvalidInput([FieldError(field, "a phone number is required")], rules=["EXPERT-CONSULT-1"])
    parsed = accounts_domain.parse_phone(raw, platform.settings.default_region)
    if parsed.outcome is None:
        raise InvalidInput([FieldError(field, parsed.reason)], rules=parsed.rules)
    return parsed.outcome


def is_mobile(e164: str) -> bool:
    """CONSULT-CALL-3: is the number the call is redirected to a mobile one (per `phonenumbers`)?"""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


# --- tariffs ----------------------------------------------------------------------------------


def set_tariff(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    actor_id: str,
    is_staff: bool,
    rate_per_minute: int,
    free_minutes: int,
    packages: list[tuple[int, int]],
    phone: str | None,
    commission_percent: Decimal | None,
    now: datetime,
) -> TariffView:
    """A provider sets their own tariff; staff set anyone's, and alone set the commission (consult)."""
    if not is_staff and actor_id != provider_id:
        raise Forbidden("a provider sets only their own tariff")
    if commission_percent is not None and not is_staff:
        raise Forbidden("the commission is agreed with the platform: staff set it")
    _require_provider(db, platform.id, provider_id)
    s = platform.settings.metering
    errors: list[FieldError] = []
    if len(packages) > MAX_PACKAGES:
        errors.append(FieldError("body.packages", f"at most {MAX_PACKAGES}"))
    for i, (minutes, _price) in enumerate(packages):
        if not s.package_min_minutes <= minutes <= s.package_max_minutes:
            errors.append(
                FieldError(
                    f"body.packages[{i}].minutes",
                    f"a package lasts {s.package_min_minutes} to {s.package_max_minutes} minutes (EXPERT-PRICE-2)",
                )
            )
    if len({m for m, _ in packages}) != len(packages):
        errors.append(FieldError("body.packages", "one package per length"))
    e164 = None
    if phone is not None:
        parsed = accounts_domain.parse_phone(phone, platform.settings.default_region)
        if parsed.outcome is None:
            errors.append(FieldError("body.phone", parsed.reason))
        e164 = parsed.outcome
    if commission_percent is not None and not Decimal(0) <= commission_percent <= Decimal(100):
        errors.append(FieldError("body.commission_percent", "a percentage between 0 and 100"))
    if errors:
        raise InvalidInput(errors, rules=["EXPERT-PRICE-2"] if packages else [])
    row = db.scalar(
        select(ProviderTariff).where(
            ProviderTariff.platform_id == platform.id, ProviderTariff.provider_id == provider_id
        )
    )
    if row is None:
        row = ProviderTariff(
            id=new_id(), platform_id=platform.id, provider_id=provider_id, commission_percent=None
        )
        db.add(row)
    row.rate_per_minute = rate_per_minute
    row.currency = s.currency
    row.free_minutes = free_minutes
    row.packages = [{"minutes": m, "price": p} for m, p in sorted(packages)]
    row.phone = e164
    if commission_percent is not None:
        row.commission_percent = str(commission_percent)
    row.updated_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff" if is_staff else "user", actor_id),
        action="metering.tariff_set",
        obj=("metering_tariff", row.id),
        at=now,
        rules=["CONSULT-CALL-1", "CONSULT-GIFT-1"],
        data={"rate_per_minute": rate_per_minute, "free_minutes": free_minutes, "packages": row.packages},
    )
    return _tview(row)


def get_tariff(db: Session, *, platform_id: str, provider_id: str) -> TariffView:
    row = db.scalar(
        select(ProviderTariff).where(
            ProviderTariff.platform_id == platform_id, ProviderTariff.provider_id == provider_id
        )
    )
    if row is None:
        raise NotFound("this provider offers no immediate consultation")
    return _tview(row)


# --- starting ---------------------------------------------------------------------------------


def _discovery(db: Session, platform_id: str, client_id: str, provider_id: str) -> bool:
    """CONSULT-GIFT-1: the free minutes are for a client's first consultation with the provider."""
    return (
        db.scalar(
            select(MeteredSession.id).where(
                MeteredSession.platform_id == platform_id,
                MeteredSession.client_id == client_id,
                MeteredSession.provider_id == provider_id,
                MeteredSession.state.in_(("requested", "connecting", "live", "ended")),
            )
        )
        is None
    )


def build_tariff(
    s: MeteringSettings, tariff: TariffView, *, to_mobile: bool, free: bool, package_minutes: int | None
) -> Tariff:
    """The tariff a session is rated by, frozen when it starts."""
    common: dict[str, Any] = {
        "currency": tariff.rate_per_minute.currency,
        "increment_seconds": s.billing_increment_seconds,
        "connection_fee": s.connection_fee,
        "mobile_surcharge_per_minute": s.mobile_surcharge_per_minute if to_mobile else 0,
        "rate_rule": "CONSULT-CALL-1" if s.model == "resale" else "EXPERT-PRICE-1",
        "max_minutes": s.max_session_minutes,
        "one_third_max_minutes": s.one_third_max_minutes,
    }
    if package_minutes is not None:
        if not s.package_min_minutes <= package_minutes <= s.package_max_minutes:
            raise InvalidInput(
                [
                    FieldError(
                        "body.package_minutes",
                        f"a package lasts {s.package_min_minutes} to {s.package_max_minutes} minutes",
                    )
                ],
                rules=["EXPERT-PRICE-2"],
            )
        price = next((p for m, p in tariff.packages if m == package_minutes), None)
        if price is None:
            raise InvalidInput(
                [FieldError("body.package_minutes", "this provider offers no package of this length")],
                rules=["EXPERT-PRICE-2"],
            )
        return Tariff("package", package_minutes=package_minutes, package_price=price.amount, **common)
    return Tariff(
        "per_minute",
        rate_per_minute=tariff.rate_per_minute.amount,
        free_minutes=tariff.free_minutes if free else 0,
        cap=s.per_minute_cap,
        **common,
    )


def start(
    db: Session,
    *,
    platform: PlatformView,
    client_id: str,
    provider_id: str,
    mode: str,
    phone: str | None,
    budget: int | None,
    package_minutes: int | None,
    options: Mapping[str, Any] | None,
    now: datetime,
) -> SessionView:
    """Start a consultation with a provider now (EXPERT-CONSULT-1): hold the budget, connect."""
    s = platform.settings.metering
    if mode not in (Mode.PHONE.value, Mode.VIDEO.value):
        raise InvalidInput([FieldError("body.mode", "phone or video")])
    if client_id == provider_id:
        raise InvalidInput([FieldError("body.provider_id", "one does not consult oneself")])
    _require_provider(db, platform.id, provider_id)
    tariff_view = get_tariff(db, platform_id=platform.id, provider_id=provider_id)
    client_number = provider_number = None
    to_mobile = False
    if mode == Mode.PHONE.value:
        client_number = _phone(
            platform, phone or accounts.contact_of(db, platform.id, client_id).phone, "body.phone"
        )
        if tariff_view.phone is None:
            raise Conflict("this provider takes no phone consultation (no number to bridge to)")
        provider_number = tariff_view.phone
        to_mobile = is_mobile(provider_number)  # CONSULT-CALL-3
    free = _discovery(db, platform.id, client_id, provider_id)
    tariff = build_tariff(s, tariff_view, to_mobile=to_mobile, free=free, package_minutes=package_minutes)
    if tariff.kind == "package":
        hold = rating.package_budget(tariff)
        if budget is not None and budget < hold:
            raise InvalidInput(
                [FieldError("body.budget", f"the package costs up to {Money(hold, tariff.currency)}")],
                rules=["EXPERT-PRICE-2"],
            )
    else:
        if budget is None:
            raise InvalidInput(
                [FieldError("body.budget", "a budget cap is required")], rules=["EXPERT-CONSULT-1"]
            )
        minimum = rating.minimum_price(tariff)
        if budget < minimum:
            raise InvalidInput(
                [
                    FieldError(
                        "body.budget", f"below the price of one minute ({Money(minimum, tariff.currency)})"
                    )
                ],
                rules=["EXPERT-CONSULT-1", "CONSULT-CALL-2"],
            )
        ceiling = rating.price_ceiling(tariff, budget)
        assert ceiling is not None
        hold = ceiling
    options = dict(options or {})
    if options and s.provider != "sandbox":
        raise InvalidInput([FieldError("body.sandbox", "only the sandbox provider plays scripts")])
    session_id = new_id()
    hold_id = funding.reserve(
        db,
        platform_id=platform.id,
        client_id=client_id,
        amount=Money(hold, tariff.currency),
        session_id=session_id,
        rules=["EXPERT-CONSULT-1", "EXPERT-PRICE-4"] if tariff.cap else ["CONSULT-CREDIT-1"],
        now=now,
    )
    return _open(
        db,
        platform,
        session_id=session_id,
        client_id=client_id,
        provider_id=provider_id,
        mode=mode,
        tariff=tariff,
        budget=hold,
        hold_id=hold_id,
        appointment_id=None,
        numbers=(client_number, provider_number),
        to_mobile=to_mobile,
        ring_deadline=now + timedelta(seconds=s.ring_timeout_seconds),
        options=options,
        now=now,
    )


def _open(
    db: Session,
    platform: PlatformView,
    *,
    session_id: str,
    client_id: str,
    provider_id: str,
    mode: str,
    tariff: Tariff,
    budget: int,
    hold_id: str | None,
    appointment_id: str | None,
    numbers: tuple[str | None, str | None],
    to_mobile: bool,
    ring_deadline: datetime,
    options: Mapping[str, Any],
    now: datetime,
) -> SessionView:
    """Create the session and its process, then connect through the port (requested → connecting)."""
    s = platform.settings.metering
    client_number, provider_number = numbers
    hold = budget
    max_seconds = rating.max_seconds(tariff, hold)
    ring = ring_deadline.isoformat()
    instance = processes.start(
        db,
        platform.id,
        "metered_session",
        ProcessActor("client", client_id),
        {
            "session_id": session_id,
            "client_id": client_id,
            "provider_id": provider_id,
            "ring_deadline": ring,
            # timers are anchored on these; the transitions that schedule them set the real times
            "warn_at": ring,
            "cutoff_at": ring,
            "close_at": ring,
            "end_reported": False,
        },
        now,
        subject=("metered_session", session_id),
    )
    row = MeteredSession(
        id=session_id,
        platform_id=platform.id,
        instance_id=instance.id,
        client_id=client_id,
        provider_id=provider_id,
        appointment_id=appointment_id,
        mode=mode,
        state=instance.state,
        telephony=s.provider,
        reference=None,
        client_number=client_number,
        provider_number=provider_number,
        to_mobile=to_mobile,
        tariff=tariff.to_dict(),
        currency=tariff.currency,
        budget=hold,
        hold_id=hold_id,
        max_seconds=max_seconds,
        facts={},
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    try:
        connection = telephony.outbound(s.provider, db).start(
            StartRequest(
                session_id=session_id,
                mode=Mode(mode),
                client_number=client_number,
                provider_number=provider_number,
                idempotency_key=f"metering:{session_id}:start",
                options=options,
            ),
            now,
        )
    except ValueError as exc:
        raise InvalidInput([FieldError("body.sandbox", str(exc))]) from exc
    row.reference = connection.reference
    processes.take(db, platform.id, instance.id, "dial", ProcessActor.system(), now)
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", client_id),
        action="metering.started",
        obj=("metered_session", session_id),
        at=now,
        rules=[
            "EXPERT-CONSULT-1",
            *(["CONSULT-CALL-3"] if to_mobile else []),
            *(["CONSULT-GIFT-1"] if tariff.free_minutes else []),
        ],
        reason=f"a budget of {Money(hold, tariff.currency)} buys at most {max_seconds} s",
        data={"tariff": tariff.to_dict(), "max_seconds": max_seconds, "to_mobile": to_mobile},
    )
    db.flush()
    return _sview(row, connection.join_urls)


def join_appointment(
    db: Session,
    *,
    platform: PlatformView,
    appointment_id: str,
    user_id: str,
    options: Mapping[str, Any] | None,
    now: datetime,
) -> SessionView:
    """A participant opens the video room of a booked appointment (EXPERT-CONSULT-1): the first one
    creates the metered session at the appointment's terms (its rate and budget, or its package),
    whose money is the appointment's own hold; the second gets the same session."""
    from entremise.scheduling import service as scheduling

    appt = scheduling.get_appointment(
        db, platform_id=platform.id, appointment_id=appointment_id, user_id=user_id
    )
    existing = db.scalar(
        select(MeteredSession).where(
            MeteredSession.platform_id == platform.id, MeteredSession.appointment_id == appointment_id
        )
    )
    if existing is not None:
        join_urls: Mapping[str, str] = {}
        if existing.reference:
            join_urls = (
                telephony.outbound(existing.telephony, db)
                .start(
                    StartRequest(
                        existing.id, Mode(existing.mode), idempotency_key=f"metering:{existing.id}:start"
                    ),
                    now,
                )
                .join_urls
            )
        return _sview(existing, join_urls)
    if appt.state != "confirmed":
        raise Conflict(f"the appointment is {appt.state.replace('_', ' ')}")
    if appt.mode != Mode.VIDEO.value:
        raise Conflict("only video appointments open a room here; phone appointments are bridged by staff")
    s = platform.settings.metering
    common: dict[str, Any] = {
        "currency": appt.price.currency,
        "increment_seconds": s.billing_increment_seconds,
        "rate_rule": "EXPERT-PRICE-1",
        "max_minutes": appt.minutes,
        "one_third_max_minutes": s.one_third_max_minutes,
    }
    if appt.kind == "package":
        tariff = Tariff("package", package_minutes=appt.minutes, package_price=appt.price.amount, **common)
    else:
        tariff = Tariff("per_minute", rate_per_minute=appt.price.amount // max(appt.minutes, 1), **common)
    grace = timedelta(minutes=platform.settings.scheduling.no_show_grace_minutes)
    return _open(
        db,
        platform,
        session_id=new_id(),
        client_id=appt.client_id,
        provider_id=appt.provider_id,
        mode=appt.mode,
        tariff=tariff,
        budget=appt.price.amount,
        hold_id=None,
        appointment_id=appointment_id,
        numbers=(None, None),
        to_mobile=False,
        ring_deadline=max(appt.ends_at + grace, now + timedelta(seconds=s.ring_timeout_seconds)),
        options=dict(options or {}),
        now=now,
    )


# --- events -----------------------------------------------------------------------------------


def _row(db: Session, platform_id: str, session_id: str, *, lock: bool = False) -> MeteredSession:
    q = select(MeteredSession).where(
        MeteredSession.platform_id == platform_id, MeteredSession.id == session_id
    )
    if lock:
        q = q.with_for_update()
    row = db.scalar(q)
    if row is None:
        raise NotFound(f"no session {session_id!r}")
    return row


def ingest(db: Session, *, telephony_name: str, event: CallEvent, now: datetime) -> IngestResult:
    """Apply one verified provider event. A second delivery of an event id changes nothing.

    NotFound: no session has this reference. Conflict: the session is finished (an end-type event
    for a finished session is stored and ignored: it echoes the engine's own hang-up)."""
    found = db.execute(
        select(MeteredSession.instance_id).where(
            MeteredSession.telephony == telephony_name, MeteredSession.reference == event.reference
        )
    ).first()
    if found is None:
        raise NotFound(f"no session for {event.reference!r}")
    # locks in the order `take` and the timers use: the process instance, then the session row;
    # concurrent deliveries of one call wait here, so the duplicate check below sees the first
    db.execute(select(ProcessInstance.id).where(ProcessInstance.id == found[0]).with_for_update())
    session = db.scalar(
        select(MeteredSession)
        .where(MeteredSession.telephony == telephony_name, MeteredSession.reference == event.reference)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert session is not None
    seen = db.scalar(
        select(CallEventRow).where(
            CallEventRow.telephony == telephony_name, CallEventRow.event_id == event.id
        )
    )
    if seen is not None:
        return IngestResult(True, session.id, session.state, "duplicate")
    finished = session.state in ("ended", "no_show", "failed", "cancelled")
    if finished:
        if event.type.value not in ("call.ended", "participant.left"):
            raise Conflict(f"the session is {session.state.replace('_', ' ')}: the event is refused")
        outcome = f"ignored: the session is already {session.state}"
        _store_event(db, telephony_name, session, event, now, outcome)
        return IngestResult(False, session.id, session.state, outcome)
    facts = dict(session.facts or {})
    added = domain.record_fact(
        session.mode,
        facts,
        event.type.value,
        event.occurred_at,
        event.role,
        event.end_status.value if event.end_status else None,
    )
    if event.recording_ref and not session.recording_ref:
        from entremise.packs.service import recording_verdict  # packs sit above metering

        # CONSULT-RECORD-1 (kept as evidence on consult), EXPERT-RECORD-1 (never kept on expert)
        if recording_verdict(_platform_settings(db, session.platform_id)).allowed:
            session.recording_ref = event.recording_ref
    session.facts = facts
    session.updated_at = now
    db.flush()
    _store_event(db, telephony_name, session, event, now, added.reason)
    if session.appointment_id and event.type.value == "participant.joined" and added.outcome and event.role:
        from entremise.scheduling import service as scheduling

        scheduling.appointment_joined(
            db, session.appointment_id, event.role, event.occurred_at, platform_id=session.platform_id
        )
    _advance(db, session, now)
    return IngestResult(False, session.id, session.state, added.reason)


def _store_event(
    db: Session, telephony_name: str, session: MeteredSession, event: CallEvent, now: datetime, outcome: str
) -> None:
    db.add(
        CallEventRow(
            telephony=telephony_name,
            event_id=event.id,
            platform_id=session.platform_id,
            session_id=session.id,
            type=event.type.value,
            role=event.role,
            end_status=event.end_status.value if event.end_status else None,
            occurred_at=event.occurred_at,
            received_at=now,
            outcome=outcome[:200],
        )
    )
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict("this event is being processed") from None


def _advance(db: Session, session: MeteredSession, now: datetime) -> None:
    """Take the transitions that bring the process to where the facts say it stands."""
    d = domain.derive(session.mode, session.facts)
    sys = ProcessActor.system()
    pid, iid = session.platform_id, session.instance_id
    if d.where == "connecting":
        return
    if session.state == "connecting" and d.answered_at is not None:
        cutoff = d.answered_at + timedelta(seconds=session.max_seconds)
        s = _settings(db, pid)
        warn = cutoff - timedelta(seconds=s.warn_before_end_seconds)
        processes.take(
            db,
            pid,
            iid,
            "answer",
            sys,
            now,
            {
                "answered_at": d.answered_at.isoformat(),
                "warn_at": warn.isoformat(),
                "cutoff_at": cutoff.isoformat(),
            },
        )
    if d.where == "ended" and session.state == "live":
        assert d.ended_at is not None
        processes.take(db, pid, iid, "end", sys, now, {"ended_at": d.ended_at.isoformat()})
    elif d.where == "no_show" and session.state == "connecting":
        processes.take(db, pid, iid, "miss", sys, now)
    elif d.where == "failed" and session.state == "connecting":
        processes.take(db, pid, iid, "fail", sys, now)
    elif d.where == "waiting" and session.state == "connecting":
        instance = processes.get_instance(db, pid, iid)
        if not instance.data.get("end_reported"):
            grace = timedelta(seconds=_settings(db, pid).settle_grace_seconds)
            processes.take(db, pid, iid, "note_end", sys, now, {"close_at": (now + grace).isoformat()})


# --- what the actions do ----------------------------------------------------------------------


def mirror_state(db: Session, platform_id: str, session_id: str, state: str, now: datetime) -> None:
    row = _row(db, platform_id, session_id)
    row.state = state
    row.updated_at = now


def hang_up_line(db: Session, platform_id: str, session_id: str, now: datetime) -> None:
    row = _row(db, platform_id, session_id)
    if row.reference:
        telephony.outbound(row.telephony, db).hang_up(row.reference, now)


def warn_client(db: Session, platform_id: str, session_id: str, now: datetime) -> None:
    """A minute before the budget runs out, the client is told the call will end."""
    row = _row(db, platform_id, session_id)
    contact = accounts.contact_of(db, platform_id, row.client_id)
    if not contact.email:
        return
    platform = platforms.get(db, platform_id)
    enqueue(
        db,
        platform_id=platform_id,
        channel="email",
        template="metering.ending_soon",
        recipient=contact.email,
        locale=contact.locale,
        payload={
            "platform_name": platform.name,
            "seconds_left": platform.settings.metering.warn_before_end_seconds,
            "budget": str(Money(row.budget, row.currency)),
        },
        now=now,
        user_id=row.client_id,
        dedupe_key=f"metering.ending_soon:{row.id}",
    )


def _statement(
    row: MeteredSession, r: rating.Rating, split: rating.Split, s: MeteringSettings
) -> dict[str, Any]:
    return {
        "duration_seconds": r.duration_seconds,
        "billed_seconds": r.billed_seconds,
        "max_seconds": row.max_seconds,
        "kind": r.tariff.kind,
        "rate_per_minute": r.tariff.rate_per_minute,
        "increment_seconds": r.tariff.increment_seconds,
        "free_minutes": r.tariff.free_minutes,
        "to_mobile": row.to_mobile,
        "lines": [
            {
                "code": line.code,
                "label": line.label,
                "seconds": line.quantity if line.code not in ("connection_fee",) else None,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "rules": list(line.rules),
            }
            for line in r.lines
        ],
        "total": split.total.amount,
        "vat": {"rate": str(s.vat_rate), "amount": split.vat.amount, "rules": ["LAW-VAT-1"]},
        "split": {
            "provider": split.provider.amount,
            "platform": split.platform.amount,
            "vat": split.vat.amount,
            "model": s.model,
            "rules": list(split.rules),
            "reason": split.reason,
        },
        "currency": row.currency,
        "rules": list(dict.fromkeys([*r.rules, *split.rules])),
    }


def settle_session(
    db: Session, platform_id: str, session_id: str, ended_at: str, transition: str, now: datetime
) -> dict[str, Any]:
    """Rate and settle an ended session (in its transition's transaction); the statement."""
    row = _row(db, platform_id, session_id)
    facts = row.facts or {}
    derived = domain.derive(row.mode, facts)
    answered = derived.answered_at
    if answered is None:
        raise Conflict("the session was never answered")
    end = datetime.fromisoformat(ended_at)
    s = _settings(db, platform_id)
    tariff = Tariff.from_dict(dict(row.tariff))
    r = rating.rate(tariff, domain.billable_seconds(answered, max(end, answered)), budget=row.budget)
    total = r.total
    if s.model == "resale":
        tariff_row = db.scalar(
            select(ProviderTariff).where(
                ProviderTariff.platform_id == platform_id, ProviderTariff.provider_id == row.provider_id
            )
        )
        pct = s.default_commission_percent
        if tariff_row is not None and tariff_row.commission_percent is not None:
            pct = Decimal(tariff_row.commission_percent)
        split = rating.split_resale(total, pct, s.vat_rate)
    else:
        split = rating.split_fee(total, Money(s.fee_per_consultation, row.currency), s.vat_rate)
    statement = _statement(row, r, split, s)
    rules = statement["rules"]
    reason = f"{r.billed_seconds} s billed: {total}"
    if row.appointment_id:
        from entremise.scheduling import service as scheduling

        appt = scheduling.get_appointment(
            db, platform_id=platform_id, appointment_id=row.appointment_id, user_id="", is_staff=True
        )
        # the platform's fee of the appointment's terms (EXPERT-FEE-1): per minute billed, or per package
        if appt.kind == "package":
            fee = min(appt.fee, total)
        else:
            per_minute = appt.fee.amount // max(appt.minutes, 1)
            fee = min(Money(per_minute * -(-r.billed_seconds // 60), row.currency), total)
        split = rating.Split(
            total, total - fee, fee, Money.zero(row.currency), ("EXPERT-FEE-1",), "the appointment's fee"
        )
        statement = _statement(row, r, split, s)
        scheduling.appointment_settled(
            db,
            platform_id=platform_id,
            appointment_id=row.appointment_id,
            charge=total,
            platform_fee=fee,
            now=now,
            rules=rules or ("EXPERT-CONSULT-1",),
            reason=reason,
        )
    elif row.hold_id:
        funding.settle(
            db,
            platform_id=platform_id,
            hold_id=row.hold_id,
            provider_id=row.provider_id,
            split=split,
            platform_account=AccountType.PLATFORM_REVENUE
            if s.model == "resale"
            else AccountType.PLATFORM_FEES,
            session_id=row.id,
            rules=rules or ["EXPERT-CONSULT-1"],
            reason=reason,
            now=now,
        )
    row.answered_at = answered
    row.ended_at = max(end, answered)
    row.end_status = str(facts.get("end_status") or ("cut_off" if transition == "cutoff" else "hung_up"))
    row.billed_seconds = r.billed_seconds
    row.total = total.amount
    row.statement = statement
    row.updated_at = now
    return {"total": total.amount, "billed_seconds": r.billed_seconds, "rules": rules}


def release_session(db: Session, platform_id: str, session_id: str, transition: str, now: datetime) -> None:
    row = _row(db, platform_id, session_id)
    if row.hold_id:
        funding.release(
            db,
            platform_id=platform_id,
            hold_id=row.hold_id,
            session_id=row.id,
            rules=["EXPERT-CONSULT-1"],
            reason=f"no consultation took place ({transition.replace('_', ' ')}): the budget is given back",
            now=now,
        )
    row.total = 0
    row.billed_seconds = 0
    row.updated_at = now


# --- users' side ------------------------------------------------------------------------------


def _visible(db: Session, platform_id: str, session_id: str, user_id: str, is_staff: bool) -> MeteredSession:
    row = _row(db, platform_id, session_id)
    if not is_staff and user_id not in (row.client_id, row.provider_id):
        raise NotFound(f"no session {session_id!r}")
    return row


def get_session(
    db: Session, *, platform_id: str, session_id: str, user_id: str, is_staff: bool = False
) -> SessionView:
    return _sview(_visible(db, platform_id, session_id, user_id, is_staff))


def list_sessions(
    db: Session, *, platform_id: str, user_id: str, after_id: str | None, limit: int
) -> list[SessionView]:
    q = select(MeteredSession).where(
        MeteredSession.platform_id == platform_id,
        (MeteredSession.client_id == user_id) | (MeteredSession.provider_id == user_id),
    )
    if after_id:
        q = q.where(MeteredSession.id > after_id)
    return [_sview(r) for r in db.scalars(q.order_by(MeteredSession.id).limit(limit))]


def hang_up(
    db: Session, *, platform_id: str, session_id: str, user_id: str, is_staff: bool, now: datetime
) -> SessionView:
    """End a live session now, or cancel one still connecting (the budget is given back)."""
    row = _visible(db, platform_id, session_id, user_id, is_staff)
    if is_staff:
        actor = ProcessActor("operator", user_id)
    else:
        actor = ProcessActor("client" if user_id == row.client_id else "provider", user_id)
    if row.state == "live":
        processes.take(db, platform_id, row.instance_id, "hang_up", actor, now, {"ended_at": now.isoformat()})
    elif row.state in ("requested", "connecting"):
        if actor.role == "provider":
            raise Conflict("the session is not live yet: only the client cancels it")
        processes.take(db, platform_id, row.instance_id, "cancel", actor, now)
    else:
        raise Conflict(f"the session is {row.state.replace('_', ' ')}")
    return _sview(_row(db, platform_id, session_id))


def statement(
    db: Session, *, platform_id: str, session_id: str, user_id: str, is_staff: bool = False
) -> dict[str, Any]:
    """The itemised bill of a session: lines with their rules, VAT, total. The client does not see
    the provider's share; the provider and staff do."""
    row = _visible(db, platform_id, session_id, user_id, is_staff)
    if row.statement is None:
        if row.state in ("ended", "no_show", "failed", "cancelled"):
            body: dict[str, Any] = {"lines": [], "total": 0, "currency": row.currency, "rules": []}
        else:
            raise Conflict("the session is not finished: its statement comes at the end")
    else:
        body = dict(row.statement)
    if not is_staff and user_id == row.client_id:
        body.pop("split", None)
    body.update(
        {"session_id": row.id, "state": row.state, "answered_at": row.answered_at, "ended_at": row.ended_at}
    )
    return body


def parse_percent(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInput([FieldError("body.commission_percent", "a decimal number")]) from exc


# the process's definition and actions, registered whoever imports the service first
from entremise.metering import process as _process  # noqa: E402, F401
