"""Billing tables.

Invoices (and credit notes), their lines and their documents (PDF, XML) are written once and never
changed: database triggers refuse UPDATE and DELETE (LAW-INVOICE-1). A billable item changes once:
when it is invoiced (`invoice_id`) or cancelled (`cancelled_at`); triggers refuse anything else.
Quantities, unit prices and VAT rates are stored as canonical decimal strings (exact on SQLite
and PostgreSQL alike); amounts as integers of minor units.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from entremise.accounts import models as _accounts  # noqa: F401  (users: the customers)
from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401  (tables our foreign keys name)


class BillingProfile(Base):
    """How a customer is named on invoices: consumer or business, address, SIREN and VAT number."""

    __tablename__ = "billing_profiles"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # consumer | business
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    siren: Mapped[str | None] = mapped_column(String(20))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))  # where invoices go, if not the login e-mail
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BillingSeller(Base):
    """A provider on whose behalf the platform invoices (a billing mandate), with its own series."""

    __tablename__ = "billing_sellers"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(10))  # series code: invoices FA-<code>-2026-000001
    identity: Mapped[dict[str, Any]] = mapped_column(JSON)  # a SellerIdentity
    mandate_reference: Mapped[str] = mapped_column(String(200))
    mandate_signed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "code", name="uq_billing_sellers_code"),)


class Invoice(Base):
    """An issued invoice or credit note, with the snapshot of everything printed on it."""

    __tablename__ = "billing_invoices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(String(16))  # invoice | credit_note
    series: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(40))
    issue_date: Mapped[date] = mapped_column(Date)
    supply_start: Mapped[date] = mapped_column(Date)
    supply_end: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    seller_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"))
    seller: Mapped[dict[str, Any]] = mapped_column(JSON)
    buyer: Mapped[dict[str, Any]] = mapped_column(JSON)
    business: Mapped[bool] = mapped_column(Boolean)
    net: Mapped[int] = mapped_column(BigInteger)
    vat: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{rate, taxable, vat}]
    mentions: Mapped[dict[str, Any]] = mapped_column(JSON)
    locale: Mapped[str] = mapped_column(String(8))
    einvoice: Mapped[bool] = mapped_column(Boolean)
    credited_invoice_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("billing_invoices.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    run_month: Mapped[str | None] = mapped_column(String(7))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "number", name="uq_billing_invoices_number"),
        UniqueConstraint("platform_id", "series", "year", "seq", name="uq_billing_invoices_seq"),
        Index("ix_billing_invoices_customer", "platform_id", "customer_id", "id"),
        Index("ix_billing_invoices_credited", "credited_invoice_id"),
    )


class InvoiceLine(Base):
    __tablename__ = "billing_invoice_lines"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("billing_invoices.id"))
    platform_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[str] = mapped_column(String(32))
    unit_price: Mapped[str] = mapped_column(String(32))  # net, major units
    vat_rate: Mapped[str] = mapped_column(String(8))
    net: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("billing_items.id"))

    __table_args__ = (Index("ix_billing_invoice_lines_invoice", "invoice_id", "position"),)


class BillableItem(Base):
    """Something a customer owes, waiting to be invoiced (by the monthly run or by staff)."""

    __tablename__ = "billing_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    key: Mapped[str] = mapped_column(String(200))  # idempotency key, unique per platform
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    seller_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[str] = mapped_column(String(32))
    price_mode: Mapped[str] = mapped_column(String(8))  # net | gross: how the price was given
    given_price: Mapped[str] = mapped_column(String(32))  # the unit price as given
    unit_price: Mapped[str] = mapped_column(String(32))  # the net unit price the invoice uses
    vat_rate: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    supply_date: Mapped[date] = mapped_column(Date)
    cause_type: Mapped[str] = mapped_column(String(40))
    cause_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    invoice_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("billing_invoices.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "key", name="uq_billing_items_key"),
        Index("ix_billing_items_open", "platform_id", "invoice_id", "customer_id", "supply_date"),
        Index("ix_billing_items_cause", "platform_id", "cause_type", "cause_id"),
    )


class InvoiceDocument(Base):
    """The bytes of an invoice's PDF (and Factur-X XML), stored once with their SHA-256."""

    __tablename__ = "billing_documents"

    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("billing_invoices.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # pdf | xml
    platform_id: Mapped[str] = mapped_column(String(36))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BillingRun(Base):
    """One monthly invoice run of a platform (KIDRIDE-INVOICE-1): started, finished, how many."""

    __tablename__ = "billing_runs"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the last time it ran
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoices: Mapped[int] = mapped_column(Integer, default=0)
