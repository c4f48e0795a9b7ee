"""Tables of the KYC module: a provider's KYC profile, bank accounts and documents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.files import models as _files  # noqa: F401 (the table our foreign keys target)
from entremise.platforms import models as _platforms  # noqa: F401


class KycProfile(Base):
    """Who the provider is for KYC: an individual or a company (with its name). One per user;
    its row is also the lock that serialises a provider's payout requests."""

    __tablename__ = "kyc_profiles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    legal_form: Mapped[str] = mapped_column(String(16))  # individual | company
    company_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "user_id", name="uq_kyc_profiles_user"),)


class BankAccount(Base):
    """An IBAN/BIC a provider is paid to. A change closes the current one (`replaced_at`)."""

    __tablename__ = "kyc_bank_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11), nullable=True)
    country: Mapped[str] = mapped_column(String(2))
    holder_name: Mapped[str] = mapped_column(String(140))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_kyc_bank_accounts_user", "platform_id", "user_id", "replaced_at"),)


class KycDocument(Base):
    """One document a provider supplied: its file, declared issue date, review and PSP outcome."""

    __tablename__ = "kyc_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(40))
    file_id: Mapped[str] = mapped_column(String(36), ForeignKey("stored_files.id"))
    issued_on: Mapped[date | None] = mapped_column(Date(), nullable=True)
    bank_account_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("kyc_bank_accounts.id"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(Boolean(), default=False)
    watch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_kyc_documents_user", "platform_id", "user_id", "type"),
        Index("ix_kyc_documents_queue", "platform_id", "state", "review_due_at"),
        Index("ix_kyc_documents_provider_ref", "provider_ref"),
    )
