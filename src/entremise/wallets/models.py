"""Wallet tables: credit packs (data per platform), pack purchases, promo codes and their
redemptions, and reservations (the funding API's holds on a client's bonus and paid credit).

The money itself is in the ledger; these rows say why it moved and what may still move."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class CreditPack(Base):
    __tablename__ = "wallet_credit_packs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column(BigInteger)  # cents, credited as paid credit
    bonus: Mapped[int] = mapped_column(BigInteger)  # cents, credited as bonus credit
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    rules: Mapped[str] = mapped_column(String(200))  # comma-separated rule IDs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_wallet_credit_packs_platform", "platform_id", "active", "position"),)


class PackPurchase(Base):
    """A client buying a pack: `pending` until the card pay-in succeeds (`paid`), or `failed`;
    `refunded` counts what of the price went back to the card."""

    __tablename__ = "wallet_pack_purchases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    pack_id: Mapped[str] = mapped_column(String(36), ForeignKey("wallet_credit_packs.id"))
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column(BigInteger)
    bonus: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[str | None] = mapped_column(String(36))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_withdrawn: Mapped[int] = mapped_column(BigInteger, default=0)
    ledger_transaction_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_wallet_pack_purchases_client", "platform_id", "client_id", "id"),
        UniqueConstraint("platform_id", "idempotency_key", name="uq_wallet_pack_purchases_key"),
    )


class PromoCode(Base):
    __tablename__ = "wallet_promo_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    code: Mapped[str] = mapped_column(String(40))  # upper-cased
    value: Mapped[int] = mapped_column(BigInteger)  # cents added to the bonus balance
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str] = mapped_column(String(20))  # none | new_client | min_purchase
    min_purchase: Mapped[int] = mapped_column(BigInteger, default=0)
    conditions_text: Mapped[str] = mapped_column(Text)  # what the client is shown
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "code", name="uq_wallet_promo_codes_code"),)


class PromoRedemption(Base):
    """One per code and account (the unique constraint is what makes it once per account)."""

    __tablename__ = "wallet_promo_redemptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    promo_id: Mapped[str] = mapped_column(String(36), ForeignKey("wallet_promo_codes.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ledger_transaction_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("promo_id", "client_id", name="uq_wallet_promo_redemptions_once"),
        Index("ix_wallet_promo_redemptions_client", "platform_id", "client_id"),
    )


class Reservation(Base):
    """Client money reserved for a cause: a hold on the bonus account and/or one on paid credit."""

    __tablename__ = "wallet_reservations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    bonus_amount: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int] = mapped_column(BigInteger)
    bonus_hold_id: Mapped[str | None] = mapped_column(String(36))
    paid_hold_id: Mapped[str | None] = mapped_column(String(36))
    cause_type: Mapped[str] = mapped_column(String(40))
    cause_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open | settled | released
    due: Mapped[int | None] = mapped_column(BigInteger)
    end_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_wallet_reservations_key"),
        Index("ix_wallet_reservations_client", "platform_id", "client_id"),
        Index("ix_wallet_reservations_cause", "platform_id", "cause_type", "cause_id"),
    )
