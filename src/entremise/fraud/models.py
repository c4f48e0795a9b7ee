"""Tables of fraud signals: identifiers seen per account (as digests), incidents, verifications,
and the cases staff decide with the signals that raised them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class FraudIdentifier(Base):
    """An identifier an account used (device, phone, payment instrument, bank account): its digest."""

    __tablename__ = "fraud_identifiers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(String(24))
    digest: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(36))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "digest", "user_id", name="uq_fraud_identifiers_seen"),
        Index("ix_fraud_identifiers_user", "platform_id", "user_id"),
    )


class FraudIncident(Base):
    """A chargeback, a refund abuse or an unpaid debt of an account (reported by the module that saw it)."""

    __tablename__ = "fraud_incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "reference", name="uq_fraud_incidents_reference"),
        Index("ix_fraud_incidents_user", "platform_id", "user_id"),
    )


class FraudVerification(Base):
    """One verification of an account's activity (a trip, a document...) and whether it passed."""

    __tablename__ = "fraud_verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "reference", name="uq_fraud_verifications_reference"),
        Index("ix_fraud_verifications_user", "platform_id", "user_id", "at"),
    )


class FraudCase(Base):
    """A case for staff: the accounts concerned, the signals' evidence, and a person's decision."""

    __tablename__ = "fraud_cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | dismissed | confirmed
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_fraud_cases_status", "platform_id", "status", "opened_at"),)


class FraudCaseSignal(Base):
    __tablename__ = "fraud_case_signals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("fraud_cases.id"))
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300))
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(40))  # registration, scan, payments, verification...
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "key", name="uq_fraud_case_signals_key"),
        Index("ix_fraud_case_signals_case", "case_id", "at"),
    )
