"""DJob use cases. Each runs in the caller's transaction (`with db.begin():`).

An order is visible to its client, its provider and staff only; anyone else is told it does not
exist (404). Every step of an order is a transition of its `djob` process (see `orders.process`),
also reachable through the generic processes API with the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.booking import service as processes
from entremise.booking.service import ProcessActor
from entremise.files import service as files
from entremise.files.domain import FileRule
from entremise.files.purposes import register_purpose
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.notify.outbox import enqueue
from entremise.orders import domain, funding
from entremise.orders import process as djob_process
from entremise.orders.actions import BRIEF_PURPOSE, DELIVERY_PURPOSE
from entremise.orders.models import DJobDelivery, DJobOffer, DJobOrder
from entremise.platforms.service import PlatformView
from entremise.terms import service as terms

register_purpose(
    BRIEF_PURPOSE,
    roles=("client",),
    rule=lambda s: FileRule(tuple(s.orders.brief_file_types), s.orders.brief_file_max_bytes),
)
register_purpose(
    DELIVERY_PURPOSE,
    roles=("provider",),
    rule=lambda s: FileRule(tuple(s.orders.delivery_file_types), s.orders.delivery_file_max_bytes),
)


@dataclass(frozen=True)
class OfferView:
    id: str
    provider_id: str
    title: str
    description: str
    price: Money
    delivery_days: int
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    id: str
    number: int
    file_ids: list[str]
    message: str
    delivered_at: datetime
    answer: str | None
    answer_note: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class OrderView:
    id: str
    instance_id: str
    state: str
    client_id: str
    provider_id: str
    offer_id: str
    title: str
    unit_price: Money
    quantity: int
    total: Money
    commission: Money | None  # shown to the provider and staff only
    brief: str
    brief_file_ids: list[str]
    revisions: int
    max_revisions: int
    due_at: datetime | None
    auto_accept_at: datetime | None
    terms: dict[str, Any]
    deliveries: list[DeliveryView]
    created_at: datetime


def _oview(row: DJobOffer) -> OfferView:
    return OfferView(
        row.id,
        row.provider_id,
        row.title,
        row.description,
        Money(row.price, row.currency),
        row.delivery_days,
        row.active,
        row.created_at,
        row.updated_at,
    )


def _check_offer(
    platform: PlatformView, title: str, description: str, price: int, delivery_days: int
) -> None:
    s = platform.settings.orders
    errors: list[FieldError] = []
    if not title.strip() or len(title) > s.title_max_chars:
        errors.append(FieldError("body.title", f"1 to {s.title_max_chars} characters"))
    if not description.strip() or len(description) > s.description_max_chars:
        errors.append(FieldError("body.description", f"1 to {s.description_max_chars} characters"))
    if price < 1:
        errors.append(FieldError("body.price", "a positive amount of minor units"))
    if not 1 <= delivery_days <= s.max_delivery_days:
        errors.append(FieldError("body.delivery_days", f"from 1 to {s.max_delivery_days} days"))
    if errors:
        raise InvalidInput(errors, rules=["CONSULT-DJOB-1"])


def _provider(db: Session, platform: PlatformView, user_id: str) -> None:
    user = accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    if user.role != "provider":
        raise Forbidden("only providers publish digital jobs")


def publish_offer(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    title: str,
    description: str,
    price: int,
    delivery_days: int,
    now: datetime,
) -> OfferView:
    _provider(db, platform, provider_id)
    _check_offer(platform, title, description, price, delivery_days)
    row = DJobOffer(
        id=new_id(),
        platform_id=platform.id,
        provider_id=provider_id,
        title=title.strip(),
        description=description,
        price=price,
        currency=platform.settings.orders.currency,
        delivery_days=delivery_days,
        active=True,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="djob_offer.published",
        obj=("djob_offer", row.id),
        at=now,
        rules=["CONSULT-DJOB-1"],
    )
    return _oview(row)


def _offer_row(db: Session, platform_id: str, offer_id: str) -> DJobOffer:
    row = db.scalar(select(DJobOffer).where(DJobOffer.platform_id == platform_id, DJobOffer.id == offer_id))
    if row is None:
        raise NotFound(f"no offer {offer_id!r}")
    return row


def update_offer(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    offer_id: str,
    title: str,
    description: str,
    price: int,
    delivery_days: int,
    active: bool,
    now: datetime,
) -> OfferView:
    """Change an offer of mine; orders already placed keep what they were placed with."""
    row = _offer_row(db, platform.id, offer_id)
    if row.provider_id != provider_id:
        raise NotFound(f"no offer {offer_id!r}")
    _check_offer(platform, title, description, price, delivery_days)
    row.title, row.description, row.price, row.delivery_days, row.active = (
        title.strip(),
        description,
        price,
        delivery_days,
        active,
    )
    row.updated_at = now
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", provider_id),
        action="djob_offer.updated",
        obj=("djob_offer", row.id),
        at=now,
        data={"active": active, "price": price},
    )
    return _oview(row)


def get_offer(db: Session, *, platform_id: str, offer_id: str, viewer_id: str | None = None) -> OfferView:
    """An offer: active ones for everyone, inactive ones for their provider only."""
    row = _offer_row(db, platform_id, offer_id)
    if not row.active and row.provider_id != viewer_id:
        raise NotFound(f"no offer {offer_id!r}")
    return _oview(row)


def list_offers(
    db: Session,
    *,
    platform_id: str,
    provider_id: str | None,
    after_id: str | None,
    limit: int,
    viewer_id: str | None = None,
) -> list[OfferView]:
    q = select(DJobOffer).where(DJobOffer.platform_id == platform_id)
    if provider_id:
        q = q.where(DJobOffer.provider_id == provider_id)
    if viewer_id is None or viewer_id != provider_id:
        q = q.where(DJobOffer.active.is_(True))
    if after_id:
        q = q.where(DJobOffer.id > after_id)
    return [_oview(r) for r in db.scalars(q.order_by(DJobOffer.id).limit(limit))]


# --- orders -----------------------------------------------------------------------------------


def commission_percent_of(platform: PlatformView, provider_id: str) -> Decimal:
    """CONSULT-DJOB-1 (consult §6.1): the commission agreed with this provider, else the platform's."""
    s = platform.settings.orders
    return s.commission_percent_by_provider.get(provider_id, s.commission_percent)


def place_order(
    db: Session,
    *,
    platform: PlatformView,
    client_id: str,
    offer_id: str,
    quantity: int,
    brief: str,
    file_ids: Sequence[str],
    expected_total: int | None,
    now: datetime,
    commission_percent: Decimal | None = None,
) -> OrderView:
    """CONSULT-DJOB-1: order a DJob through the cart (offer, quantity, price to pay) with a brief and
    files; the price is held on the client's credit until the delivery is accepted.

    `commission_percent` lets a pack supply the figure agreed with the provider (otherwise the
    platform's settings give it). The order records its terms, among them that the client keeps the
    rights on what they hand over."""
    s = platform.settings.orders
    offer = _offer_row(db, platform.id, offer_id)
    if not offer.active:
        raise NotFound(f"no offer {offer_id!r}")
    if offer.provider_id == client_id:
        raise InvalidInput([FieldError("body.offer_id", "you cannot order your own offer")])
    errors: list[FieldError] = []
    if not 1 <= quantity <= s.max_quantity:
        errors.append(FieldError("body.quantity", f"from 1 to {s.max_quantity}"))
    brief_ok = domain.brief_verdict(brief, s.brief_max_chars)
    if not brief_ok.allowed:
        errors.append(FieldError("body.brief", brief_ok.reason))
    if len(file_ids) > s.brief_max_files:
        errors.append(FieldError("body.file_ids", f"at most {s.brief_max_files} files"))
    if errors:
        raise InvalidInput(errors, rules=["CONSULT-DJOB-1"])
    attached = files.owned(
        db,
        platform_id=platform.id,
        owner_id=client_id,
        file_ids=list(file_ids),
        purpose=BRIEF_PURPOSE,
        field="body.file_ids",
    )
    total = domain.cart_total(Money(offer.price, offer.currency), quantity)
    if expected_total is not None and expected_total != total.outcome.amount:
        raise Conflict(
            f"the price to pay is now {total.outcome}",
            rules=["CONSULT-DJOB-1"],
            extra={"total": total.outcome.amount},
        )
    percent = (
        commission_percent
        if commission_percent is not None
        else commission_percent_of(platform, offer.provider_id)
    )
    split = domain.commission_split(total.outcome, percent)
    order_id = new_id()
    hold_id = funding.reserve(
        db, platform_id=platform.id, client_id=client_id, amount=total.outcome, order_id=order_id, now=now
    )
    in_force = terms.version_in_force(
        db, platform_id=platform.id, audience=terms.audience_of(platform, "client"), now=now
    )
    snapshot = {
        "rules": ["CONSULT-DJOB-1"],
        "client_keeps_rights": True,
        "rights_clause": domain.RIGHTS_CLAUSE,
        "terms_version": in_force.version if in_force else None,
        "offer": {
            "id": offer.id,
            "title": offer.title,
            "description": offer.description,
            "unit_price": offer.price,
            "delivery_days": offer.delivery_days,
        },
        "quantity": quantity,
        "total": total.outcome.amount,
        "currency": total.outcome.currency,
        "commission_percent": str(percent),
        "max_revisions": s.max_revisions,
        "auto_accept_days": s.auto_accept_days,
        "answer_within_hours": s.answer_within_hours,
        "placed_at": now.isoformat(),
    }
    row = DJobOrder(
        id=order_id,
        platform_id=platform.id,
        client_id=client_id,
        provider_id=offer.provider_id,
        offer_id=offer.id,
        instance_id="",
        state="placed",
        title=offer.title,
        unit_price=offer.price,
        quantity=quantity,
        total=total.outcome.amount,
        commission=split.outcome.commission.amount,
        currency=offer.currency,
        brief=brief,
        brief_file_ids=[f.id for f in attached],
        hold_id=hold_id,
        revisions=0,
        terms=snapshot,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    instance = processes.start(
        db,
        platform.id,
        djob_process.NAME,
        ProcessActor("client", client_id),
        {
            "order_id": order_id,
            "client_id": client_id,
            "provider_id": offer.provider_id,
            "answer_by": (now + timedelta(hours=s.answer_within_hours)).isoformat(),
            "delivery_days": offer.delivery_days,
            "max_revisions": s.max_revisions,
            "revisions": 0,
            # replaced when a delivery is made (the auto-acceptance timer is anchored on it)
            "auto_accept_at": (now + timedelta(days=s.auto_accept_days)).isoformat(),
        },
        now,
        subject=("djob_order", order_id),
    )
    row.instance_id = instance.id
    for f in attached:
        files.grant(
            db,
            platform_id=platform.id,
            file_id=f.id,
            user_id=offer.provider_id,
            cause=("djob_order", order_id),
            now=now,
            actor=Actor("user", client_id),
        )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", client_id),
        action="djob_order.placed",
        obj=("djob_order", order_id),
        at=now,
        rules=[*total.rules, *split.rules],
        reason=f"{total.reason}; {split.reason}",
        data={
            "total": total.outcome.amount,
            "commission": split.outcome.commission.amount,
            "hold_id": hold_id,
        },
    )
    contact = accounts.contact_of(db, platform.id, offer.provider_id)
    if contact.email:
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="orders.order_update",
            recipient=contact.email,
            locale=contact.locale,
            payload={
                "platform_name": platform.name,
                "event": "placed",
                "title": offer.title,
                "total": str(total.outcome),
                "auto_accept_at": None,
            },
            now=now,
            user_id=offer.provider_id,
            dedupe_key=f"orders.order_update:{order_id}:placed",
        )
    db.flush()
    return _view(db, row, viewer_id=client_id)


def _row(db: Session, platform_id: str, order_id: str) -> DJobOrder:
    row = db.scalar(select(DJobOrder).where(DJobOrder.platform_id == platform_id, DJobOrder.id == order_id))
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    return row


def _visible(db: Session, platform_id: str, order_id: str, user_id: str, is_staff: bool) -> DJobOrder:
    row = _row(db, platform_id, order_id)
    if not is_staff and user_id not in (row.client_id, row.provider_id):
        raise NotFound(f"no order {order_id!r}")
    return row


def _view(db: Session, row: DJobOrder, *, viewer_id: str, is_staff: bool = False) -> OrderView:
    c = row.currency
    data = processes.get_instance(db, row.platform_id, row.instance_id).data
    deliveries = [
        DeliveryView(
            d.id,
            d.number,
            list(d.file_ids),
            d.message,
            d.delivered_at,
            d.answer,
            d.answer_note,
            d.answered_at,
        )
        for d in db.scalars(
            select(DJobDelivery).where(DJobDelivery.order_id == row.id).order_by(DJobDelivery.number)
        )
    ]
    auto = data.get("auto_accept_at") if row.state == "delivered" else None
    return OrderView(
        id=row.id,
        instance_id=row.instance_id,
        state=row.state,
        client_id=row.client_id,
        provider_id=row.provider_id,
        offer_id=row.offer_id,
        title=row.title,
        unit_price=Money(row.unit_price, c),
        quantity=row.quantity,
        total=Money(row.total, c),
        commission=Money(row.commission, c) if is_staff or viewer_id == row.provider_id else None,
        brief=row.brief,
        brief_file_ids=list(row.brief_file_ids),
        revisions=row.revisions,
        max_revisions=int(data.get("max_revisions", 0)),
        due_at=row.due_at,
        auto_accept_at=datetime.fromisoformat(auto) if auto else None,
        terms=dict(row.terms),
        deliveries=deliveries,
        created_at=row.created_at,
    )


def get_order(
    db: Session, *, platform_id: str, order_id: str, user_id: str, is_staff: bool = False
) -> OrderView:
    return _view(
        db, _visible(db, platform_id, order_id, user_id, is_staff), viewer_id=user_id, is_staff=is_staff
    )


def list_orders(
    db: Session, *, platform_id: str, user_id: str, after_id: str | None, limit: int
) -> list[OrderView]:
    q = select(DJobOrder).where(
        DJobOrder.platform_id == platform_id,
        (DJobOrder.client_id == user_id) | (DJobOrder.provider_id == user_id),
    )
    if after_id:
        q = q.where(DJobOrder.id > after_id)
    return [_view(db, r, viewer_id=user_id) for r in db.scalars(q.order_by(DJobOrder.id).limit(limit))]


def act(
    db: Session,
    *,
    platform_id: str,
    order_id: str,
    transition: str,
    actor: ProcessActor,
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> OrderView:
    """Take one step of an order as a party (or staff, as the operator): accept, decline, cancel,
    cancel_late, deliver (`file_ids`, `message`), accept_delivery, request_revision (`note`)."""
    is_staff = actor.role == "operator"
    row = _visible(db, platform_id, order_id, actor.id or "", is_staff)
    processes.take(db, platform_id, row.instance_id, transition, actor, now, params)
    return _view(db, _row(db, platform_id, order_id), viewer_id=actor.id or "", is_staff=is_staff)
