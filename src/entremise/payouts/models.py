"""Tables of the payouts module: one row per payout, from request to the provider's outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.kyc import models as _kyc  # noqa: F401 (the table our foreign keys target)
from entremise.platforms import models as _platforms  # noqa: F401


class Payout(Base):
    """Money leaving a provider's wallet for their bank account.

    `requested` → `in_transit` (the ledger moved it to payouts in transit and the provider accepted
    the order) → `paid` (confirmed: moved to PSP clearing) or `bounced` (returned to the wallet)."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    request_key: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    bank_account_id: Mapped[str] = mapped_column(String(36), ForeignKey("kyc_bank_accounts.id"))
    state: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # request | schedule
    rules: Mapped[str] = mapped_column(String(200))
    provider_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("platform_id", "user_id", "request_key", name="uq_payouts_request_key"),
        Index("ix_payouts_user", "platform_id", "user_id", "requested_at"),
        Index("ix_payouts_provider_ref", "provider_ref"),
    )
