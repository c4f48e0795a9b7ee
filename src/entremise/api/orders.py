"""Digital jobs (DJobs) over HTTP (CONSULT-DJOB-1): providers publish offers; a client orders one
through the cart (offer, quantity, brief, files), paying from credit; the provider accepts or
declines, delivers files through the platform; the client accepts the delivery or asks for a
revision. An order is visible to its client, its provider and staff only (404 otherwise)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.processes import actor_of
from entremise.api.scheduling import MoneyOut
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.kernel.errors import Forbidden
from entremise.orders import service
from entremise.orders.service import DeliveryView, OfferView, OrderView
from entremise.platforms.service import PlatformView
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["orders"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
FileIds = Annotated[list[Annotated[Text, Field(min_length=1, max_length=36)]], Field(max_length=100)]


class OfferIn(ApiModel):
    title: Annotated[Text, Field(min_length=1, max_length=500)]
    description: Annotated[Text, Field(min_length=1, max_length=100_000)]
    price: Annotated[StrictInt, Field(ge=1, le=10**9, description="minor units, all taxes included")]
    delivery_days: Annotated[StrictInt, Field(ge=1, le=365)]


class OfferUpdateIn(OfferIn):
    active: bool = True


class OfferOut(BaseModel):
    id: str
    provider_id: str
    title: str
    description: str
    price: MoneyOut
    delivery_days: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(v: OfferView) -> OfferOut:
        return OfferOut(
            id=v.id,
            provider_id=v.provider_id,
            title=v.title,
            description=v.description,
            price=MoneyOut.of(v.price),
            delivery_days=v.delivery_days,
            active=v.active,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )


@router.post(
    "/djob-offers", status_code=201, response_model=OfferOut, summary="Publish a digital job (providers)"
)
def publish_offer(
    body: OfferIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OfferOut:
    with db.begin():
        view = service.publish_offer(
            db,
            platform=platform,
            provider_id=principal.user_id,
            title=body.title,
            description=body.description,
            price=body.price,
            delivery_days=body.delivery_days,
            now=now,
        )
    return OfferOut.of(view)


@router.put("/djob-offers/{offer_id}", response_model=OfferOut, summary="Change or withdraw an offer of mine")
def update_offer(
    offer_id: Id, body: OfferUpdateIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OfferOut:
    with db.begin():
        view = service.update_offer(
            db,
            platform=platform,
            provider_id=principal.user_id,
            offer_id=offer_id,
            title=body.title,
            description=body.description,
            price=body.price,
            delivery_days=body.delivery_days,
            active=body.active,
            now=now,
        )
    return OfferOut.of(view)


@router.get(
    "/djob-offers", response_model=Page[OfferOut], summary="Digital jobs on offer (optionally one provider's)"
)
def list_offers(
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    provider_id: Annotated[str | None, Query(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] = None,
) -> Page[OfferOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_offers(
            db, platform_id=platform.id, provider_id=provider_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda v: v.id, shape=OfferOut.of)


@router.get("/djob-offers/{offer_id}", response_model=OfferOut, summary="A digital job on offer")
def get_offer(offer_id: Id, platform: CurrentPlatform, db: Db) -> OfferOut:
    with db.begin():
        return OfferOut.of(service.get_offer(db, platform_id=platform.id, offer_id=offer_id))


class OrderIn(ApiModel):
    offer_id: Annotated[Text, Field(min_length=1, max_length=36)]
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    brief: Annotated[
        Text, Field(max_length=200_000, description="what you expect (the platform sets the limit)")
    ]
    file_ids: FileIds = Field(default_factory=list, description="files uploaded for the purpose order_brief")
    expected_total: Annotated[StrictInt, Field(ge=0, le=10**12)] | None = Field(
        default=None, description="the price the cart showed: refused with 409 if it changed meanwhile"
    )


class DeliveryOut(BaseModel):
    id: str
    number: int
    file_ids: list[str]
    message: str
    delivered_at: datetime
    answer: str | None
    answer_note: str | None
    answered_at: datetime | None

    @staticmethod
    def of(d: DeliveryView) -> DeliveryOut:
        return DeliveryOut(**d.__dict__)


class OrderOut(BaseModel):
    id: str
    process_instance_id: str
    state: str
    client_id: str
    provider_id: str
    offer_id: str
    title: str
    unit_price: MoneyOut
    quantity: int
    total: MoneyOut
    commission: MoneyOut | None = Field(description="shown to the provider and staff")
    brief: str
    brief_file_ids: list[str]
    revisions: int
    max_revisions: int
    due_at: datetime | None
    auto_accept_at: datetime | None
    terms: dict[str, Any] = Field(description="the terms recorded with the order (CONSULT-DJOB-1)")
    deliveries: list[DeliveryOut]
    created_at: datetime

    @staticmethod
    def of(v: OrderView) -> OrderOut:
        return OrderOut(
            id=v.id,
            process_instance_id=v.instance_id,
            state=v.state,
            client_id=v.client_id,
            provider_id=v.provider_id,
            offer_id=v.offer_id,
            title=v.title,
            unit_price=MoneyOut.of(v.unit_price),
            quantity=v.quantity,
            total=MoneyOut.of(v.total),
            commission=MoneyOut.of(v.commission) if v.commission is not None else None,
            brief=v.brief,
            brief_file_ids=v.brief_file_ids,
            revisions=v.revisions,
            max_revisions=v.max_revisions,
            due_at=v.due_at,
            auto_accept_at=v.auto_accept_at,
            terms=v.terms,
            deliveries=[DeliveryOut.of(d) for d in v.deliveries],
            created_at=v.created_at,
        )


@router.post("/orders", status_code=201, response_model=OrderOut, summary="Order a digital job (clients)")
def place_order(
    body: OrderIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    if principal.role != "client":
        raise Forbidden("only clients order digital jobs")
    with db.begin():
        view = service.place_order(
            db,
            platform=platform,
            client_id=principal.user_id,
            offer_id=body.offer_id,
            quantity=body.quantity,
            brief=body.brief,
            file_ids=body.file_ids,
            expected_total=body.expected_total,
            now=now,
        )
    return OrderOut.of(view)


@router.get("/orders", response_model=Page[OrderOut], summary="My orders (as client or provider)")
def list_orders(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[OrderOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_orders(
            db, platform_id=platform.id, user_id=principal.user_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda v: v.id, shape=OrderOut.of)


@router.get("/orders/{order_id}", response_model=OrderOut, summary="An order of mine")
def get_order(order_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> OrderOut:
    with db.begin():
        view = service.get_order(
            db,
            platform_id=platform.id,
            order_id=order_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        )
    return OrderOut.of(view)


class EmptyIn(ApiModel):
    pass


class DeliveryIn(ApiModel):
    file_ids: FileIds = Field(description="files uploaded for the purpose order_delivery")
    message: Annotated[Text, Field(max_length=5000)] = ""


class RevisionIn(ApiModel):
    note: Annotated[Text, Field(min_length=1, max_length=5000, description="what to change")]


def _step(
    order_id: str,
    transition: str,
    principal: Principal,
    platform: PlatformView,
    db: Db,
    now: datetime,
    params: dict[str, Any] | None = None,
) -> OrderOut:
    with db.begin():
        view = service.act(
            db,
            platform_id=platform.id,
            order_id=order_id,
            transition=transition,
            actor=actor_of(principal),
            now=now,
            params=params,
        )
    return OrderOut.of(view)


@router.post("/orders/{order_id}/acceptance", response_model=OrderOut, summary="The provider takes the job")
def accept(
    order_id: Id, body: EmptyIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    return _step(order_id, "accept", principal, platform, db, now)


@router.post(
    "/orders/{order_id}/refusal",
    response_model=OrderOut,
    summary="The provider declines the job (the hold is released)",
)
def decline(
    order_id: Id, body: EmptyIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    return _step(order_id, "decline", principal, platform, db, now)


@router.post(
    "/orders/{order_id}/cancellation",
    response_model=OrderOut,
    summary="The client cancels before the provider answers, or once the delivery date has passed",
)
def cancel(
    order_id: Id, body: EmptyIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    with db.begin():
        state = service.get_order(
            db,
            platform_id=platform.id,
            order_id=order_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        ).state
    return _step(order_id, "cancel" if state == "placed" else "cancel_late", principal, platform, db, now)


@router.post("/orders/{order_id}/deliveries", response_model=OrderOut, summary="The provider delivers files")
def deliver(
    order_id: Id, body: DeliveryIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    return _step(
        order_id,
        "deliver",
        principal,
        platform,
        db,
        now,
        {"file_ids": body.file_ids, "message": body.message},
    )


@router.post(
    "/orders/{order_id}/delivery-acceptance",
    response_model=OrderOut,
    summary="The client accepts the delivery (the provider is paid)",
)
def accept_delivery(
    order_id: Id, body: EmptyIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    return _step(order_id, "accept_delivery", principal, platform, db, now)


@router.post(
    "/orders/{order_id}/revisions", response_model=OrderOut, summary="The client asks for a revision"
)
def request_revision(
    order_id: Id, body: RevisionIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> OrderOut:
    return _step(order_id, "request_revision", principal, platform, db, now, {"note": body.note})
