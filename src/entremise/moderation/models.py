"""Tables of the moderation module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime


class ModerationItem(Base):
    """One piece of content waiting for (or having had) a human decision."""

    __tablename__ = "moderation_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(String(40))
    content_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str | None] = mapped_column(String(36))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(40))  # notice | content_filter | ...
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # held before publication
    automated: Mapped[bool] = mapped_column(Boolean, default=False)  # detected by automated means
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # pending | decided | reversed
    decision: Mapped[str | None] = mapped_column(String(16))
    facts: Mapped[str | None] = mapped_column(Text)
    ground_kind: Mapped[str | None] = mapped_column(String(8))
    ground: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_moderation_items_queue", "platform_id", "status", "created_at"),
        Index("ix_moderation_items_content", "platform_id", "kind", "content_id"),
    )


class Notice(Base):
    """A notice of allegedly illicit content (LAW-DSA-16, COMMON-NOTICE-1)."""

    __tablename__ = "moderation_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    item_id: Mapped[str] = mapped_column(String(36), ForeignKey("moderation_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    content_id: Mapped[str] = mapped_column(String(64))
    notifier_user_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    email_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # explanation, location, LCEN...
    locale: Mapped[str] = mapped_column(String(8))
    contest_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_moderation_notices_ip", "platform_id", "ip_hash", "created_at"),
        Index("ix_moderation_notices_email", "platform_id", "email_hash", "created_at"),
    )


class StatementOfReasons(Base):
    """LAW-DSA-17: sent with every restriction, to the person it affects."""

    __tablename__ = "moderation_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(40))  # moderation_item | sanction
    source_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(40))
    facts: Mapped[str] = mapped_column(Text)
    automated_detection: Mapped[bool] = mapped_column(Boolean)
    automated_decision: Mapped[bool] = mapped_column(Boolean)
    ground_kind: Mapped[str] = mapped_column(String(8))
    ground: Mapped[str] = mapped_column(Text)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    redress: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(36))
    contest_until: Mapped[datetime] = mapped_column(UTCDateTime())
    contest_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Complaint(Base):
    """LAW-DSA-20: an internal complaint against a decision, by its addressee or the notifier."""

    __tablename__ = "moderation_complaints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    source_kind: Mapped[str] = mapped_column(String(40))  # moderation_item | sanction
    source_id: Mapped[str] = mapped_column(String(36))
    statement_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("moderation_statements.id"))
    notice_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("moderation_notices.id"))
    complainant: Mapped[str] = mapped_column(String(16))  # addressee | notifier
    complainant_user_id: Mapped[str | None] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
    first_decider: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))  # open | upheld | reversed
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(36))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_moderation_complaints_queue", "platform_id", "status", "created_at"),)


class HiddenContent(Base):
    """Content whose visibility moderation restricted, for kinds this module keeps (profiles)."""

    __tablename__ = "moderation_hidden"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(String(40))
    content_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # restricted | removed
    since: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "kind", "content_id", name="uq_moderation_hidden"),)
