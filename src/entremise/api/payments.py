"""Payments API: clients top up by card (with the 3-D Secure step), pre-authorise, sign SEPA
mandates and list their own payments; staff capture, cancel, refund, debit and read the
platform's payments and chargebacks. Providers post their webhooks to
`POST /api/v1/psp/webhooks/{provider}`; the sandbox provider's 3-D Secure page is
`/sandbox/psp/3ds/{ref}`.

Nobody sees another user's or another platform's payment: a client's routes filter by the caller,
every query by the platform of the path, and what is not theirs is a 404.

Money-moving POSTs require an `Idempotency-Key` header: the service keeps the first result per
platform, caller and key (a retry returns it, another body with the same key is refused).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Literal

import jinja2
from fastapi import APIRouter, Form, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from entremise.accounts.auth import CurrentPrincipal, Principal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.audit.service import Actor
from entremise.kernel.errors import AppError, Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.money import Money, is_currency
from entremise.payments import card_refunds as _card_refunds  # noqa: F401 - registers the "card" refund method
from entremise.payments import sandbox, service, webhooks
from entremise.payments.models import SandboxOperation
from entremise.payments.port import CardDetails
from entremise.payments.providers import adapter_names
from entremise.payments.purposes import CLIENT_CREDIT
from entremise.payments.service import ChargebackView, MandateView, PaymentView, RefundView
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["payments"])
webhook_router = APIRouter(tags=["payments"])
sandbox_router = APIRouter(tags=["payments"], include_in_schema=False)

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
Key = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="required: a retry returns the first result",
    ),
]
Currency = Annotated[Text, Field(min_length=3, max_length=3, description="ISO 4217, default EUR")]
Cents = Annotated[StrictInt, Field(gt=0, le=10**11, description="minor units (cents)")]
Url = Annotated[Text, Field(min_length=1, max_length=500)]

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(FsPath(__file__).resolve().parent.parent / "payments" / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


# --- shapes ---------------------------------------------------------------------------------------


class PaymentOut(BaseModel):
    id: str
    payer_id: str
    kind: str
    purpose: list[str]
    provider: str
    provider_ref: str
    status: str
    currency: str
    amount: int
    captured: int
    refunded: int
    refundable: int
    charged_back: int
    fingerprint: str
    mandate_id: str | None
    redirect_url: str | None
    failure_reason: str | None
    succeeded_at: datetime | None
    created_at: datetime

    @staticmethod
    def of(v: PaymentView) -> PaymentOut:
        return PaymentOut(
            id=v.id,
            payer_id=v.payer_id,
            kind=v.kind,
            purpose=list(v.purpose),
            provider=v.provider,
            provider_ref=v.provider_ref,
            status=v.status,
            currency=v.amount.currency,
            amount=v.amount.amount,
            captured=v.captured.amount,
            refunded=v.refunded.amount,
            refundable=v.refundable.amount,
            charged_back=v.charged_back.amount,
            fingerprint=v.fingerprint,
            mandate_id=v.mandate_id,
            redirect_url=v.redirect_url,
            failure_reason=v.failure_reason,
            succeeded_at=v.succeeded_at,
            created_at=v.created_at,
        )


class RefundOut(BaseModel):
    id: str
    payment_id: str
    provider_ref: str
    status: str
    currency: str
    amount: int
    reason: str
    rules: list[str]
    failure_reason: str | None
    created_at: datetime

    @staticmethod
    def of(v: RefundView) -> RefundOut:
        return RefundOut(
            id=v.id,
            payment_id=v.payment_id,
            provider_ref=v.provider_ref,
            status=v.status,
            currency=v.amount.currency,
            amount=v.amount.amount,
            reason=v.reason,
            rules=list(v.rules),
            failure_reason=v.failure_reason,
            created_at=v.created_at,
        )


class MandateOut(BaseModel):
    id: str
    user_id: str
    provider: str
    status: str
    iban_last4: str
    holder_name: str
    fingerprint: str
    failure_reason: str | None
    created_at: datetime

    @staticmethod
    def of(v: MandateView) -> MandateOut:
        return MandateOut(
            id=v.id,
            user_id=v.user_id,
            provider=v.provider,
            status=v.status,
            iban_last4=v.iban_last4,
            holder_name=v.holder_name,
            fingerprint=v.fingerprint,
            failure_reason=v.failure_reason,
            created_at=v.created_at,
        )


class ChargebackOut(BaseModel):
    id: str
    payment_id: str
    payer_id: str
    currency: str
    amount: int
    reason: str
    decision: str
    decision_reason: str
    status: str
    rules: list[str]
    opened_at: datetime
    closed_at: datetime | None

    @staticmethod
    def of(v: ChargebackView) -> ChargebackOut:
        return ChargebackOut(
            id=v.id,
            payment_id=v.payment_id,
            payer_id=v.payer_id,
            currency=v.amount.currency,
            amount=v.amount.amount,
            reason=v.reason,
            decision=v.decision,
            decision_reason=v.decision_reason,
            status=v.status,
            rules=list(v.rules),
            opened_at=v.opened_at,
            closed_at=v.closed_at,
        )


class CardIn(ApiModel):
    token: Annotated[
        Text, Field(min_length=1, max_length=100, description="provider token (sandbox: test card number)")
    ]
    holder_name: Annotated[Text, Field(max_length=200)] = ""


class CardPaymentIn(ApiModel):
    amount: Cents
    currency: Currency = "EUR"
    card: CardIn
    return_url: Url


class CaptureIn(ApiModel):
    amount: Cents
    currency: Currency = "EUR"


class RefundIn(ApiModel):
    amount: Cents
    currency: Currency = "EUR"
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    rules: list[Annotated[Text, Field(min_length=3, max_length=60)]] = Field(
        default_factory=list, max_length=20
    )


class MandateIn(ApiModel):
    iban: Annotated[Text, Field(min_length=15, max_length=42)]
    holder_name: Annotated[Text, Field(min_length=1, max_length=200)]
    return_url: Url


class DebitIn(ApiModel):
    amount: Cents
    currency: Currency = "EUR"


def _money(amount: int, currency: str) -> Money:
    if not is_currency(currency):
        raise InvalidInput([FieldError("body.currency", f"unsupported currency {currency!r}")])
    return Money(amount, currency)


def _scoped(principal: Principal, key: str) -> str:
    return f"{principal.user_id}:{key}"


# --- clients ----------------------------------------------------------------------------------------


@router.post(
    "/me/card-payins", status_code=201, response_model=PaymentOut, summary="Top up my credit by card"
)
def pay_by_card(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: CardPaymentIn, key: Key
) -> PaymentOut:
    """A card pay-in crediting the caller's client credit once the provider confirms it. When the
    answer's `status` is `action_required`, send the payer to `redirect_url` (3-D Secure)."""
    with db.begin():
        v = service.start_card_payin(
            db,
            platform_id=platform.id,
            payer_id=principal.user_id,
            amount=_money(body.amount, body.currency),
            card=CardDetails(body.card.token, body.card.holder_name),
            purpose=(CLIENT_CREDIT, principal.user_id),
            return_url=body.return_url,
            idempotency_key=_scoped(principal, key),
            now=now,
        )
    return PaymentOut.of(v)


@router.post(
    "/me/preauthorizations",
    status_code=201,
    response_model=PaymentOut,
    summary="Pre-authorise my card",
)
def preauthorize(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: CardPaymentIn, key: Key
) -> PaymentOut:
    """Reserve an amount on the caller's card; staff capture part or all of it (credited to the
    caller's client credit) or cancel it."""
    with db.begin():
        v = service.start_preauthorization(
            db,
            platform_id=platform.id,
            payer_id=principal.user_id,
            amount=_money(body.amount, body.currency),
            card=CardDetails(body.card.token, body.card.holder_name),
            purpose=(CLIENT_CREDIT, principal.user_id),
            return_url=body.return_url,
            idempotency_key=_scoped(principal, key),
            now=now,
        )
    return PaymentOut.of(v)


@router.get("/me/payments", response_model=Page[PaymentOut], summary="My payments")
def my_payments(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[PaymentOut]:
    with db.begin():
        rows = service.list_payments(
            db,
            platform_id=platform.id,
            payer_id=principal.user_id,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=PaymentOut.of)


@router.get("/me/payments/{payment_id}", response_model=PaymentOut, summary="One of my payments")
def my_payment(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, payment_id: Id) -> PaymentOut:
    with db.begin():
        v = service.get_payment(
            db, platform_id=platform.id, payment_id=payment_id, payer_id=principal.user_id
        )
    return PaymentOut.of(v)


@router.post(
    "/me/mandates", status_code=201, response_model=MandateOut, summary="Sign a SEPA direct-debit mandate"
)
def sign_mandate(
    principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, body: MandateIn, key: Key
) -> MandateOut:
    with db.begin():
        v = service.create_mandate(
            db,
            platform_id=platform.id,
            user_id=principal.user_id,
            iban=body.iban,
            holder_name=body.holder_name,
            return_url=body.return_url,
            idempotency_key=_scoped(principal, key),
            now=now,
        )
    return MandateOut.of(v)


@router.get("/me/mandates", response_model=list[MandateOut], summary="My mandates")
def my_mandates(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> list[MandateOut]:
    with db.begin():
        rows = service.mandates_of(db, platform_id=platform.id, user_id=principal.user_id)
    return [MandateOut.of(r) for r in rows]


# --- staff --------------------------------------------------------------------------------------------


@router.get("/payments", response_model=Page[PaymentOut], summary="The platform's payments (staff)")
def all_payments(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    payer_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[PaymentOut]:
    with db.begin():
        rows = service.list_payments(
            db, platform_id=platform.id, payer_id=payer_id, after_id=page.position(str), limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r.id, shape=PaymentOut.of)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="One payment (staff)")
def one_payment(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db, payment_id: Id) -> PaymentOut:
    with db.begin():
        v = service.get_payment(db, platform_id=platform.id, payment_id=payment_id)
    return PaymentOut.of(v)


@router.post(
    "/payments/{payment_id}/capture", response_model=PaymentOut, summary="Capture a pre-authorisation (staff)"
)
def capture(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    payment_id: Id,
    body: CaptureIn,
    key: Key,
) -> PaymentOut:
    with db.begin():
        v = service.capture_preauthorization(
            db,
            platform_id=platform.id,
            payment_id=payment_id,
            amount=_money(body.amount, body.currency),
            idempotency_key=key,
            now=now,
        )
    return PaymentOut.of(v)


@router.post(
    "/payments/{payment_id}/cancel", response_model=PaymentOut, summary="Cancel a pre-authorisation (staff)"
)
def cancel(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, payment_id: Id, key: Key
) -> PaymentOut:
    with db.begin():
        v = service.cancel_preauthorization(
            db, platform_id=platform.id, payment_id=payment_id, idempotency_key=key, now=now
        )
    return PaymentOut.of(v)


@router.post(
    "/payments/{payment_id}/refunds", status_code=201, response_model=RefundOut, summary="Refund (staff)"
)
def refund(
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    payment_id: Id,
    body: RefundIn,
    key: Key,
) -> RefundOut:
    """Refund part or all of a received payment; never more than what remains refundable."""
    with db.begin():
        v = service.refund(
            db,
            platform_id=platform.id,
            payment_id=payment_id,
            amount=_money(body.amount, body.currency),
            reason=body.reason,
            rules=tuple(body.rules),
            idempotency_key=key,
            now=now,
            actor=Actor("staff", staff.user_id),
        )
    return RefundOut.of(v)


@router.get(
    "/payments/{payment_id}/refunds", response_model=list[RefundOut], summary="A payment's refunds (staff)"
)
def refunds(_staff: StaffPrincipal, platform: CurrentPlatform, db: Db, payment_id: Id) -> list[RefundOut]:
    with db.begin():
        service.get_payment(db, platform_id=platform.id, payment_id=payment_id)
        rows = service.refunds_of(db, platform_id=platform.id, payment_id=payment_id)
    return [RefundOut.of(r) for r in rows]


@router.post(
    "/mandates/{mandate_id}/debits",
    status_code=201,
    response_model=PaymentOut,
    summary="Debit a mandate (staff)",
)
def debit(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    mandate_id: Id,
    body: DebitIn,
    key: Key,
) -> PaymentOut:
    """A SEPA direct debit crediting the mandate holder's client credit once confirmed."""
    with db.begin():
        mandate = service.get_mandate(db, platform_id=platform.id, mandate_id=mandate_id)
        v = service.direct_debit(
            db,
            platform_id=platform.id,
            mandate_id=mandate_id,
            amount=_money(body.amount, body.currency),
            purpose=(CLIENT_CREDIT, mandate.user_id),
            idempotency_key=key,
            now=now,
        )
    return PaymentOut.of(v)


@router.get(
    "/payments/{payment_id}/chargebacks", response_model=list[ChargebackOut], summary="Chargebacks (staff)"
)
def payment_chargebacks(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, payment_id: Id
) -> list[ChargebackOut]:
    with db.begin():
        service.get_payment(db, platform_id=platform.id, payment_id=payment_id)
        rows = service.chargebacks(db, platform_id=platform.id, payment_id=payment_id)
    return [ChargebackOut.of(r) for r in rows]


# --- provider webhooks --------------------------------------------------------------------------------


class WebhookOut(BaseModel):
    status: str
    detail: str
    event_ids: list[str]


class WebhookRefused(AppError):
    status = 400
    type_ = "https://entremise.dev/problems/webhook-refused"
    title = "Webhook refused"


ProviderName = Annotated[str, Path(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_]{1,39}$")]


@webhook_router.post(
    "/api/v1/psp/webhooks/{provider}", response_model=WebhookOut, summary="A provider's webhook"
)
async def receive_webhook(request: Request, provider: ProviderName, runtime: RuntimeDep) -> WebhookOut:
    """Signed with `Entremise-Signature` (HMAC-SHA256 over the timestamp and the raw body). Forged,
    stale or replayed: 400, and the attempt is logged. A duplicate event: 200, no change."""
    if provider not in adapter_names():
        raise NotFound(f"no payment provider {provider!r} on this deployment")
    body = await request.body()
    headers = dict(request.headers)

    def run() -> webhooks.Receipt:
        now = runtime.clock.now()
        try:
            with runtime.sessions() as db, db.begin():
                return webhooks.receive(db, provider=provider, body=body, headers=headers, now=now)
        except IntegrityError:
            # a concurrent delivery of the same event committed first: this one changed nothing
            raise Conflict("another delivery of this event was processed at the same time; retry") from None

    receipt = await run_in_threadpool(run)
    if receipt.status == "rejected":
        raise WebhookRefused(f"webhook refused: {receipt.detail}")
    return WebhookOut(status=receipt.status, detail=receipt.detail, event_ids=list(receipt.event_ids))


# --- the sandbox provider's 3-D Secure page ------------------------------------------------------------

Ref = Annotated[str, Path(min_length=5, max_length=100, pattern=r"^[a-z]+_[0-9a-f]+$")]


def _three_ds_op(db: Db, ref: str) -> SandboxOperation:
    op = sandbox.operation(db, ref)
    if op is None or op.kind not in ("payin", "preauth"):
        raise NotFound("no such 3-D Secure step")
    return op


@sandbox_router.get("/sandbox/psp/3ds/{ref}", response_class=HTMLResponse)
def three_ds_page(db: Db, ref: Ref) -> HTMLResponse:
    with db.begin():
        op = _three_ds_op(db, ref)
        html = _TEMPLATES.get_template("3ds.html.j2").render(
            done=op.status != "action_required",
            status=op.status,
            amount=str(Money(op.amount or 0, op.currency or "EUR")),
            last4=op.instrument[-4:],
            action=sandbox.THREE_DS_PATH.format(ref=op.ref),
        )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@sandbox_router.post("/sandbox/psp/3ds/{ref}", response_model=None)
def three_ds_answer(
    db: Db, now: Now, ref: Ref, decision: Annotated[Literal["approve", "fail"], Form()]
) -> Response:
    with db.begin():
        op = _three_ds_op(db, ref)
        if op.status != "action_required":
            raise Conflict("this 3-D Secure step is already complete")
        sandbox.complete_3ds(db, ref=ref, approved=decision == "approve", now=now)
        target = op.return_url or "/"
    return RedirectResponse(target, status_code=303)
