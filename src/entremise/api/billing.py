"""Billing API: customers read and download their invoices and credit notes; staff record billable
items, issue invoices and credit notes, set billing profiles and mandates, and read everything.

Nobody reads another customer's or another platform's invoice: a customer's routes filter by the
caller, every query by the platform of the path, and what is not theirs is a 404.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.audit.service import Actor
from entremise.billing import documents
from entremise.billing import service as billing
from entremise.billing.views import InvoiceView, ItemView, ProfileView, SellerView
from entremise.kernel.errors import NotFound
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["billing"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
Short = Annotated[Text, Field(max_length=200)]
DecimalText = Annotated[
    Text, Field(min_length=1, max_length=32, description='a decimal written as text, such as "12.50"')
]
Kind = Literal["invoice", "credit_note"]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}
XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {"schema": {"type": "string"}}}}
}


# --- shapes ---------------------------------------------------------------------------------------


class LineOut(BaseModel):
    position: int
    description: str
    quantity: str
    unit_price: str
    vat_rate: str
    net: int


class VatOut(BaseModel):
    vat_rate: str
    taxable: int
    vat: int


class InvoiceOut(BaseModel):
    id: str
    kind: str
    number: str
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
    einvoice: bool
    net: int
    vat: int
    gross: int
    vat_breakdown: list[VatOut]
    lines: list[LineOut]
    mentions: dict[str, Any]
    credited_invoice_id: str | None
    reason: str
    run_month: str | None
    rules: list[str]
    created_at: datetime

    @staticmethod
    def of(v: InvoiceView) -> InvoiceOut:
        return InvoiceOut(
            id=v.id,
            kind=v.kind,
            number=v.number,
            issue_date=v.issue_date,
            supply_start=v.supply_start,
            supply_end=v.supply_end,
            due_date=v.due_date,
            currency=v.currency,
            customer_id=v.customer_id,
            seller_id=v.seller_id,
            seller=v.seller,
            buyer={k: val for k, val in v.buyer.items() if k != "locale"},
            business=v.business,
            einvoice=v.einvoice,
            net=v.net.amount,
            vat=v.vat.amount,
            gross=v.gross.amount,
            vat_breakdown=[
                VatOut(vat_rate=str(b.rate), taxable=b.taxable.amount, vat=b.vat.amount) for b in v.breakdown
            ],
            lines=[
                LineOut(
                    position=ln.position,
                    description=ln.description,
                    quantity=str(ln.quantity),
                    unit_price=str(ln.unit_price),
                    vat_rate=str(ln.vat_rate),
                    net=ln.net.amount,
                )
                for ln in v.lines
            ],
            mentions=v.mentions,
            credited_invoice_id=v.credited_invoice_id,
            reason=v.reason,
            run_month=v.run_month,
            rules=list(v.rules),
            created_at=v.created_at,
        )


class ItemOut(BaseModel):
    id: str
    key: str
    status: str
    customer_id: str
    seller_id: str | None
    description: str
    quantity: str
    price_mode: str
    given_price: str
    unit_price: str
    vat_rate: str
    currency: str
    supply_date: date
    cause_type: str
    cause_id: str
    invoice_id: str | None
    created_at: datetime

    @staticmethod
    def of(v: ItemView) -> ItemOut:
        return ItemOut(
            id=v.id,
            key=v.key,
            status=v.status,
            customer_id=v.customer_id,
            seller_id=v.seller_id,
            description=v.description,
            quantity=str(v.quantity),
            price_mode=v.price_mode,
            given_price=str(v.given_price),
            unit_price=str(v.unit_price),
            vat_rate=str(v.vat_rate),
            currency=v.currency,
            supply_date=v.supply_date,
            cause_type=v.cause_type,
            cause_id=v.cause_id,
            invoice_id=v.invoice_id,
            created_at=v.created_at,
        )


class ProfileIn(ApiModel):
    kind: Literal["consumer", "business"]
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    address_line1: Annotated[Text, Field(min_length=1, max_length=200)]
    address_line2: Short | None = None
    postcode: Annotated[Text, Field(max_length=20)] | None = None
    city: Annotated[Text, Field(max_length=100)] | None = None
    country: Annotated[Text, Field(pattern=r"^[A-Za-z]{2}$")] = "FR"
    siren: Annotated[Text, Field(max_length=20)] | None = None
    vat_number: Annotated[Text, Field(max_length=20)] | None = None
    email: Annotated[Text, Field(max_length=320)] | None = None


class ProfileOut(BaseModel):
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

    @staticmethod
    def of(v: ProfileView) -> ProfileOut:
        return ProfileOut(**v.__dict__)


class ItemIn(ApiModel):
    customer_id: Annotated[Text, Field(min_length=1, max_length=36)]
    description: Annotated[Text, Field(min_length=1, max_length=500)]
    quantity: DecimalText = "1"
    unit_price: DecimalText
    price_mode: Literal["net", "gross"] = "net"
    vat_rate: Annotated[Text, Field(min_length=1, max_length=8, description='a rate such as "20" or "5.5"')]
    supply_date: date
    seller_id: Annotated[Text, Field(min_length=1, max_length=36)] | None = None
    key: Annotated[Text, Field(min_length=1, max_length=200)] | None = None


class InvoiceIn(ApiModel):
    customer_id: Annotated[Text, Field(min_length=1, max_length=36)]
    item_ids: Annotated[
        list[Annotated[Text, Field(min_length=1, max_length=36)]], Field(min_length=1, max_length=500)
    ]
    payment_terms_days: Annotated[StrictInt, Field(ge=0, le=365)] | None = None
    end_of_month: bool | None = None


class CreditLineIn(ApiModel):
    description: Annotated[Text, Field(min_length=1, max_length=500)]
    quantity: DecimalText = "1"
    unit_price: DecimalText
    vat_rate: Annotated[Text, Field(min_length=1, max_length=8)]


class CreditNoteIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    lines: Annotated[list[CreditLineIn], Field(min_length=1, max_length=500)] | None = None


class SellerIn(ApiModel):
    code: Annotated[Text, Field(min_length=1, max_length=10)]
    identity: dict[str, Any]
    mandate_reference: Annotated[Text, Field(min_length=1, max_length=200)]
    mandate_signed_on: date


class SellerOut(BaseModel):
    provider_id: str
    code: str
    identity: dict[str, Any]
    mandate_reference: str
    mandate_signed_on: date
    updated_at: datetime

    @staticmethod
    def of(v: SellerView) -> SellerOut:
        return SellerOut(**v.__dict__)


def _actor(principal: Principal) -> Actor:
    return Actor("staff" if principal.is_staff else "user", principal.user_id)


def _document(
    runtime: Runtime,
    db: Db,
    platform: PlatformView,
    invoice_id: str,
    kind: str,
    now: datetime,
    customer: str | None,
) -> Response:
    """The stored bytes (rendered and stored on first demand), with their SHA-256 as ETag."""
    with db.begin():
        invoice = billing.get_invoice(
            db, platform_id=platform.id, invoice_id=invoice_id, customer_id=customer
        )
    if kind == documents.XML and not invoice.einvoice:
        raise NotFound("this invoice has no Factur-X XML (it is not a business e-invoice)")
    documents.ensure_documents(runtime.sessions, platform_id=platform.id, invoice_id=invoice.id, now=now)
    with db.begin():
        doc = documents.get_document(db, platform_id=platform.id, invoice_id=invoice.id, kind=kind)
    if doc is None:  # pragma: no cover - ensure_documents stored both
        raise NotFound("no such document")
    return Response(
        content=doc.content,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{documents.file_name(invoice, kind)}"',
            "ETag": f'"{doc.sha256}"',
            "X-Content-SHA256": doc.sha256,
            "Cache-Control": "private, max-age=0",
        },
    )


# --- customers ----------------------------------------------------------------------------------


@router.get("/me/invoices", response_model=Page[InvoiceOut], summary="My invoices and credit notes")
def my_invoices(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination, kind: Kind | None = None
) -> Page[InvoiceOut]:
    with db.begin():
        rows = billing.list_invoices(
            db,
            platform_id=platform.id,
            customer_id=principal.user_id,
            kind=kind,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=InvoiceOut.of)


@router.get("/me/invoices/{invoice_id}", response_model=InvoiceOut, summary="One of my invoices")
def my_invoice(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, invoice_id: Id) -> InvoiceOut:
    with db.begin():
        v = billing.get_invoice(
            db, platform_id=platform.id, invoice_id=invoice_id, customer_id=principal.user_id
        )
    return InvoiceOut.of(v)


@router.get(
    "/me/invoices/{invoice_id}/pdf",
    responses=PDF_RESPONSE,
    response_class=Response,
    summary="My invoice's PDF",
)
def my_invoice_pdf(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
    invoice_id: Id,
) -> Response:
    return _document(runtime, db, platform, invoice_id, documents.PDF, now, principal.user_id)


@router.get(
    "/me/invoices/{invoice_id}/xml",
    responses=XML_RESPONSE,
    response_class=Response,
    summary="My invoice's Factur-X XML",
)
def my_invoice_xml(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
    invoice_id: Id,
) -> Response:
    return _document(runtime, db, platform, invoice_id, documents.XML, now, principal.user_id)


@router.get("/me/billing-profile", response_model=ProfileOut, summary="How I am named on invoices")
def my_profile(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> ProfileOut:
    with db.begin():
        v = billing.get_profile(db, platform_id=platform.id, user_id=principal.user_id)
    if v is None:
        raise NotFound("no billing profile yet")
    return ProfileOut.of(v)


@router.put("/me/billing-profile", response_model=ProfileOut, summary="Set how I am named on invoices")
def set_my_profile(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: ProfileIn
) -> ProfileOut:
    with db.begin():
        v = billing.set_profile(
            db,
            platform=platform,
            user_id=principal.user_id,
            data=body.model_dump(),
            now=now,
            actor=_actor(principal),
        )
    return ProfileOut.of(v)


# --- staff -------------------------------------------------------------------------------------------


@router.get(
    "/billing/invoices", response_model=Page[InvoiceOut], summary="Every invoice and credit note (staff)"
)
def all_invoices(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    kind: Kind | None = None,
) -> Page[InvoiceOut]:
    with db.begin():
        rows = billing.list_invoices(
            db,
            platform_id=platform.id,
            customer_id=customer_id,
            kind=kind,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=InvoiceOut.of)


@router.get("/billing/invoices/{invoice_id}", response_model=InvoiceOut, summary="One invoice (staff)")
def one_invoice(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db, invoice_id: Id) -> InvoiceOut:
    with db.begin():
        return InvoiceOut.of(billing.get_invoice(db, platform_id=platform.id, invoice_id=invoice_id))


@router.get(
    "/billing/invoices/{invoice_id}/pdf",
    responses=PDF_RESPONSE,
    response_class=Response,
    summary="An invoice's PDF (staff)",
)
def invoice_pdf(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep, invoice_id: Id
) -> Response:
    return _document(runtime, db, platform, invoice_id, documents.PDF, now, None)


@router.get(
    "/billing/invoices/{invoice_id}/xml",
    responses=XML_RESPONSE,
    response_class=Response,
    summary="An invoice's XML (staff)",
)
def invoice_xml(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep, invoice_id: Id
) -> Response:
    return _document(runtime, db, platform, invoice_id, documents.XML, now, None)


@router.post(
    "/billing/invoices",
    status_code=201,
    response_model=InvoiceOut,
    summary="Issue an invoice from items (staff)",
)
def issue_invoice(
    staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep, body: InvoiceIn
) -> InvoiceOut:
    with db.begin():
        v = billing.invoice_items(
            db,
            platform=platform,
            customer_id=body.customer_id,
            item_ids=body.item_ids,
            now=now,
            actor=_actor(staff),
            payment_terms_days=body.payment_terms_days,
            end_of_month=body.end_of_month,
        )
    documents.ensure_documents(runtime.sessions, platform_id=platform.id, invoice_id=v.id, now=now)
    return InvoiceOut.of(v)


@router.post(
    "/billing/invoices/{invoice_id}/credit-notes",
    status_code=201,
    response_model=InvoiceOut,
    summary="Issue a credit note on an invoice (staff): of the lines given, or of all that remains",
)
def credit_note(
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
    invoice_id: Id,
    body: CreditNoteIn,
) -> InvoiceOut:
    lines = (
        [billing.CreditLine(ln.description, ln.quantity, ln.unit_price, ln.vat_rate) for ln in body.lines]
        if body.lines is not None
        else None
    )
    with db.begin():
        v = billing.issue_credit_note(
            db,
            platform=platform,
            invoice_id=invoice_id,
            reason=body.reason,
            lines=lines,
            now=now,
            actor=_actor(staff),
        )
    documents.ensure_documents(runtime.sessions, platform_id=platform.id, invoice_id=v.id, now=now)
    return InvoiceOut.of(v)


@router.post(
    "/billing/items", status_code=201, response_model=ItemOut, summary="Record a billable item (staff)"
)
def record_item(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, body: ItemIn) -> ItemOut:
    with db.begin():
        v = billing.record_item(
            db,
            platform=platform,
            key=body.key or f"staff:{uuid.uuid4()}",
            customer_id=body.customer_id,
            description=body.description,
            quantity=body.quantity,
            unit_price=body.unit_price,
            price_mode=body.price_mode,
            vat_rate=body.vat_rate,
            supply_date=body.supply_date,
            seller_id=body.seller_id,
            cause=("staff", staff.user_id),
            now=now,
            actor=_actor(staff),
        )
    return ItemOut.of(v)


@router.get("/billing/items", response_model=Page[ItemOut], summary="Billable items (staff)")
def items(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Literal["open", "invoiced", "cancelled"] | None = None,
) -> Page[ItemOut]:
    with db.begin():
        rows = billing.list_items(
            db,
            platform_id=platform.id,
            customer_id=customer_id,
            status=status,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=ItemOut.of)


@router.post(
    "/billing/items/{item_id}/cancel",
    response_model=ItemOut,
    summary="Cancel an item not invoiced yet (staff)",
)
def cancel_item(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, item_id: Id) -> ItemOut:
    with db.begin():
        return ItemOut.of(
            billing.cancel_item(db, platform_id=platform.id, item_id=item_id, now=now, actor=_actor(staff))
        )


@router.put(
    "/billing/customers/{user_id}/profile",
    response_model=ProfileOut,
    summary="Set a customer's billing profile (staff)",
)
def set_customer_profile(
    staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, user_id: Id, body: ProfileIn
) -> ProfileOut:
    with db.begin():
        v = billing.set_profile(
            db, platform=platform, user_id=user_id, data=body.model_dump(), now=now, actor=_actor(staff)
        )
    return ProfileOut.of(v)


@router.put(
    "/billing/sellers/{provider_id}",
    response_model=SellerOut,
    summary="Record a provider's billing mandate (staff)",
)
def set_seller(
    staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, provider_id: Id, body: SellerIn
) -> SellerOut:
    with db.begin():
        v = billing.set_seller(
            db,
            platform=platform,
            provider_id=provider_id,
            code=body.code,
            identity=body.identity,
            mandate_reference=body.mandate_reference,
            mandate_signed_on=body.mandate_signed_on,
            now=now,
            actor=_actor(staff),
        )
    return SellerOut.of(v)
