"""Tables of digital jobs: offers, orders, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class DJobOffer(Base):
    __tablename__ = "djob_offers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    price: Mapped[int] = mapped_column(BigInteger)  # minor units, all taxes included
    currency: Mapped[str] = mapped_column(String(3))
    delivery_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_djob_offers_provider", "platform_id", "provider_id", "active"),)


class DJobOrder(Base):
    """An order: the cart's offer (as it was), quantity and price, the brief and its files, the hold,
    and the terms recorded when it was placed (CONSULT-DJOB-1). `state` mirrors its process instance."""

    __tablename__ = "djob_orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    provider_id: Mapped[str] = mapped_column(String(36))
    offer_id: Mapped[str] = mapped_column(String(36), ForeignKey("djob_offers.id"))
    instance_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    commission: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    brief: Mapped[str] = mapped_column(Text)
    brief_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    hold_id: Mapped[str] = mapped_column(String(36))
    revisions: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # set on acceptance
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_djob_orders_client", "platform_id", "client_id"),
        Index("ix_djob_orders_provider", "platform_id", "provider_id"),
    )


class DJobDelivery(Base):
    """One delivery of an order (the first, or one after a revision), and the client's answer."""

    __tablename__ = "djob_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("djob_orders.id"))
    number: Mapped[int] = mapped_column(Integer)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(String(20))  # accepted | auto_accepted | revision
    answer_note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_djob_deliveries_order", "order_id", "number"),)
