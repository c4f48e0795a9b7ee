"""Tables of the sanctions module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime


class Sanction(Base):
    __tablename__ = "sanctions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))  # active | lifted
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    facts: Mapped[str] = mapped_column(Text)
    ground: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cure_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sworn_statement: Mapped[str | None] = mapped_column(Text)
    sworn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    effects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # frozen accounts, bans...
    statement_id: Mapped[str | None] = mapped_column(String(36))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(36))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_sanctions_user", "platform_id", "user_id", "status"),)


class RegistrationBan(Base):
    """A normalised identifier (digest) that may not register again while its sanction stands."""

    __tablename__ = "sanction_bans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    sanction_id: Mapped[str] = mapped_column(String(36), ForeignKey("sanctions.id"), index=True)
    key_kind: Mapped[str] = mapped_column(String(16))  # email | phone | device | instrument
    digest: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_sanction_bans_digest", "platform_id", "digest"),)
