"""Billing in the privacy export (COMMON-PRIVACY-1): the user's billing profile, their seller identity
and mandate, the invoices and credit notes they received or that were issued in their name, and the
billable items not yet invoiced. Invoice metadata only: the PDF and XML are downloaded through the
billing API. Invoices are kept for their legal retention; nothing here is purged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.billing.models import BillableItem, BillingProfile, BillingSeller, Invoice
from entremise.privacy.parties import iso
from entremise.privacy.registry import register_exporter


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    profile = db.get(BillingProfile, (platform_id, user_id))
    seller = db.get(BillingSeller, (platform_id, user_id))
    invoices = db.scalars(
        select(Invoice)
        .where(
            Invoice.platform_id == platform_id,
            or_(Invoice.customer_id == user_id, Invoice.seller_id == user_id),
        )
        .order_by(Invoice.created_at, Invoice.id)
    ).all()
    items = db.scalars(
        select(BillableItem)
        .where(
            BillableItem.platform_id == platform_id,
            or_(BillableItem.customer_id == user_id, BillableItem.seller_id == user_id),
            BillableItem.invoice_id.is_(None),
        )
        .order_by(BillableItem.created_at, BillableItem.id)
    ).all()
    return {
        "profile": None
        if profile is None
        else {
            "kind": profile.kind,
            "name": profile.name,
            "address_line1": profile.address_line1,
            "address_line2": profile.address_line2,
            "postcode": profile.postcode,
            "city": profile.city,
            "country": profile.country,
            "siren": profile.siren,
            "vat_number": profile.vat_number,
            "email": profile.email,
            "updated_at": iso(profile.updated_at),
        },
        "seller": None
        if seller is None
        else {
            "code": seller.code,
            "identity": seller.identity,
            "mandate_reference": seller.mandate_reference,
            "mandate_signed_on": iso(seller.mandate_signed_on),
        },
        "invoices": [
            {
                "id": i.id,
                "as": "customer" if i.customer_id == user_id else "seller",
                "kind": i.kind,
                "number": i.number,
                "issue_date": iso(i.issue_date),
                "supply_start": iso(i.supply_start),
                "supply_end": iso(i.supply_end),
                "currency": i.currency,
                "seller": i.seller,
                "buyer": i.buyer,
                "net": i.net,
                "vat": i.vat,
                "gross": i.gross,
                "credited_invoice_id": i.credited_invoice_id,
            }
            for i in invoices
        ],
        "pending_items": [
            {
                "id": b.id,
                "as": "customer" if b.customer_id == user_id else "seller",
                "description": b.description,
                "quantity": b.quantity,
                "unit_price": b.unit_price,
                "vat_rate": b.vat_rate,
                "currency": b.currency,
                "supply_date": iso(b.supply_date),
                "cancelled_at": iso(b.cancelled_at),
            }
            for b in items
        ],
    }


register_exporter("billing", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
