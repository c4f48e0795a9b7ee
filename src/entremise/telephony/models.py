"""Tables of the sandbox telephony/video provider: the calls it placed and the webhooks it will send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime


class SandboxCall(Base):
    """A call or room the sandbox placed, with the script it plays."""

    __tablename__ = "telephony_sandbox_calls"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    session_id: Mapped[str] = mapped_column(String(36))
    mode: Mapped[str] = mapped_column(String(10))
    script: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))  # placed, hung_up
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SandboxWebhook(Base):
    """One delivery the sandbox owes the engine: sent by the worker when due, retried on failure."""

    __tablename__ = "telephony_sandbox_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))  # pending, delivered, rejected, cancelled, dead
    attempts: Mapped[int] = mapped_column(Integer)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_telephony_sandbox_webhooks_due", "status", "due_at"),
        Index("ix_telephony_sandbox_webhooks_reference", "reference"),
    )
