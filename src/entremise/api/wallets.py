"""Wallets API: a client reads their wallet (paid, bonus, held, available) and its movements, lists
the active credit packs, starts and reads pack purchases, redeems promo codes; staff manage packs
and promo codes, read any client's wallet and refund a purchase.

Only the owner reads a wallet through `/me/...`; staff routes take the client's id. Every query is
scoped to the platform of the path: another platform's pack, purchase or code is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.audit.service import Actor
from entremise.payments.port import CardDetails
from entremise.terms.guard import TermsAccepted
from entremise.wallets import service as wallets

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["wallets"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
Key = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=150,
        description="required: a retry returns the first result",
    ),
]
Cents = Annotated[StrictInt, Field(ge=0, le=10_000_00, description="an amount in cents")]


def _actor(p: Principal) -> Actor:
    return Actor("staff" if p.is_staff else "user", p.user_id)


# --- shapes ---------------------------------------------------------------------------------------


class WalletOut(BaseModel):
    client_id: str
    currency: str
    paid: int
    bonus: int
    held: int
    paid_available: int
    bonus_available: int
    available: int
    refund_due: int
    frozen: bool
    spending_order: list[str]

    @staticmethod
    def of(w: wallets.WalletView) -> WalletOut:
        return WalletOut(
            client_id=w.client_id,
            currency=w.currency,
            paid=w.paid.amount,
            bonus=w.bonus.amount,
            held=w.held.amount,
            paid_available=w.paid_available.amount,
            bonus_available=w.bonus_available.amount,
            available=w.available.amount,
            refund_due=w.refund_due.amount,
            frozen=w.frozen,
            spending_order=["bonus", "paid"],
        )


class MovementOut(BaseModel):
    id: int
    balance: str
    bucket: str
    amount: int
    currency: str
    code: str
    rules: list[str]
    reason: str
    cause_type: str
    cause_id: str
    transaction_id: str
    at: datetime

    @staticmethod
    def of(m: wallets.MovementView) -> MovementOut:
        return MovementOut(
            id=m.id,
            balance=m.balance,
            bucket=m.bucket,
            amount=m.amount.amount,
            currency=m.amount.currency,
            code=m.code,
            rules=list(m.rules),
            reason=m.reason,
            cause_type=m.cause[0],
            cause_id=m.cause[1],
            transaction_id=m.transaction_id,
            at=m.at,
        )


class PackOut(BaseModel):
    id: str
    name: str
    price: int
    bonus: int
    credited: int
    currency: str
    position: int
    active: bool
    rules: list[str]

    @staticmethod
    def of(p: wallets.PackView) -> PackOut:
        return PackOut(
            id=p.id,
            name=p.name,
            price=p.price.amount,
            bonus=p.bonus.amount,
            credited=(p.price + p.bonus).amount,
            currency=p.price.currency,
            position=p.position,
            active=p.active,
            rules=list(p.rules),
        )


class PackIn(ApiModel):
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    price: Annotated[StrictInt, Field(ge=1, le=10_000_00)]
    bonus: Cents = 0
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    position: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    active: bool = True


class PackPatch(ApiModel):
    name: Annotated[Text, Field(min_length=1, max_length=120)] | None = None
    price: Annotated[StrictInt, Field(ge=1, le=10_000_00)] | None = None
    bonus: Cents | None = None
    position: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    active: bool | None = None


class CardIn(ApiModel):
    token: Annotated[
        Text, Field(min_length=1, max_length=100, description="provider token (sandbox: test card number)")
    ]
    holder_name: Annotated[Text, Field(max_length=200)] = ""


class PurchaseIn(ApiModel):
    pack_id: Annotated[Text, Field(min_length=1, max_length=36)]
    card: CardIn
    return_url: Annotated[Text, Field(min_length=1, max_length=500)]


class PaymentStep(BaseModel):
    id: str
    status: str
    redirect_url: str | None


class PurchaseOut(BaseModel):
    id: str
    client_id: str
    pack_id: str
    name: str
    price: int
    bonus: int
    currency: str
    status: str
    payment_id: str | None
    refunded: int
    bonus_withdrawn: int
    created_at: datetime

    @staticmethod
    def of(v: wallets.PurchaseView) -> PurchaseOut:
        return PurchaseOut(
            id=v.id,
            client_id=v.client_id,
            pack_id=v.pack_id,
            name=v.name,
            price=v.price.amount,
            bonus=v.bonus.amount,
            currency=v.price.currency,
            status=v.status,
            payment_id=v.payment_id,
            refunded=v.refunded.amount,
            bonus_withdrawn=v.bonus_withdrawn.amount,
            created_at=v.created_at,
        )


class StartedPurchaseOut(PurchaseOut):
    payment: PaymentStep


class RefundOut(BaseModel):
    purchase: PurchaseOut
    cash: int
    kept_for_spent_bonus: int
    bonus_withdrawn: int


class PromoIn(ApiModel):
    code: Annotated[Text, Field(min_length=1, max_length=40)]
    value: Annotated[StrictInt, Field(ge=1, le=10_000_00)]
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    starts_at: datetime
    ends_at: datetime
    max_uses: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None
    condition: Literal["none", "new_client", "min_purchase"] = "none"
    min_purchase: Cents = 0
    conditions_text: Annotated[Text, Field(max_length=1000)] | None = None


class PromoOut(BaseModel):
    id: str
    code: str
    value: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    max_uses: int | None
    uses: int
    condition: str
    min_purchase: int
    conditions: str
    active: bool

    @staticmethod
    def of(v: wallets.PromoView) -> PromoOut:
        return PromoOut(
            id=v.id,
            code=v.code,
            value=v.value.amount,
            currency=v.value.currency,
            starts_at=v.starts_at,
            ends_at=v.ends_at,
            max_uses=v.max_uses,
            uses=v.uses,
            condition=v.condition,
            min_purchase=v.min_purchase.amount,
            conditions=v.conditions,
            active=v.active,
        )


class PromoActiveIn(ApiModel):
    active: bool


class RedeemIn(ApiModel):
    code: Annotated[Text, Field(min_length=1, max_length=40)]


class RedemptionOut(BaseModel):
    id: str
    code: str
    value: int
    currency: str
    conditions: str
    ledger_transaction_id: str
    created_at: datetime

    @staticmethod
    def of(v: wallets.RedemptionView) -> RedemptionOut:
        return RedemptionOut(
            id=v.id,
            code=v.code,
            value=v.value.amount,
            currency=v.value.currency,
            conditions=v.conditions,
            ledger_transaction_id=v.ledger_transaction_id,
            created_at=v.created_at,
        )


# --- the client ----------------------------------------------------------------------------------


@router.get("/me/wallet", response_model=WalletOut, summary="My wallet: paid credit, bonus, held, available")
def my_wallet(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> WalletOut:
    with db.begin():
        return WalletOut.of(wallets.wallet(db, platform_id=platform.id, client_id=principal.user_id))


@router.get(
    "/me/wallet/movements", response_model=Page[MovementOut], summary="My wallet's movements, newest first"
)
def my_movements(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[MovementOut]:
    with db.begin():
        rows = wallets.movements(
            db,
            platform_id=platform.id,
            client_id=principal.user_id,
            before_id=page.position(int),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=MovementOut.of)


@router.get("/credit-packs", response_model=list[PackOut], summary="The credit packs on sale")
def active_packs(_principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> list[PackOut]:
    with db.begin():
        return [PackOut.of(p) for p in wallets.list_packs(db, platform_id=platform.id, active_only=True)]


@router.post(
    "/me/pack-purchases",
    response_model=StartedPurchaseOut,
    status_code=201,
    summary="Buy a credit pack by card",
)
def buy_pack(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: PurchaseIn, key: Key
) -> StartedPurchaseOut:
    """A purchase at the pack's current figures and its card pay-in (purpose `credit_pack`): the
    wallet is credited, price as paid credit and bonus as bonus credit, when the payment provider
    confirms the payment. When `payment.status` is `action_required`, send the payer to
    `payment.redirect_url` (3-D Secure)."""
    with db.begin():
        v, pay = wallets.start_purchase(
            db,
            platform_id=platform.id,
            client_id=principal.user_id,
            pack_id=body.pack_id,
            card=CardDetails(body.card.token, body.card.holder_name),
            return_url=body.return_url,
            idempotency_key=f"{principal.user_id}:{key}",
            now=now,
        )
    return StartedPurchaseOut(
        **PurchaseOut.of(v).model_dump(),
        payment=PaymentStep(id=pay.id, status=pay.status, redirect_url=pay.redirect_url),
    )


@router.get("/me/pack-purchases", response_model=Page[PurchaseOut], summary="My pack purchases")
def my_purchases(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[PurchaseOut]:
    with db.begin():
        rows = wallets.list_purchases(
            db,
            platform_id=platform.id,
            client_id=principal.user_id,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=PurchaseOut.of)


@router.get(
    "/me/pack-purchases/{purchase_id}", response_model=PurchaseOut, summary="One of my pack purchases"
)
def my_purchase(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, purchase_id: Id
) -> PurchaseOut:
    with db.begin():
        return PurchaseOut.of(
            wallets.get_purchase(
                db, platform_id=platform.id, purchase_id=purchase_id, client_id=principal.user_id
            )
        )


@router.post(
    "/me/promo-redemptions", response_model=RedemptionOut, status_code=201, summary="Redeem a promo code"
)
def redeem(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: RedeemIn
) -> RedemptionOut:
    with db.begin():
        v = wallets.redeem(
            db,
            platform_id=platform.id,
            client_id=principal.user_id,
            code=body.code,
            now=now,
            actor=_actor(principal),
        )
    return RedemptionOut.of(v)


@router.get("/me/promo-redemptions", response_model=list[RedemptionOut], summary="My promo codes")
def my_redemptions(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> list[RedemptionOut]:
    with db.begin():
        rows = wallets.list_redemptions(db, platform_id=platform.id, client_id=principal.user_id)
    return [RedemptionOut.of(r) for r in rows]


# --- staff ---------------------------------------------------------------------------------------


@router.get("/wallets/{client_id}", response_model=WalletOut, summary="A client's wallet (staff)")
def client_wallet(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db, client_id: Id) -> WalletOut:
    with db.begin():
        return WalletOut.of(wallets.wallet(db, platform_id=platform.id, client_id=client_id))


@router.get(
    "/wallets/{client_id}/movements", response_model=Page[MovementOut], summary="A client's movements (staff)"
)
def client_movements(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, page: Pagination, client_id: Id
) -> Page[MovementOut]:
    with db.begin():
        rows = wallets.movements(
            db, platform_id=platform.id, client_id=client_id, before_id=page.position(int), limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r.id, shape=MovementOut.of)


@router.get(
    "/wallet-packs", response_model=list[PackOut], summary="Every credit pack, withdrawn ones too (staff)"
)
def all_packs(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db) -> list[PackOut]:
    with db.begin():
        return [PackOut.of(p) for p in wallets.list_packs(db, platform_id=platform.id, active_only=False)]


@router.post("/wallet-packs", response_model=PackOut, status_code=201, summary="Add a credit pack (staff)")
def add_pack(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, body: PackIn) -> PackOut:
    with db.begin():
        v = wallets.create_pack(
            db,
            platform_id=platform.id,
            name=body.name,
            price=body.price,
            bonus=body.bonus,
            currency=body.currency,
            position=body.position,
            active=body.active,
            now=now,
            actor=_actor(staff),
        )
    return PackOut.of(v)


@router.patch(
    "/wallet-packs/{pack_id}", response_model=PackOut, summary="Change or withdraw a credit pack (staff)"
)
def change_pack(
    staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, pack_id: Id, body: PackPatch
) -> PackOut:
    with db.begin():
        v = wallets.update_pack(
            db,
            platform_id=platform.id,
            pack_id=pack_id,
            changes=body.model_dump(exclude_none=True),
            now=now,
            actor=_actor(staff),
        )
    return PackOut.of(v)


@router.get("/pack-purchases", response_model=Page[PurchaseOut], summary="Pack purchases (staff)")
def all_purchases(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    client_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[PurchaseOut]:
    with db.begin():
        rows = wallets.list_purchases(
            db, platform_id=platform.id, client_id=client_id, after_id=page.position(str), limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r.id, shape=PurchaseOut.of)


@router.post(
    "/pack-purchases/{purchase_id}/refund",
    response_model=RefundOut,
    summary="Refund a pack's unspent price (staff)",
)
def refund(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, purchase_id: Id) -> RefundOut:
    with db.begin():
        v, q = wallets.refund_purchase(
            db, platform_id=platform.id, purchase_id=purchase_id, now=now, actor=_actor(staff)
        )
    return RefundOut(
        purchase=PurchaseOut.of(v),
        cash=q.cash.amount,
        kept_for_spent_bonus=q.paid_kept.amount,
        bonus_withdrawn=q.bonus_withdrawn.amount,
    )


@router.get("/promo-codes", response_model=list[PromoOut], summary="Promo codes (staff)")
def promos(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db) -> list[PromoOut]:
    with db.begin():
        return [PromoOut.of(p) for p in wallets.list_promos(db, platform_id=platform.id)]


@router.post("/promo-codes", response_model=PromoOut, status_code=201, summary="Create a promo code (staff)")
def add_promo(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, body: PromoIn) -> PromoOut:
    with db.begin():
        v = wallets.create_promo(
            db,
            platform_id=platform.id,
            code=body.code,
            value=body.value,
            currency=body.currency,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            max_uses=body.max_uses,
            condition=body.condition,
            min_purchase=body.min_purchase,
            conditions_text=body.conditions_text,
            now=now,
            actor=_actor(staff),
        )
    return PromoOut.of(v)


@router.put(
    "/promo-codes/{promo_id}/active",
    response_model=PromoOut,
    summary="Withdraw or reopen a promo code (staff)",
)
def promo_active(
    staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, promo_id: Id, body: PromoActiveIn
) -> PromoOut:
    with db.begin():
        v = wallets.set_promo_active(
            db, platform_id=platform.id, promo_id=promo_id, active=body.active, now=now, actor=_actor(staff)
        )
    return PromoOut.of(v)


class ClosureOut(BaseModel):
    refundable: int
    forfeited: int


@router.post(
    "/wallets/{client_id}/closure",
    response_model=ClosureOut,
    summary="Close a client's wallet: paid credit refunded, bonus forfeited (staff)",
)
def close(staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, client_id: Id) -> ClosureOut:
    with db.begin():
        c = wallets.close_wallet(
            db, platform_id=platform.id, client_id=client_id, now=now, actor=_actor(staff)
        )
    return ClosureOut(refundable=c.refundable.amount, forfeited=c.forfeited.amount)
