"""Tables of reviews: the reviews, one lock row per reviewed transaction, and the aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class Review(Base):
    """A rating (1 to 5) with an optional text, by one party of a transaction about the other party
    (and, when the transaction has one, the offer). `status`: held (the filter flagged it, a person
    must look), blind (double-blind: waiting for the other side or the end of the window),
    published, restricted or removed (by moderation)."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    subject_kind: Mapped[str] = mapped_column(String(40))  # djob, appointment, consultation, trip...
    transaction_id: Mapped[str] = mapped_column(String(36))
    author_id: Mapped[str] = mapped_column(String(36))
    author_role: Mapped[str] = mapped_column(String(16))  # client | provider | member
    reviewee_id: Mapped[str] = mapped_column(String(36))
    offer_id: Mapped[str | None] = mapped_column(String(36))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)  # the eligibility decision's rule IDs
    filter_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    moderation_item_id: Mapped[str | None] = mapped_column(String(36))
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # edits accepted until then
    blind_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # double-blind release time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the last change (CONSULT-REVIEW-2)

    __table_args__ = (
        UniqueConstraint(
            "platform_id", "subject_kind", "transaction_id", "author_id", name="uq_reviews_one_per_party"
        ),
        Index("ix_reviews_reviewee", "platform_id", "reviewee_id", "status", "published_at"),
        Index("ix_reviews_offer", "platform_id", "offer_id", "status", "published_at"),
        Index("ix_reviews_author", "platform_id", "author_id", "created_at"),
        Index("ix_reviews_blind", "status", "blind_until"),
    )


class ReviewedTransaction(Base):
    """One row per reviewed transaction, locked while one of its reviews is written, so that the two
    sides of a double-blind pair see each other even when they submit at the same instant."""

    __tablename__ = "reviewed_transactions"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reviews: Mapped[int] = mapped_column(Integer, default=0)


class ReviewAggregate(Base):
    """Count, sum and distribution of the published ratings about one user or one offer, changed by
    one atomic upsert per published, edited or withdrawn rating (exact under concurrent writers)."""

    __tablename__ = "review_aggregates"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    about_kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # user | offer
    about_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    r1: Mapped[int] = mapped_column(BigInteger, default=0)
    r2: Mapped[int] = mapped_column(BigInteger, default=0)
    r3: Mapped[int] = mapped_column(BigInteger, default=0)
    r4: Mapped[int] = mapped_column(BigInteger, default=0)
    r5: Mapped[int] = mapped_column(BigInteger, default=0)
