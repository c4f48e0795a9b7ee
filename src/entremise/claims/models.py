"""Tables of the claims module: claims, their evidence, answers and refunds; providers' mediators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.accounts import models as _accounts  # noqa: F401 (users, the table our foreign keys target)
from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401

AUTO_ID = BigInteger().with_variant(Integer, "sqlite")


class Claim(Base):
    """One claim (a complaint, a contestation): its subject, who filed it, who must answer, by when."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    reference: Mapped[str] = mapped_column(String(40))  # human reference, e.g. R-000042
    kind: Mapped[str] = mapped_column(String(40))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject_id: Mapped[str | None] = mapped_column(String(64))
    claimant_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    respondent: Mapped[str] = mapped_column(String(16))  # provider | platform
    respondent_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"))
    provider_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"))  # the seller
    state: Mapped[str] = mapped_column(String(16))
    object: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(500))
    pseudonym: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reference_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the filing window counts from it
    filing_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision: Mapped[str | None] = mapped_column(String(20))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(16))  # claimant | staff
    watch_id: Mapped[str | None] = mapped_column(String(36))  # the claim-deadline process instance

    __table_args__ = (
        UniqueConstraint("platform_id", "reference", name="uq_claims_reference"),
        Index("ix_claims_claimant", "platform_id", "claimant_id", "id"),
        Index("ix_claims_respondent", "platform_id", "respondent_id", "id"),
        Index("ix_claims_subject", "platform_id", "kind", "subject_id"),
        Index("ix_claims_state_due", "platform_id", "state", "answer_due_at"),
    )


class ClaimEvidence(Base):
    """A piece of evidence: a text, or a reference (a call id, an order number, an address).

    Files will attach here once the files module exists (a `file_id` and the kind `file`)."""

    __tablename__ = "claim_evidence"

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"))
    kind: Mapped[str] = mapped_column(String(16))  # text | reference
    text: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    added_as: Mapped[str] = mapped_column(String(16))  # claimant | respondent | staff
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_claim_evidence_claim", "claim_id", "id"),)


class ClaimAnswer(Base):
    """An answer to a claim (a claim escalated to staff may get a second one)."""

    __tablename__ = "claim_answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"))
    seq: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    author_as: Mapped[str] = mapped_column(String(16))  # provider | staff
    decision: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    on_time: Mapped[bool] = mapped_column()

    __table_args__ = (UniqueConstraint("claim_id", "seq", name="uq_claim_answers_seq"),)


class ClaimRefund(Base):
    """Money given back by a resolution, through a refund method (credit back, later card)."""

    __tablename__ = "claim_refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"))
    answer_id: Mapped[str] = mapped_column(String(36), ForeignKey("claim_answers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # done | pending
    external_ref: Mapped[str] = mapped_column(String(64))  # the ledger transaction (or PSP refund) id
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("answer_id", name="uq_claim_refunds_answer_id"),
        Index("ix_claim_refunds_subject", "platform_id", "kind", "subject_id"),
    )


class ProviderMediator(Base):
    """The mediator a provider designates where the provider is the seller (expert)."""

    __tablename__ = "provider_mediators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    website: Mapped[str] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "provider_id", name="uq_provider_mediators_provider"),)
