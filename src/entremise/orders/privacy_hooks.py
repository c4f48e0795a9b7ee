"""Orders in the privacy export (COMMON-PRIVACY-1): the offers a provider published, and the orders
the user is party to (as client or provider) with their deliveries. The other party shows by display
name only; attached files are listed by id (their metadata is in the files section of the uploader)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.orders.models import DJobDelivery, DJobOffer, DJobOrder
from entremise.privacy.parties import display_name, iso
from entremise.privacy.registry import register_exporter


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    offers = db.scalars(
        select(DJobOffer)
        .where(DJobOffer.platform_id == platform_id, DJobOffer.provider_id == user_id)
        .order_by(DJobOffer.created_at, DJobOffer.id)
    ).all()
    orders = db.scalars(
        select(DJobOrder)
        .where(
            DJobOrder.platform_id == platform_id,
            or_(DJobOrder.client_id == user_id, DJobOrder.provider_id == user_id),
        )
        .order_by(DJobOrder.created_at, DJobOrder.id)
    ).all()
    out: list[dict[str, Any]] = []
    for o in orders:
        as_client = o.client_id == user_id
        deliveries = db.scalars(
            select(DJobDelivery)
            .where(DJobDelivery.platform_id == platform_id, DJobDelivery.order_id == o.id)
            .order_by(DJobDelivery.number)
        ).all()
        out.append(
            {
                "id": o.id,
                "as": "client" if as_client else "provider",
                "other_party": display_name(db, platform_id, o.provider_id if as_client else o.client_id),
                "offer_id": o.offer_id,
                "state": o.state,
                "title": o.title,
                "unit_price": o.unit_price,
                "quantity": o.quantity,
                "total": o.total,
                "commission": o.commission,
                "currency": o.currency,
                "brief": o.brief,
                "brief_file_ids": o.brief_file_ids,
                "revisions": o.revisions,
                "due_at": iso(o.due_at),
                "created_at": iso(o.created_at),
                "deliveries": [
                    {
                        "number": d.number,
                        "message": d.message,
                        "file_ids": d.file_ids,
                        "delivered_at": iso(d.delivered_at),
                        "answer": d.answer,
                        "answer_note": d.answer_note,
                        "answered_at": iso(d.answered_at),
                    }
                    for d in deliveries
                ],
            }
        )
    return {
        "offers": [
            {
                "id": f.id,
                "title": f.title,
                "description": f.description,
                "price": f.price,
                "currency": f.currency,
                "delivery_days": f.delivery_days,
                "active": f.active,
                "created_at": iso(f.created_at),
            }
            for f in offers
        ],
        "orders": out,
    }


register_exporter("orders", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
