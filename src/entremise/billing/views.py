"""What the billing service returns: plain frozen values built from rows (no session attached)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from entremise.billing.models import BillableItem, BillingProfile, BillingSeller, Invoice, InvoiceLine
from entremise.kernel.money import Money


@dataclass(frozen=True)
class LineView:
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal  # net
    vat_rate: Decimal
    net: Money
    item_id: str | None


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    taxable: Money
    vat: Money


@dataclass(frozen=True)
class InvoiceView:
    id: str
    platform_id: str
    kind: str  # invoice | credit_note
    number: str
    series: str
    issue_date: date
    supply_start: date
    supply_end: date
    due_date: date | None
    currency: str
    customer_id: str
    seller_id: str | None
    seller: dict[str, Any]
    buyer: dict[str, Any]
    business: bool
    net: Money
    vat: Money
    gross: Money
    breakdown: tuple[VatRow, ...]
    mentions: dict[str, Any]
    locale: str
    einvoice: bool
    credited_invoice_id: str | None
    reason: str
    run_month: str | None
    rules: tuple[str, ...]
    created_at: datetime
    lines: tuple[LineView, ...]

    def taxable_by_rate(self) -> dict[Decimal, Money]:
        return {row.rate: row.taxable for row in self.breakdown}


def invoice_view(row: Invoice, lines: list[InvoiceLine]) -> InvoiceView:
    cur = row.currency
    return InvoiceView(
        id=row.id,
        platform_id=row.platform_id,
        kind=row.kind,
        number=row.number,
        series=row.series,
        issue_date=row.issue_date,
        supply_start=row.supply_start,
        supply_end=row.supply_end,
        due_date=row.due_date,
        currency=cur,
        customer_id=row.customer_id,
        seller_id=row.seller_id,
        seller=dict(row.seller),
        buyer=dict(row.buyer),
        business=row.business,
        net=Money(row.net, cur),
        vat=Money(row.vat, cur),
        gross=Money(row.gross, cur),
        breakdown=tuple(
            VatRow(Decimal(b["rate"]), Money(int(b["taxable"]), cur), Money(int(b["vat"]), cur))
            for b in row.breakdown
        ),
        mentions=dict(row.mentions),
        locale=row.locale,
        einvoice=row.einvoice,
        credited_invoice_id=row.credited_invoice_id,
        reason=row.reason,
        run_month=row.run_month,
        rules=tuple(row.rules),
        created_at=row.created_at,
        lines=tuple(
            LineView(
                position=line.position,
                description=line.description,
                quantity=Decimal(line.quantity),
                unit_price=Decimal(line.unit_price),
                vat_rate=Decimal(line.vat_rate),
                net=Money(line.net, cur),
                item_id=line.item_id,
            )
            for line in sorted(lines, key=lambda x: x.position)
        ),
    )


@dataclass(frozen=True)
class ItemView:
    id: str
    key: str
    customer_id: str
    seller_id: str | None
    description: str
    quantity: Decimal
    price_mode: str
    given_price: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    currency: str
    supply_date: date
    cause_type: str
    cause_id: str
    created_at: datetime
    invoice_id: str | None
    cancelled_at: datetime | None

    @property
    def status(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "invoiced" if self.invoice_id else "open"


def item_view(row: BillableItem) -> ItemView:
    return ItemView(
        id=row.id,
        key=row.key,
        customer_id=row.customer_id,
        seller_id=row.seller_id,
        description=row.description,
        quantity=Decimal(row.quantity),
        price_mode=row.price_mode,
        given_price=Decimal(row.given_price),
        unit_price=Decimal(row.unit_price),
        vat_rate=Decimal(row.vat_rate),
        currency=row.currency,
        supply_date=row.supply_date,
        cause_type=row.cause_type,
        cause_id=row.cause_id,
        created_at=row.created_at,
        invoice_id=row.invoice_id,
        cancelled_at=row.cancelled_at,
    )


PARTY_FIELDS = ("name", "address_line1", "address_line2", "postcode", "city", "country")


@dataclass(frozen=True)
class ProfileView:
    user_id: str
    kind: str
    name: str
    address_line1: str
    address_line2: str | None
    postcode: str | None
    city: str | None
    country: str
    siren: str | None
    vat_number: str | None
    email: str | None
    updated_at: datetime


def profile_view(row: BillingProfile) -> ProfileView:
    return ProfileView(
        user_id=row.user_id,
        kind=row.kind,
        name=row.name,
        address_line1=row.address_line1,
        address_line2=row.address_line2,
        postcode=row.postcode,
        city=row.city,
        country=row.country,
        siren=row.siren,
        vat_number=row.vat_number,
        email=row.email,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True)
class SellerView:
    provider_id: str
    code: str
    identity: dict[str, Any]
    mandate_reference: str
    mandate_signed_on: date
    updated_at: datetime


def seller_view(row: BillingSeller) -> SellerView:
    return SellerView(
        provider_id=row.provider_id,
        code=row.code,
        identity=dict(row.identity),
        mandate_reference=row.mandate_reference,
        mandate_signed_on=row.mandate_signed_on,
        updated_at=row.updated_at,
    )
