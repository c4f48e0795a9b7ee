"""Tables of availability and appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class ProviderSchedule(Base):
    """A provider's weekly hours, buffers, notice and appointment prices. Its row is locked while
    an appointment is booked with the provider, so two bookings of one provider never interleave."""

    __tablename__ = "provider_schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"mon": [[540, 720]], ...}
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_minutes: Mapped[int] = mapped_column(Integer)
    per_minute_rate: Mapped[int | None] = mapped_column(BigInteger)  # minor units, all taxes included
    packages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"minutes", "price"}]
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "provider_id", name="uq_provider_schedules_provider"),)


class AvailabilityOverride(Base):
    """One local day that differs from the provider's week (closed, or extra hours)."""

    __tablename__ = "availability_overrides"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean)
    intervals: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "provider_id", "day", name="uq_availability_overrides_day"),
    )


class Appointment(Base):
    """A booked slot. `state` mirrors its process instance; `active` ones block the provider's
    time from `blocked_from` to `blocked_until` (the slot with the provider's buffers)."""

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    client_id: Mapped[str] = mapped_column(String(36))
    instance_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_from: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # per_minute | package
    minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))  # video | phone
    phone: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[int] = mapped_column(BigInteger)  # held: the budget, or the package's price
    rate_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    fee_per_minute: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    hold_id: Mapped[str | None] = mapped_column(String(36))
    charged: Mapped[int] = mapped_column(BigInteger, default=0)  # what the client finally paid
    provider_fee: Mapped[int] = mapped_column(BigInteger, default=0)  # EXPERT-CANCEL-2
    withdrawal_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())  # COMMON-WITHDRAW-1
    client_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_appointments_provider", "platform_id", "provider_id", "active", "blocked_from"),
        Index("ix_appointments_client", "platform_id", "client_id", "starts_at"),
    )
