"""Payments use cases: card pay-ins (with their 3-D Secure step), pre-authorisations, refunds,
SEPA mandates and debits, chargebacks, and the reading functions other modules call.

Every function runs in the caller's transaction (`with db.begin(): service.fn(db, ..., now=...)`).
Nothing is posted to the ledger when a payment is asked: postings happen only when the provider
confirms, as the webhook is processed (`apply_event`), through the payment's purpose handlers.
Every call is idempotent by its `idempotency_key` (unique per platform and kind of call): the same
key with the same request returns the first result (`replayed=True`), with another request it is
refused (Conflict).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from entremise.accounts.models import User
from entremise.audit.service import Actor, append
from entremise.fraud import service as fraud
from entremise.kernel.errors import AppError, Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountFrozen, AccountType, InsufficientFunds, Transfer
from entremise.payments import domain, testdata
from entremise.payments import purposes as purposes_mod
from entremise.payments import sandbox as _sandbox  # noqa: F401 - registers the sandbox adapter
from entremise.payments.models import Payment, PaymentChargeback, PaymentMandate, PaymentRefund
from entremise.payments.port import (
    CardDetails,
    EventType,
    Operation,
    OperationStatus,
    PaymentProvider,
    ProviderEvent,
)
from entremise.payments.providers import for_platform, provider_name
from entremise.payments.purposes import CLIENT_CREDIT, PaymentOutcome, loss_account
from entremise.payments.settings import RULE_ID
from entremise.platforms import service as platforms

KINDS = ("payin", "preauth", "debit")


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentView:
    id: str
    platform_id: str
    payer_id: str
    kind: str
    purpose: tuple[str, str]
    provider: str
    provider_ref: str
    status: str
    amount: Money
    captured: Money
    refunded: Money
    refund_reserved: Money
    charged_back: Money
    fingerprint: str
    mandate_id: str | None
    redirect_url: str | None
    return_url: str | None
    failure_reason: str | None
    succeeded_at: datetime | None
    created_at: datetime
    updated_at: datetime
    replayed: bool = False

    @property
    def refundable(self) -> Money:
        """What may still be refunded: received, less refunds asked (not failed), less chargebacks."""
        return Money(
            max(0, self.captured.amount - self.refund_reserved.amount - self.charged_back.amount),
            self.amount.currency,
        )


@dataclass(frozen=True)
class RefundView:
    id: str
    payment_id: str
    provider_ref: str
    status: str
    amount: Money
    reason: str
    rules: tuple[str, ...]
    failure_reason: str | None
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class MandateView:
    id: str
    user_id: str
    provider: str
    provider_ref: str
    status: str
    fingerprint: str
    iban_last4: str
    holder_name: str
    failure_reason: str | None
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class ChargebackView:
    id: str
    payment_id: str
    payer_id: str
    provider_ref: str
    amount: Money
    reason: str
    decision: str  # accepted | contested
    decision_reason: str
    status: str  # accepted | contested | won | lost
    rules: tuple[str, ...]
    opened_at: datetime
    closed_at: datetime | None


def _payment_view(p: Payment, replayed: bool = False) -> PaymentView:
    def m(v: int | None) -> Money:
        return Money(v or 0, p.currency)

    return PaymentView(
        id=p.id,
        platform_id=p.platform_id,
        payer_id=p.payer_id,
        kind=p.kind,
        purpose=(p.purpose_kind, p.purpose_id),
        provider=p.provider,
        provider_ref=p.provider_ref,
        status=p.status,
        amount=m(p.amount),
        captured=m(p.captured),
        refunded=m(p.refunded),
        refund_reserved=m(p.refund_reserved),
        charged_back=m(p.charged_back),
        fingerprint=p.fingerprint,
        mandate_id=p.mandate_id,
        redirect_url=p.redirect_url if p.status == "action_required" else None,
        return_url=p.return_url,
        failure_reason=p.failure_reason,
        succeeded_at=p.succeeded_at,
        created_at=p.created_at,
        updated_at=p.updated_at,
        replayed=replayed,
    )


def _refund_view(r: PaymentRefund, replayed: bool = False) -> RefundView:
    return RefundView(
        id=r.id,
        payment_id=r.payment_id,
        provider_ref=r.provider_ref,
        status=r.status,
        amount=Money(r.amount, r.currency),
        reason=r.reason,
        rules=tuple(r.rules),
        failure_reason=r.failure_reason,
        created_at=r.created_at,
        replayed=replayed,
    )


def _mandate_view(m: PaymentMandate, replayed: bool = False) -> MandateView:
    return MandateView(
        id=m.id,
        user_id=m.user_id,
        provider=m.provider,
        provider_ref=m.provider_ref,
        status=m.status,
        fingerprint=m.fingerprint,
        iban_last4=m.iban_last4,
        holder_name=m.holder_name,
        failure_reason=m.failure_reason,
        created_at=m.created_at,
        replayed=replayed,
    )


def _chargeback_view(c: PaymentChargeback) -> ChargebackView:
    return ChargebackView(
        id=c.id,
        payment_id=c.payment_id,
        payer_id=c.payer_id,
        provider_ref=c.provider_ref,
        amount=Money(c.amount, c.currency),
        reason=c.reason,
        decision=c.decision,
        decision_reason=c.decision_reason,
        status=c.status,
        rules=tuple(c.rules),
        opened_at=c.opened_at,
        closed_at=c.closed_at,
    )


# --- checks ------------------------------------------------------------------------------------


def _check_amount(amount: object, field: str = "amount") -> list[FieldError]:
    if not isinstance(amount, Money):
        return [FieldError(field, "must be an amount of money")]
    if amount.amount <= 0:
        return [FieldError(field, "must be more than zero")]
    if amount.amount > 10**11:
        return [FieldError(field, "is too large")]
    return []


def _check_purpose(purpose: object) -> list[FieldError]:
    if (
        not isinstance(purpose, tuple)
        or len(purpose) != 2
        or not all(isinstance(p, str) and 1 <= len(p) <= 64 for p in purpose)
    ):
        return [FieldError("purpose", "a (kind, id) pair of short texts")]
    if purposes_mod.purpose(purpose[0]) is None:
        return [FieldError("purpose", f"unknown purpose {purpose[0]!r}")]
    return []


def _check_user(db: Session, platform_id: str, user_id: str, field: str) -> None:
    found = db.scalar(select(User.id).where(User.id == user_id, User.platform_id == platform_id))
    if found is None:
        raise InvalidInput([FieldError(field, "no such user on this platform")])


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(errors)


def _clearing(db: Session, platform_id: str, provider: str, currency: str, now: datetime) -> str:
    return ledger.get_or_open_account(
        db, platform_id=platform_id, type=AccountType.PSP_CLEARING, now=now, currency=currency, label=provider
    ).id


def _by_key(db: Session, model: Any, platform_id: str, key: str) -> Any:
    return db.scalars(
        select(model).where(model.platform_id == platform_id, model.idempotency_key == key)
    ).first()


def _replay_or_conflict(row: Any, digest: str) -> None:
    if row.request_hash != digest:
        raise Conflict(
            "this idempotency key was used for another request",
            extra={"idempotency_key": row.idempotency_key},
        )


def _provider(db: Session, platform_id: str, now: datetime) -> tuple[str, PaymentProvider]:
    return provider_name(db, platform_id), for_platform(db, platform_id=platform_id, now=now)


def _locked_payment(db: Session, platform_id: str, payment_id: str) -> Payment:
    row = db.scalars(
        select(Payment).where(Payment.id == payment_id, Payment.platform_id == platform_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no payment {payment_id}")
    return row


# --- card pay-ins and pre-authorisations -------------------------------------------------------


def start_card_payin(
    db: Session,
    *,
    platform_id: str,
    payer_id: str,
    amount: Money,
    card: CardDetails,
    purpose: tuple[str, str],
    return_url: str,
    idempotency_key: str,
    now: datetime,
) -> PaymentView:
    """Ask the provider for a card pay-in. The answer is `pending` (the outcome comes by webhook)
    or `action_required` (send the payer to `redirect_url`, the 3-D Secure step)."""
    return _start_card(
        db, "payin", platform_id, payer_id, amount, card, purpose, return_url, idempotency_key, now
    )


def start_preauthorization(
    db: Session,
    *,
    platform_id: str,
    payer_id: str,
    amount: Money,
    card: CardDetails,
    purpose: tuple[str, str],
    return_url: str,
    idempotency_key: str,
    now: datetime,
) -> PaymentView:
    """Reserve `amount` on the card; capture part or all of it later, or cancel it. Nothing is
    posted until a capture is confirmed (then the purpose receives the captured amount)."""
    return _start_card(
        db, "preauth", platform_id, payer_id, amount, card, purpose, return_url, idempotency_key, now
    )


def _start_card(
    db: Session,
    kind: str,
    platform_id: str,
    payer_id: str,
    amount: Money,
    card: CardDetails,
    purpose: tuple[str, str],
    return_url: str,
    key: str,
    now: datetime,
) -> PaymentView:
    errors = (
        _check_amount(amount) + _check_purpose(purpose) + domain.check_url(return_url) + domain.check_key(key)
    )
    if not isinstance(card, CardDetails) or not 1 <= len(card.token.strip()) <= 100:
        errors.append(FieldError("card.token", "a card token (the sandbox: a test card number)"))
    elif len(card.holder_name) > 200:
        errors.append(FieldError("card.holder_name", "at most 200 characters"))
    _raise(errors)
    digest = domain.request_hash(
        {
            "op": kind,
            "payer": payer_id,
            "amount": amount.amount,
            "currency": amount.currency,
            "card": card.token,
            "purpose": list(purpose),
            "return_url": return_url,
        }
    )
    found = _by_key(db, Payment, platform_id, key)
    if found is not None:
        _replay_or_conflict(found, digest)
        return _payment_view(found, replayed=True)
    _check_user(db, platform_id, payer_id, "payer_id")
    name, provider = _provider(db, platform_id, now)
    call_key = f"{kind}:{key}"
    if kind == "payin":
        op = provider.create_card_payin(
            amount=amount, card=card, return_url=return_url, idempotency_key=call_key
        )
    else:
        op = provider.create_preauthorization(
            amount=amount, card=card, return_url=return_url, idempotency_key=call_key
        )
    fingerprint = str(op.raw.get("fingerprint") or testdata.card_fingerprint(card.token))
    payment = _insert_payment(
        db, kind, platform_id, payer_id, amount, purpose, name, op, fingerprint, return_url, key, digest, now
    )
    return _payment_view(payment)


def _insert_payment(
    db: Session,
    kind: str,
    platform_id: str,
    payer_id: str,
    amount: Money,
    purpose: tuple[str, str],
    provider: str,
    op: Operation,
    fingerprint: str,
    return_url: str | None,
    key: str,
    digest: str,
    now: datetime,
    mandate_id: str | None = None,
) -> Payment:
    payment = Payment(
        id=new_id(),
        platform_id=platform_id,
        payer_id=payer_id,
        kind=kind,
        purpose_kind=purpose[0],
        purpose_id=purpose[1],
        provider=provider,
        provider_ref=op.provider_ref,
        status="pending",
        currency=amount.currency,
        amount=amount.amount,
        captured=0,
        refund_reserved=0,
        refunded=0,
        charged_back=0,
        fingerprint=fingerprint[:100],
        mandate_id=mandate_id,
        clearing_account_id=_clearing(db, platform_id, provider, amount.currency, now),
        redirect_url=op.redirect_url,
        return_url=return_url,
        idempotency_key=key,
        request_hash=digest,
        created_at=now,
        updated_at=now,
    )
    db.add(payment)
    db.flush()
    # the instrument is an identifier fraud watches: shared by several accounts, or used by an
    # account linked to one with a chargeback, it raises a case for staff (COMMON-ACCOUNT-1)
    fraud.note_identifier(
        db,
        platform=platforms.get(db, platform_id),
        user_id=payer_id,
        kind="bank_account" if mandate_id else "payment_instrument",
        value=payment.fingerprint,
        source="payments",
        now=now,
    )
    append(
        db,
        platform_id=platform_id,
        actor=Actor("user", payer_id),
        action=f"payment.{kind}.started",
        obj=("payment", payment.id),
        at=now,
        data={
            "amount": amount.amount,
            "currency": amount.currency,
            "purpose": list(purpose),
            "provider": provider,
        },
    )
    target = domain.immediate_status(op.status, kind)
    if target != "pending":
        _move_payment(db, payment, target, op.amount or amount, op.failure_reason, now, now)
    return payment


def capture_preauthorization(
    db: Session, *, platform_id: str, payment_id: str, amount: Money, idempotency_key: str, now: datetime
) -> PaymentView:
    """Capture `amount` (part or all) of an authorised pre-authorisation; the rest is released at
    the provider. The purpose is paid the captured amount when the provider confirms."""
    _raise(_check_amount(amount) + domain.check_key(idempotency_key))
    payment = _locked_payment(db, platform_id, payment_id)
    if payment.kind != "preauth":
        raise Conflict("only a pre-authorisation can be captured")
    if payment.status in ("capturing", "captured") and payment.capture_requested == amount.amount:
        return _payment_view(payment, replayed=True)
    if payment.status != "authorized":
        raise Conflict(f"this pre-authorisation is {payment.status}, it cannot be captured")
    if amount.currency != payment.currency or amount.amount > payment.amount:
        raise InvalidInput(
            [FieldError("amount", f"at most the authorised {Money(payment.amount, payment.currency)}")]
        )
    _, provider = _provider(db, platform_id, now)
    op = provider.capture_preauthorization(
        provider_ref=payment.provider_ref, amount=amount, idempotency_key=f"capture:{idempotency_key}"
    )
    if op.status is OperationStatus.FAILED:
        raise Conflict(f"the provider refused the capture: {op.failure_reason or 'no reason given'}")
    payment.status = "capturing"
    payment.capture_requested = amount.amount
    payment.updated_at = now
    append(
        db,
        platform_id=platform_id,
        actor=None,
        action="payment.preauth.capture_requested",
        obj=("payment", payment.id),
        at=now,
        data={"amount": amount.amount},
    )
    return _payment_view(payment)


def cancel_preauthorization(
    db: Session, *, platform_id: str, payment_id: str, idempotency_key: str, now: datetime
) -> PaymentView:
    """Give up a pre-authorisation: nothing is captured, nothing was posted."""
    _raise(domain.check_key(idempotency_key))
    payment = _locked_payment(db, platform_id, payment_id)
    if payment.kind != "preauth":
        raise Conflict("only a pre-authorisation can be cancelled")
    if payment.status in ("cancelling", "cancelled"):
        return _payment_view(payment, replayed=True)
    if payment.status not in ("authorized", "action_required"):
        raise Conflict(f"this pre-authorisation is {payment.status}, it cannot be cancelled")
    _, provider = _provider(db, platform_id, now)
    op = provider.cancel_preauthorization(
        provider_ref=payment.provider_ref, idempotency_key=f"cancel:{idempotency_key}"
    )
    if op.status is OperationStatus.FAILED:
        raise Conflict(f"the provider refused the cancellation: {op.failure_reason or 'no reason given'}")
    payment.status = "cancelling"
    payment.updated_at = now
    return _payment_view(payment)


# --- refunds -----------------------------------------------------------------------------------


def refund(
    db: Session,
    *,
    platform_id: str,
    payment_id: str,
    amount: Money,
    reason: str,
    rules: tuple[str, ...] | list[str],
    idempotency_key: str,
    now: datetime,
    actor: Actor,
    source_account_id: str | None = None,
) -> RefundView:
    """Refund part or all of a received payment to the payer's card or account.

    Never more than what remains (received, less refunds asked and not failed, less chargebacks):
    the payment row is locked, so concurrent refunds cannot together exceed it. The money taken
    back is reserved at once by a ledger hold on `source_account_id` (default for a client-credit
    top-up: the payer's credit), captured into the clearing account when the provider confirms,
    released if the refund fails; without a source, the purpose's `on_refunded` posts on
    confirmation."""
    errors = (
        _check_amount(amount) + domain.check_text(reason, "reason", 500) + domain.check_key(idempotency_key)
    )
    if not isinstance(rules, tuple | list) or not all(isinstance(r, str) and domain_rule(r) for r in rules):
        errors.append(FieldError("rules", "rule IDs such as CONSULT-CHARGEBACK-1"))
    _raise(errors)
    digest = domain.request_hash(
        {
            "payment": payment_id,
            "amount": amount.amount,
            "currency": amount.currency,
            "reason": reason,
            "rules": list(rules),
            "source": source_account_id,
        }
    )
    found = _by_key(db, PaymentRefund, platform_id, idempotency_key)
    if found is not None:
        _replay_or_conflict(found, digest)
        return _refund_view(found, replayed=True)
    payment = _locked_payment(db, platform_id, payment_id)
    if payment.status not in domain.SUCCESS:
        raise Conflict(f"this payment is {payment.status}: only a received payment can be refunded")
    if amount.currency != payment.currency:
        raise InvalidInput([FieldError("amount", f"the payment is in {payment.currency}")])
    view = _payment_view(payment)
    if amount.amount > view.refundable.amount:
        raise Conflict(
            f"a refund of {amount} exceeds what remains refundable ({view.refundable})",
            extra={"refundable": view.refundable.amount, "currency": payment.currency},
        )
    purpose = purposes_mod.purpose(payment.purpose_kind)
    if source_account_id is None and payment.purpose_kind == CLIENT_CREDIT:
        source_account_id = ledger.get_or_open_account(
            db,
            platform_id=platform_id,
            type=AccountType.CLIENT_CREDIT,
            now=now,
            currency=payment.currency,
            owner_id=payment.payer_id,
        ).id
    if source_account_id is None and (purpose is None or purpose.on_refunded is None):
        raise Conflict(
            f"payments of purpose {payment.purpose_kind!r} say nothing of where a refund is taken from"
        )
    refund_id = new_id()
    hold_id = None
    if source_account_id is not None:
        try:
            hold = ledger.hold(
                db,
                platform_id=platform_id,
                account_id=source_account_id,
                amount=amount,
                idempotency_key=f"refund:{refund_id}:hold",
                code="payment.refund.reserve",
                rules=list(rules),
                cause=("payment_refund", refund_id),
                now=now,
                reason=f"refund of payment {payment.id} asked",
                actor=actor,
            )
        except NotFound:
            raise Conflict("the account the refund is taken from is unknown") from None
        except AccountFrozen as exc:
            raise Conflict("the account the refund is taken from is frozen", rules=exc.rules) from None
        except InsufficientFunds:
            raise Conflict(
                f"the account the refund is taken from does not hold {amount} any more",
                extra={"account_id": source_account_id},
            ) from None
        hold_id = hold.id
    _, provider = _provider(db, platform_id, now)
    op = provider.refund(
        payin_ref=payment.provider_ref, amount=amount, idempotency_key=f"refund:{idempotency_key}"
    )
    row = PaymentRefund(
        id=refund_id,
        platform_id=platform_id,
        payment_id=payment.id,
        provider=payment.provider,
        provider_ref=op.provider_ref,
        status="pending",
        currency=amount.currency,
        amount=amount.amount,
        reason=reason,
        rules=list(rules),
        source_account_id=source_account_id,
        hold_id=hold_id,
        actor_type=actor.type,
        actor_id=actor.id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    payment.refund_reserved += amount.amount
    payment.updated_at = now
    db.flush()
    append(
        db,
        platform_id=platform_id,
        actor=actor,
        action="payment.refund.requested",
        obj=("payment", payment.id),
        at=now,
        rules=list(rules),
        reason=reason,
        data={"refund_id": row.id, "amount": amount.amount},
    )
    if op.status in (OperationStatus.SUCCEEDED, OperationStatus.FAILED):
        _move_refund(
            db,
            row,
            "succeeded" if op.status is OperationStatus.SUCCEEDED else "failed",
            op.failure_reason,
            now,
        )
    return _refund_view(row)


def domain_rule(rule: str) -> bool:
    return bool(RULE_ID.match(rule))


def refunds_of(db: Session, *, platform_id: str, payment_id: str) -> list[RefundView]:
    rows = db.scalars(
        select(PaymentRefund)
        .where(PaymentRefund.platform_id == platform_id, PaymentRefund.payment_id == payment_id)
        .order_by(PaymentRefund.created_at, PaymentRefund.id)
    )
    return [_refund_view(r) for r in rows]


# --- SEPA mandates and direct debits -----------------------------------------------------------


def create_mandate(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    iban: str,
    holder_name: str,
    return_url: str,
    idempotency_key: str,
    now: datetime,
) -> MandateView:
    """Ask the provider for a SEPA direct-debit mandate; it becomes active (or fails) by webhook.
    The IBAN is not kept: only its fingerprint and last four characters."""
    errors = domain.check_text(holder_name, "holder_name", 200) + domain.check_url(return_url)
    errors += domain.check_key(idempotency_key)
    if not isinstance(iban, str) or not testdata.iban_is_valid(iban):
        errors.append(FieldError("iban", "not a valid IBAN (ISO 13616 check digits)"))
    _raise(errors)
    value = testdata.normalize_iban(iban)
    digest = domain.request_hash(
        {
            "user": user_id,
            "iban": testdata.iban_fingerprint(value),
            "holder": holder_name,
            "return_url": return_url,
        }
    )
    found = _by_key(db, PaymentMandate, platform_id, idempotency_key)
    if found is not None:
        _replay_or_conflict(found, digest)
        return _mandate_view(found, replayed=True)
    _check_user(db, platform_id, user_id, "user_id")
    name, provider = _provider(db, platform_id, now)
    op = provider.create_mandate(
        iban=value,
        holder_name=holder_name,
        return_url=return_url,
        idempotency_key=f"mandate:{idempotency_key}",
    )
    row = PaymentMandate(
        id=new_id(),
        platform_id=platform_id,
        user_id=user_id,
        provider=name,
        provider_ref=op.provider_ref,
        status="pending",
        fingerprint=str(op.raw.get("fingerprint") or testdata.iban_fingerprint(value))[:100],
        iban_last4=value[-4:],
        holder_name=holder_name,
        idempotency_key=idempotency_key,
        request_hash=digest,
        created_at=now,
        updated_at=now,
    )
    if op.status is OperationStatus.SUCCEEDED:
        row.status = "active"
    elif op.status is OperationStatus.FAILED:
        row.status, row.failure_reason = "failed", op.failure_reason
    db.add(row)
    db.flush()
    append(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="payment.mandate.requested",
        obj=("payment_mandate", row.id),
        at=now,
    )
    return _mandate_view(row)


def get_mandate(db: Session, *, platform_id: str, mandate_id: str, user_id: str | None = None) -> MandateView:
    row = db.get(PaymentMandate, mandate_id)
    if row is None or row.platform_id != platform_id or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"no mandate {mandate_id}")
    return _mandate_view(row)


def mandates_of(db: Session, *, platform_id: str, user_id: str) -> list[MandateView]:
    rows = db.scalars(
        select(PaymentMandate)
        .where(PaymentMandate.platform_id == platform_id, PaymentMandate.user_id == user_id)
        .order_by(PaymentMandate.created_at, PaymentMandate.id)
    )
    return [_mandate_view(r) for r in rows]


def direct_debit(
    db: Session,
    *,
    platform_id: str,
    mandate_id: str,
    amount: Money,
    purpose: tuple[str, str],
    idempotency_key: str,
    now: datetime,
) -> PaymentView:
    """Debit the mandate's account; the purpose is paid when the provider confirms."""
    _raise(_check_amount(amount) + _check_purpose(purpose) + domain.check_key(idempotency_key))
    digest = domain.request_hash(
        {
            "op": "debit",
            "mandate": mandate_id,
            "amount": amount.amount,
            "currency": amount.currency,
            "purpose": list(purpose),
        }
    )
    found = _by_key(db, Payment, platform_id, idempotency_key)
    if found is not None:
        _replay_or_conflict(found, digest)
        return _payment_view(found, replayed=True)
    mandate = db.get(PaymentMandate, mandate_id)
    if mandate is None or mandate.platform_id != platform_id:
        raise NotFound(f"no mandate {mandate_id}")
    if mandate.status != "active":
        raise Conflict(f"this mandate is {mandate.status}: only an active mandate can be debited")
    name, provider = _provider(db, platform_id, now)
    op = provider.create_direct_debit(
        mandate_ref=mandate.provider_ref, amount=amount, idempotency_key=f"debit:{idempotency_key}"
    )
    payment = _insert_payment(
        db,
        "debit",
        platform_id,
        mandate.user_id,
        amount,
        purpose,
        name,
        op,
        mandate.fingerprint,
        None,
        idempotency_key,
        digest,
        now,
        mandate_id=mandate.id,
    )
    return _payment_view(payment)


# --- reading -----------------------------------------------------------------------------------


def get_payment(
    db: Session, *, platform_id: str, payment_id: str, payer_id: str | None = None
) -> PaymentView:
    """One payment; with `payer_id`, only if it is theirs (else NotFound, as if it did not exist)."""
    row = db.get(Payment, payment_id)
    if row is None or row.platform_id != platform_id or (payer_id is not None and row.payer_id != payer_id):
        raise NotFound(f"no payment {payment_id}")
    return _payment_view(row)


def list_payments(
    db: Session,
    *,
    platform_id: str,
    payer_id: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> list[PaymentView]:
    query = select(Payment).where(Payment.platform_id == platform_id)
    if payer_id is not None:
        query = query.where(Payment.payer_id == payer_id)
    if after_id is not None:
        query = query.where(Payment.id > after_id)
    return [_payment_view(r) for r in db.scalars(query.order_by(Payment.id).limit(limit))]


def instrument_fingerprints(db: Session, *, platform_id: str, user_id: str) -> set[str]:
    """The fingerprints of every card and bank account the user paid with (for fraud signals)."""
    cards = db.scalars(
        select(Payment.fingerprint).where(Payment.platform_id == platform_id, Payment.payer_id == user_id)
    )
    ibans = db.scalars(
        select(PaymentMandate.fingerprint).where(
            PaymentMandate.platform_id == platform_id, PaymentMandate.user_id == user_id
        )
    )
    return set(cards) | set(ibans)


def users_with_instrument(db: Session, *, platform_id: str, fingerprint: str) -> set[str]:
    """Every user of the platform who paid with this card or bank account."""
    payers = db.scalars(
        select(Payment.payer_id).where(Payment.platform_id == platform_id, Payment.fingerprint == fingerprint)
    )
    holders = db.scalars(
        select(PaymentMandate.user_id).where(
            PaymentMandate.platform_id == platform_id, PaymentMandate.fingerprint == fingerprint
        )
    )
    return set(payers) | set(holders)


def chargebacks_of(db: Session, *, platform_id: str, user_id: str) -> list[ChargebackView]:
    rows = db.scalars(
        select(PaymentChargeback)
        .where(PaymentChargeback.platform_id == platform_id, PaymentChargeback.payer_id == user_id)
        .order_by(PaymentChargeback.opened_at, PaymentChargeback.id)
    )
    return [_chargeback_view(r) for r in rows]


def chargebacks(db: Session, *, platform_id: str, payment_id: str | None = None) -> list[ChargebackView]:
    query = select(PaymentChargeback).where(PaymentChargeback.platform_id == platform_id)
    if payment_id is not None:
        query = query.where(PaymentChargeback.payment_id == payment_id)
    return [_chargeback_view(r) for r in db.scalars(query.order_by(PaymentChargeback.opened_at))]


def count_payments(db: Session, *, platform_id: str) -> int:
    return int(
        db.scalar(select(func.count()).select_from(Payment).where(Payment.platform_id == platform_id)) or 0
    )


# --- confirmations (called by the webhook processing) -------------------------------------------


def _outcome(payment: Payment, amount: Money, ref: str | None = None) -> PaymentOutcome:
    return PaymentOutcome(
        payment_id=payment.id,
        platform_id=payment.platform_id,
        payer_id=payment.payer_id,
        kind=payment.kind,
        purpose=(payment.purpose_kind, payment.purpose_id),
        amount=amount,
        provider_ref=ref or payment.provider_ref,
        clearing_account_id=payment.clearing_account_id,
    )


def _move_payment(
    db: Session,
    payment: Payment,
    target: str,
    amount: Money | None,
    reason: str | None,
    occurred_at: datetime,
    now: datetime,
) -> bool:
    """Move a payment forward to `target` and run its purpose's handler; False if the event is
    older than where the payment stands (it changes nothing)."""
    if not domain.moves_forward(payment.status, target):
        return False
    previous = payment.status
    payment.status = target
    payment.updated_at = now
    payment.last_event_at = max(payment.last_event_at or occurred_at, occurred_at)
    purpose = purposes_mod.purpose(payment.purpose_kind)
    if target in domain.SUCCESS:
        received = amount.amount if amount is not None else payment.amount
        if target == "captured" and payment.capture_requested is not None and amount is None:
            received = payment.capture_requested
        payment.captured = received
        payment.succeeded_at = occurred_at
        payment.redirect_url = None
        if purpose is None:
            raise Conflict(f"no handler for payments of purpose {payment.purpose_kind!r}")
        purpose.on_succeeded(db, _outcome(payment, Money(received, payment.currency)), now)
    elif target in domain.FAILURE:
        payment.failure_reason = (reason or target)[:100]
        payment.redirect_url = None
        if purpose is not None and purpose.on_failed is not None:
            purpose.on_failed(db, _outcome(payment, Money(payment.amount, payment.currency)), now)
    append(
        db,
        platform_id=payment.platform_id,
        actor=None,
        action=f"payment.{target}",
        obj=("payment", payment.id),
        at=now,
        reason=reason or "",
        data={"from": previous, "captured": payment.captured},
    )
    return True


def _move_refund(db: Session, row: PaymentRefund, target: str, reason: str | None, now: datetime) -> bool:
    if row.status != "pending":
        return False
    payment = _locked_payment(db, row.platform_id, row.payment_id)
    amount = Money(row.amount, row.currency)
    row.status = target
    row.updated_at = now
    if target == "succeeded":
        payment.refunded += row.amount
        if row.hold_id is not None:
            ledger.capture(
                db,
                platform_id=row.platform_id,
                hold_id=row.hold_id,
                to=[(payment.clearing_account_id, amount)],
                idempotency_key=f"refund:{row.id}:capture",
                code="payment.refund",
                rules=list(row.rules),
                now=now,
                reason=f"refund {row.provider_ref} of payment {payment.id} confirmed",
            )
        else:
            purpose = purposes_mod.purpose(payment.purpose_kind)
            assert purpose is not None and purpose.on_refunded is not None
            purpose.on_refunded(db, _outcome(payment, amount, row.provider_ref), now)
    else:
        row.failure_reason = (reason or "failed")[:100]
        payment.refund_reserved -= row.amount
        if row.hold_id is not None:
            ledger.void(
                db,
                platform_id=row.platform_id,
                hold_id=row.hold_id,
                idempotency_key=f"refund:{row.id}:void",
                now=now,
                code="payment.refund.failed",
                rules=list(row.rules),
                reason=f"refund {row.provider_ref} failed: {row.failure_reason}",
            )
    payment.updated_at = now
    append(
        db,
        platform_id=row.platform_id,
        actor=None,
        action=f"payment.refund.{target}",
        obj=("payment", payment.id),
        at=now,
        rules=list(row.rules),
        reason=reason or "",
        data={"refund_id": row.id, "amount": row.amount},
    )
    return True


def _post_loss(
    db: Session, payment: Payment, amount: Money, *, restore: bool, rules: list[str], key: str, now: datetime
) -> None:
    loss = loss_account(db, platform_id=payment.platform_id, currency=amount.currency, now=now)
    transfer = (
        Transfer(payment.clearing_account_id, loss, amount)
        if restore
        else Transfer(loss, payment.clearing_account_id, amount)
    )
    ledger.post_transaction(
        db,
        platform_id=payment.platform_id,
        transfers=[transfer],
        idempotency_key=key,
        code="payment.chargeback.restored" if restore else "payment.chargeback.withdrawn",
        rules=rules,
        cause=("payment", payment.id),
        now=now,
        reason=(
            "a contested chargeback was won: the funds come back"
            if restore
            else "a chargeback withdrew the funds from the platform"
        ),
    )


class Deferred(AppError):
    """The event is about something the engine does not know yet (it arrived before the event
    that creates it): the provider should send it again later."""

    status = 409
    type_ = "https://entremise.dev/problems/conflict"
    title = "Conflict"


def _chargeback_event(db: Session, provider_name_: str, event: ProviderEvent, now: datetime) -> bool:
    row = db.scalars(
        select(PaymentChargeback).where(
            PaymentChargeback.provider == provider_name_, PaymentChargeback.provider_ref == event.provider_ref
        )
    ).first()
    if event.type is EventType.CHARGEBACK_OPENED:
        if row is not None:
            return False
        payment = db.scalars(
            select(Payment).where(
                Payment.provider == provider_name_, Payment.provider_ref == event.related_ref
            )
        ).first()
        if payment is None:
            return False
        if payment.status not in domain.SUCCESS:
            raise Deferred("the payment this chargeback is about is not confirmed yet")
        payment = _locked_payment(db, payment.platform_id, payment.id)
        settings = platforms.get(db, payment.platform_id).settings.payments
        amount = event.amount or Money(payment.captured, payment.currency)
        reason = (event.reason or "unknown")[:100]
        verdict = domain.chargeback_verdict(
            paid_at=payment.succeeded_at or payment.created_at,
            opened_at=event.occurred_at,
            reason=reason,
            window_days=settings.chargeback_window_days,
            reasons=settings.chargeback_reasons,
            rules=settings.chargeback_rules,
        )
        decision = "accepted" if verdict.allowed else "contested"
        row = PaymentChargeback(
            id=new_id(),
            platform_id=payment.platform_id,
            payment_id=payment.id,
            payer_id=payment.payer_id,
            provider=provider_name_,
            provider_ref=event.provider_ref,
            currency=amount.currency,
            amount=amount.amount,
            reason=reason,
            decision=decision,
            decision_reason=verdict.reason[:500],
            status=decision,
            rules=list(verdict.rules),
            opened_at=event.occurred_at,
            created_at=now,
        )
        db.add(row)
        db.flush()
        # accepted or contested, a chargeback is an incident linked accounts are flagged for (TEL-FRAUD-1)
        fraud.report_incident(
            db,
            platform=platforms.get(db, payment.platform_id),
            user_id=payment.payer_id,
            kind="chargeback",
            reference=row.id,
            now=now,
        )
        payment.charged_back += amount.amount
        payment.updated_at = now
        provider = for_platform(db, platform_id=payment.platform_id, now=now)
        if verdict.allowed:
            provider.accept_chargeback(chargeback_ref=event.provider_ref, idempotency_key=f"accept:{row.id}")
            purpose = purposes_mod.purpose(payment.purpose_kind)
            if purpose is not None and purpose.on_chargeback is not None:
                purpose.on_chargeback(db, _outcome(payment, amount, event.provider_ref), now)
            else:
                _post_loss(
                    db,
                    payment,
                    amount,
                    restore=False,
                    rules=list(verdict.rules),
                    key=f"chargeback:{row.id}:withdrawn",
                    now=now,
                )
        else:
            provider.contest_chargeback(
                chargeback_ref=event.provider_ref,
                evidence=verdict.reason,
                idempotency_key=f"contest:{row.id}",
            )
            _post_loss(
                db,
                payment,
                amount,
                restore=False,
                rules=list(verdict.rules),
                key=f"chargeback:{row.id}:withdrawn",
                now=now,
            )
        append(
            db,
            platform_id=payment.platform_id,
            actor=None,
            action=f"payment.chargeback.{decision}",
            obj=("payment", payment.id),
            at=now,
            rules=list(verdict.rules),
            reason=verdict.reason,
            data={"chargeback_id": row.id, "amount": amount.amount, "reason": reason},
        )
        return True
    if row is None:
        raise Deferred("this chargeback's opening has not arrived yet")
    if row.status != "contested":
        return False
    payment = _locked_payment(db, row.platform_id, row.payment_id)
    amount = Money(row.amount, row.currency)
    row.closed_at = event.occurred_at
    if event.type is EventType.CHARGEBACK_WON:
        row.status = "won"
        payment.charged_back -= row.amount
        _post_loss(
            db,
            payment,
            amount,
            restore=True,
            rules=list(row.rules),
            key=f"chargeback:{row.id}:restored",
            now=now,
        )
    else:
        row.status = "lost"
    payment.updated_at = now
    append(
        db,
        platform_id=row.platform_id,
        actor=None,
        action=f"payment.chargeback.{row.status}",
        obj=("payment", payment.id),
        at=now,
        rules=list(row.rules),
        data={"chargeback_id": row.id},
    )
    return True


def apply_event(
    db: Session, *, provider: str, event: ProviderEvent, now: datetime
) -> tuple[str | None, bool]:
    """Apply one verified provider event; (the platform it concerns, whether it changed anything).
    Raises `Deferred` when it must come again later."""
    if event.type in domain.PAYMENT_EVENTS:
        payment = db.scalars(
            select(Payment).where(Payment.provider == provider, Payment.provider_ref == event.provider_ref)
        ).first()
        if payment is None:
            return None, False
        payment = _locked_payment(db, payment.platform_id, payment.id)
        moved = _move_payment(
            db, payment, domain.PAYMENT_EVENTS[event.type], event.amount, event.reason, event.occurred_at, now
        )
        return payment.platform_id, moved
    if event.type in domain.REFUND_EVENTS:
        refund_row = db.scalars(
            select(PaymentRefund).where(
                PaymentRefund.provider == provider, PaymentRefund.provider_ref == event.provider_ref
            )
        ).first()
        if refund_row is None:
            return None, False
        return refund_row.platform_id, _move_refund(
            db, refund_row, domain.REFUND_EVENTS[event.type], event.reason, now
        )
    if event.type in domain.MANDATE_EVENTS:
        mandate = db.scalars(
            select(PaymentMandate).where(
                PaymentMandate.provider == provider, PaymentMandate.provider_ref == event.provider_ref
            )
        ).first()
        if mandate is None:
            return None, False
        if mandate.status != "pending":
            return mandate.platform_id, False
        mandate.status = domain.MANDATE_EVENTS[event.type]
        mandate.failure_reason = event.reason
        mandate.last_event_at = event.occurred_at
        mandate.updated_at = now
        append(
            db,
            platform_id=mandate.platform_id,
            actor=None,
            action=f"payment.mandate.{mandate.status}",
            obj=("payment_mandate", mandate.id),
            at=now,
            reason=event.reason or "",
        )
        return mandate.platform_id, True
    if event.type in domain.CHARGEBACK_EVENTS:
        moved = _chargeback_event(db, provider, event, now)
        found = db.scalars(
            select(PaymentChargeback.platform_id).where(
                PaymentChargeback.provider == provider, PaymentChargeback.provider_ref == event.provider_ref
            )
        ).first()
        return found, moved
    return None, False
