"""Tables of the terms module."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime


class TermsVersion(Base):
    __tablename__ = "terms_versions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    audience: Mapped[str] = mapped_column(String(16))  # client | provider | business
    version: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("platform_id", "audience", "version", name="uq_terms_versions_label"),
        Index("ix_terms_versions_effective", "platform_id", "audience", "effective_at"),
    )


class TermsAcceptance(Base):
    """COMMON-TERMS-1 evidence: who accepted which version, when, from where."""

    __tablename__ = "terms_acceptances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    terms_version_id: Mapped[str] = mapped_column(String(36), ForeignKey("terms_versions.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (
        UniqueConstraint("platform_id", "user_id", "terms_version_id", name="uq_terms_acceptances_once"),
    )


class WithdrawalRight(Base):
    """COMMON-WITHDRAW-1: one consumer contract, its withdrawal deadline and any express waiver."""

    __tablename__ = "withdrawal_rights"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    concluded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiver_text: Mapped[str | None] = mapped_column(Text)
    waiver_ip: Mapped[str | None] = mapped_column(String(45))
    waiver_user_agent: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (
        UniqueConstraint("platform_id", "object_type", "object_id", name="uq_withdrawal_rights_ref"),
    )
