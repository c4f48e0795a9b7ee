"""Process instances and their timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class ProcessInstance(Base):
    """One run of a process (a booking, an order, a ride...), pinned to the definition version it started on."""

    __tablename__ = "process_instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    process: Mapped[str] = mapped_column(String(40))
    process_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    row_version: Mapped[int] = mapped_column(Integer, default=1)  # +1 on every transition
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_process_instances_subject", "platform_id", "subject_type", "subject_id"),
        Index("ix_process_instances_state", "platform_id", "process", "state"),
    )


class Timer(Base):
    """A transition the system takes when due. Claimed by one worker at a time (see booking.timers)."""

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    instance_id: Mapped[str] = mapped_column(String(36), ForeignKey("process_instances.id"))
    transition: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending | done | cancelled | failed | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_timers_due", "status", "next_attempt_at"),
        Index("ix_timers_instance", "instance_id", "status"),
    )
