"""Ledger tables. Transactions, entries and holds are append-only (database triggers refuse
UPDATE and DELETE); an account row only ever changes its `frozen` flag; a balance row is the
cached sum of its account's entries (the balance checkpoint), rewritten under a row lock in the
posting transaction; it also mirrors the account's `frozen` flag, so that the one row a posting
locks tells it everything that can change about the account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401  (tables our foreign keys name)


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    no_negative: Mapped[bool] = mapped_column(Boolean)
    no_positive: Mapped[bool] = mapped_column(Boolean)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "key", name="uq_ledger_accounts_key"),
        Index("ix_ledger_accounts_owner", "platform_id", "owner_id"),
    )


class LedgerBalance(Base):
    """The cached balance of one account; the row posting transactions lock (in account id order).

    `frozen` mirrors `LedgerAccount.frozen` (freeze/unfreeze write both under this row's lock;
    `verify` checks they agree): read from the locked row, it is always current.
    """

    __tablename__ = "ledger_balances"

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("ledger_accounts.id"), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    posted: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LedgerHold(Base):
    """Money reserved on an account; what is left of it is the sum of its `held` entries."""

    __tablename__ = "ledger_holds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("ledger_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ledger_holds_account", "account_id"),)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(80))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    hold_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("ledger_holds.id"))
    reverses_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_ledger_transactions_key"),
        UniqueConstraint("reverses_id", name="uq_ledger_transactions_reverses"),
        Index("ix_ledger_transactions_cause", "platform_id", "object_type", "object_id"),
        Index("ix_ledger_transactions_hold", "hold_id"),
    )


class LedgerEntry(Base):
    """A signed change of one bucket ("posted" or "held") of one account."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    platform_id: Mapped[str] = mapped_column(String(36))
    transaction_id: Mapped[str] = mapped_column(String(36), ForeignKey("ledger_transactions.id"))
    transfer_no: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("ledger_accounts.id"))
    bucket: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    hold_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("ledger_holds.id"))

    __table_args__ = (
        Index("ix_ledger_entries_account", "account_id", "bucket"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
        Index("ix_ledger_entries_hold", "hold_id"),
    )
