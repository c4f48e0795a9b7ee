"""Scheduling in the privacy export (COMMON-PRIVACY-1): a provider's schedule, rates and day
overrides, and the appointments the user is party to, as client or provider. The other party shows by
display name only; the phone number of a phone appointment is the client's, so only the client sees it.
The money of an appointment is in the ledger's section."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.privacy.parties import display_name, iso
from entremise.privacy.registry import register_exporter
from entremise.scheduling.models import Appointment, AvailabilityOverride, ProviderSchedule


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    schedule = db.scalar(
        select(ProviderSchedule).where(
            ProviderSchedule.platform_id == platform_id, ProviderSchedule.provider_id == user_id
        )
    )
    overrides = db.scalars(
        select(AvailabilityOverride)
        .where(AvailabilityOverride.platform_id == platform_id, AvailabilityOverride.provider_id == user_id)
        .order_by(AvailabilityOverride.day)
    ).all()
    appointments = db.scalars(
        select(Appointment)
        .where(
            Appointment.platform_id == platform_id,
            or_(Appointment.client_id == user_id, Appointment.provider_id == user_id),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    out: list[dict[str, Any]] = []
    for a in appointments:
        as_client = a.client_id == user_id
        other = a.provider_id if as_client else a.client_id
        out.append(
            {
                "id": a.id,
                "as": "client" if as_client else "provider",
                "other_party": display_name(db, platform_id, other),
                "state": a.state,
                "starts_at": iso(a.starts_at),
                "ends_at": iso(a.ends_at),
                "kind": a.kind,
                "minutes": a.minutes,
                "mode": a.mode,
                "phone": a.phone if as_client else None,
                "currency": a.currency,
                "price": a.price,
                "rate_per_minute": a.rate_per_minute,
                "charged": a.charged,
                "withdrawal_deadline": iso(a.withdrawal_deadline),
                "joined_at": iso(a.client_joined_at if as_client else a.provider_joined_at),
                "created_at": iso(a.created_at),
            }
        )
    return {
        "schedule": None
        if schedule is None
        else {
            "weekly": schedule.weekly,
            "buffer_before_minutes": schedule.buffer_before_minutes,
            "buffer_after_minutes": schedule.buffer_after_minutes,
            "min_notice_minutes": schedule.min_notice_minutes,
            "per_minute_rate": schedule.per_minute_rate,
            "packages": schedule.packages,
            "currency": schedule.currency,
            "updated_at": iso(schedule.updated_at),
        },
        "overrides": [
            {"day": iso(o.day), "closed": o.closed, "intervals": o.intervals, "updated_at": iso(o.updated_at)}
            for o in overrides
        ],
        "appointments": out,
    }


register_exporter("scheduling", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
