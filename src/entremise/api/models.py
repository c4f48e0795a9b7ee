"""Tables owned by the API layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime


class IdempotencyKey(Base):
    """One `Idempotency-Key` a client sent on a POST, and the answer it got.

    Scoped by the platform slug of the path ("-" outside platforms), the caller (a SHA-256 of its
    credentials, or "anonymous") and the key. While the request runs, `state` is "running" and the
    row expires soon (a crashed server frees it); once answered, `state` is "done" and the answer is
    kept for 24 hours. Expired rows are ignored and purged.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    platform_scope: Mapped[str] = mapped_column(String(40))
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # running | done
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_scope", "principal", "key", name="uq_idempotency_keys_scope"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )
