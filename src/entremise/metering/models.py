"""Tables of metered sessions: providers' tariffs, sessions, and the provider events received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class ProviderTariff(Base):
    """What a provider charges for immediate consultations: the rate per minute, the free minutes
    offered (CONSULT-GIFT-1), packages (EXPERT-PRICE-2), the number calls are bridged to, and the
    commission agreed with the platform (consult, set by staff)."""

    __tablename__ = "metering_tariffs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    rate_per_minute: Mapped[int] = mapped_column(BigInteger)  # minor units, all taxes included
    currency: Mapped[str] = mapped_column(String(3))
    free_minutes: Mapped[int] = mapped_column(Integer)
    packages: Mapped[list[Any]] = mapped_column(JSON)  # [{"minutes": 15, "price": 7500}]
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164
    commission_percent: Mapped[str | None] = mapped_column(String(10), nullable=True)  # decimal text
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "provider_id", name="uq_metering_tariffs_provider"),)


class MeteredSession(Base):
    """A consultation by phone or video, rated per second. `state` mirrors its process instance."""

    __tablename__ = "metering_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    instance_id: Mapped[str] = mapped_column(String(36))
    client_id: Mapped[str] = mapped_column(String(36))
    provider_id: Mapped[str] = mapped_column(String(36))
    appointment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    mode: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    telephony: Mapped[str] = mapped_column(String(20))  # the provider's name (sandbox, ...)
    reference: Mapped[str | None] = mapped_column(String(40), nullable=True)
    client_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_mobile: Mapped[bool] = mapped_column(Boolean)
    tariff: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    budget: Mapped[int] = mapped_column(BigInteger)  # what the client allowed (held), minor units
    hold_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    max_seconds: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the provider's events said (domain.derive)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    billed_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    statement: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    recording_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("telephony", "reference", name="uq_metering_sessions_reference"),
        Index("ix_metering_sessions_client", "platform_id", "client_id"),
        Index("ix_metering_sessions_provider", "platform_id", "provider_id"),
    )


class CallEventRow(Base):
    """A provider event received, once per (provider, event id): a second delivery is a duplicate."""

    __tablename__ = "metering_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telephony: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(60))
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    session_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(30))
    role: Mapped[str | None] = mapped_column(String(10), nullable=True)
    end_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("telephony", "event_id", name="uq_metering_events_event"),
        Index("ix_metering_events_session", "session_id"),
    )
