"""Tables of the payments module: payments, refunds, mandates, chargebacks, the webhook log, and
the sandbox provider's own records (its operations and the webhooks it sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.accounts import models as _accounts  # noqa: F401 (users, the table our foreign keys target)
from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401

AMOUNT = BigInteger().with_variant(Integer, "sqlite")


class Payment(Base):
    """One card pay-in, card pre-authorisation or SEPA direct debit, as the provider reports it."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    payer_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # payin | preauth | debit
    purpose_kind: Mapped[str] = mapped_column(String(40))
    purpose_id: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(AMOUNT)  # asked (a pre-authorisation: reserved)
    capture_requested: Mapped[int | None] = mapped_column(AMOUNT)
    captured: Mapped[int] = mapped_column(AMOUNT, default=0)  # what the platform received
    refund_reserved: Mapped[int] = mapped_column(AMOUNT, default=0)  # refunds asked and not failed
    refunded: Mapped[int] = mapped_column(AMOUNT, default=0)  # refunds confirmed
    charged_back: Mapped[int] = mapped_column(AMOUNT, default=0)
    fingerprint: Mapped[str] = mapped_column(String(100))
    mandate_id: Mapped[str | None] = mapped_column(String(36))
    clearing_account_id: Mapped[str] = mapped_column(String(36))
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    return_url: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_payments_idempotency"),
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
        Index("ix_payments_payer", "platform_id", "payer_id", "id"),
        Index("ix_payments_fingerprint", "platform_id", "fingerprint"),
    )


class PaymentRefund(Base):
    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    payment_id: Mapped[str] = mapped_column(String(36), ForeignKey("payments.id"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(AMOUNT)
    reason: Mapped[str] = mapped_column(String(500))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_account_id: Mapped[str | None] = mapped_column(String(36))  # None: the purpose's on_refunded
    hold_id: Mapped[str | None] = mapped_column(String(36))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_payment_refunds_idempotency"),
        UniqueConstraint("provider", "provider_ref", name="uq_payment_refunds_provider_ref"),
        Index("ix_payment_refunds_payment", "payment_id"),
    )


class PaymentMandate(Base):
    """A SEPA direct-debit mandate: the IBAN is never stored, only its fingerprint and last four."""

    __tablename__ = "payment_mandates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # pending | active | failed
    fingerprint: Mapped[str] = mapped_column(String(100))
    iban_last4: Mapped[str] = mapped_column(String(4))
    holder_name: Mapped[str] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_payment_mandates_idempotency"),
        UniqueConstraint("provider", "provider_ref", name="uq_payment_mandates_provider_ref"),
        Index("ix_payment_mandates_user", "platform_id", "user_id"),
    )


class PaymentChargeback(Base):
    __tablename__ = "payment_chargebacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    payment_id: Mapped[str] = mapped_column(String(36), ForeignKey("payments.id"))
    payer_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(AMOUNT)
    reason: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(20))  # accepted | contested
    decision_reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))  # accepted | contested | won | lost
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_payment_chargebacks_provider_ref"),
        Index("ix_payment_chargebacks_payer", "platform_id", "payer_id"),
    )


class WebhookEvent(Base):
    """Every webhook received: processed, duplicate, ignored or rejected (forged, stale, replayed)."""

    __tablename__ = "psp_webhook_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(String(100))  # None when rejected before parsing
    signature_hash: Mapped[str | None] = mapped_column(String(64))
    platform_id: Mapped[str | None] = mapped_column(String(36))
    type: Mapped[str | None] = mapped_column(String(40))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # processed | ignored | rejected
    detail: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text, default="")  # the first 4 kB, for investigation

    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_psp_webhook_events_event"),
        Index("ix_psp_webhook_events_signature", "provider", "signature_hash"),
    )


# --- the sandbox provider's own records ----------------------------------------------------------


class SandboxAccount(Base):
    """The sandbox's merchant account for a platform: the secret its webhooks are signed with."""

    __tablename__ = "psp_sandbox_accounts"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SandboxOperation(Base):
    __tablename__ = "psp_sandbox_operations"

    ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # payin | preauth | refund | mandate | debit | payout | kyc | chargeback
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[int | None] = mapped_column(AMOUNT)
    captured: Mapped[int] = mapped_column(AMOUNT, default=0)
    refunded: Mapped[int] = mapped_column(AMOUNT, default=0)
    instrument: Mapped[str] = mapped_column(String(100), default="")  # test card number or IBAN
    related_ref: Mapped[str | None] = mapped_column(String(100))
    return_url: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "idempotency_key", name="uq_psp_sandbox_operations_key"),
    )


class SandboxEvent(Base):
    """A webhook the sandbox sends: due at `deliver_at`, delivered by the worker job."""

    __tablename__ = "psp_sandbox_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    type: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str] = mapped_column(String(100))
    related_ref: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[int | None] = mapped_column(AMOUNT)
    reason: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deliver_at: Mapped[datetime] = mapped_column(UTCDateTime())
    copies: Mapped[int] = mapped_column(Integer, default=1)  # deliveries still to make
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_psp_sandbox_events_due", "delivered_at", "deliver_at"),)
