"""Tables of the privacy module."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from entremise.accounts import models as _accounts  # noqa: F401 (tables our foreign keys name)
from entremise.db.base import Base, UTCDateTime


class MarketingConsent(Base):
    """COMMON-PRIVACY-2: the current marketing choice of a user on one channel (absent: no consent)."""

    __tablename__ = "marketing_consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | phone
    granted: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "user_id", "channel", name="uq_marketing_consents_channel"),
    )


class ConsentEvent(Base):
    """The proof of every consent change: when, on which channel, from where (GDPR art. 7(1))."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(24))  # registration | settings | unsubscribe_link | ...
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (Index("ix_consent_events_user", "platform_id", "user_id", "id"),)


class PrivacyRequest(Base):
    """A data-protection request (COMMON-PRIVACY-1) with its deadline and its reasoned answer."""

    __tablename__ = "privacy_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # access | rectification | erasure | ...
    status: Mapped[str] = mapped_column(String(16))  # open | answered
    details: Mapped[str] = mapped_column(Text, default="")
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)  # restriction, objection
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rectification
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_via: Mapped[str] = mapped_column(String(16))  # self_service | staff
    due_on: Mapped[date] = mapped_column(Date)
    first_due_on: Mapped[date] = mapped_column(Date)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str | None] = mapped_column(String(20))  # granted | partially_granted | refused
    answer: Mapped[str | None] = mapped_column(Text)
    grounds: Mapped[list[str]] = mapped_column(JSON, default=list)
    effects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the answer did
    user_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_privacy_requests_queue", "platform_id", "status", "due_on"),
        Index("ix_privacy_requests_user", "platform_id", "user_id"),
    )


class ProcessingLimit(Base):
    """A restriction (GDPR art. 18) or an objection (art. 21) stopping one purpose for one user."""

    __tablename__ = "processing_limits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # marketing | profiling
    basis: Mapped[str] = mapped_column(String(16))  # restriction | objection
    active: Mapped[bool] = mapped_column(Boolean)
    request_id: Mapped[str | None] = mapped_column(String(36))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "user_id", "purpose", "basis", name="uq_processing_limits_purpose"),
    )


class PostMortemDirective(Base):
    """What a user wants done with their data after death (Loi Informatique et Libertés art. 85)."""

    __tablename__ = "postmortem_directives"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    data_fate: Mapped[str] = mapped_column(String(16))  # keep | erase | communicate
    instructions: Mapped[str] = mapped_column(Text, default="")
    trusted_person_name: Mapped[str | None] = mapped_column(String(200))
    trusted_person_contact: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "user_id", name="uq_postmortem_directives_user"),)


class RetentionPurgeRun(Base):
    """One row per platform: when its retention purge last ran. Locked while a purge runs, so two
    workers never purge one platform at once."""

    __tablename__ = "retention_purge_runs"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_by: Mapped[str | None] = mapped_column(String(100))
