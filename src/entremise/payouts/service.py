"""Payout use cases (EXPERT-WALLET-1/2, CARPOOL-PAY-1). Each runs in the caller's transaction.

The money path, all through the ledger and each step idempotent:

1. request: PROVIDER_WALLET → PAYOUTS_IN_TRANSIT in one transaction (`payout.requested`), then the
   order goes to the payment provider with the payout's id as idempotency key;
2. the provider confirms (`payout.succeeded`): PAYOUTS_IN_TRANSIT → PSP_CLEARING (`payout.paid`);
3. or the payout bounces (`payout.failed`): PAYOUTS_IN_TRANSIT → PROVIDER_WALLET (`payout.bounced`).

A provider's requests are serialised by a lock on their KYC row, and the wallet may never go
negative (a ledger flag), so two racing requests can never pay out more than the wallet holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.kyc import notices
from entremise.kyc import service as kyc
from entremise.kyc.domain import mask_iban
from entremise.kyc.models import BankAccount
from entremise.ledger import models as ledger_models
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.payments.port import EventType, OperationStatus, PaymentProvider, ProviderEvent
from entremise.payments.webhooks import register_event_handler
from entremise.payouts import domain
from entremise.payouts.models import Payout
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.sanctions import service as sanctions


@dataclass(frozen=True)
class PayoutView:
    id: str
    user_id: str
    amount: Money
    state: str
    trigger: str
    rules: tuple[str, ...]
    iban_masked: str
    provider_ref: str | None
    failure_reason: str | None
    requested_at: datetime
    settled_at: datetime | None
    replayed: bool = False


def _view(db: Session, row: Payout, *, replayed: bool = False) -> PayoutView:
    bank = db.get(BankAccount, row.bank_account_id)
    return PayoutView(
        row.id,
        row.user_id,
        Money(row.amount, row.currency),
        row.state,
        row.trigger,
        tuple(r for r in row.rules.split(",") if r),
        mask_iban(bank.iban) if bank else "",
        row.provider_ref,
        row.failure_reason,
        row.requested_at,
        row.settled_at,
        replayed,
    )


def provider_key(platform_id: str, user_id: str, request_key: str) -> str:
    """The idempotency key sent to the payment provider: derived from the provider's own request
    key, not from the payout's id, so that a request retried after a rollback (the provider
    answered but our transaction failed) can never order a second transfer."""
    digest = hashlib.sha256(f"{platform_id}\n{user_id}\n{request_key}".encode()).hexdigest()
    return f"payout:{digest[:40]}"


def wallet_of(db: Session, platform: PlatformView, user_id: str, now: datetime) -> ledger.AccountView:
    return ledger.get_or_open_account(
        db,
        platform_id=platform.id,
        type=AccountType.PROVIDER_WALLET,
        owner_id=user_id,
        currency=platform.settings.payouts.currency,
        now=now,
    )


def _platform_account(db: Session, platform: PlatformView, type_: AccountType, now: datetime) -> str:
    return ledger.get_or_open_account(
        db, platform_id=platform.id, type=type_, currency=platform.settings.payouts.currency, now=now
    ).id


def request_payout(
    db: Session,
    provider: PaymentProvider,
    *,
    platform: PlatformView,
    user_id: str,
    amount: int | None,
    request_key: str,
    now: datetime,
    trigger: str = "request",
    extra_rules: tuple[str, ...] = (),
) -> PayoutView:
    """Order a payout of `amount` cents (None: all the wallet holds). Retrying with the same
    `request_key` returns the first payout; the same key with another amount is refused."""
    if not request_key or len(request_key) > 120:
        raise InvalidInput([FieldError("header.Idempotency-Key", "required, at most 120 characters")])
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
        raise InvalidInput([FieldError("body.amount", "a positive whole number of cents")])
    settings = platform.settings.payouts
    currency = settings.currency
    kyc.lock_provider(db, platform.id, user_id, now)
    existing = db.scalar(
        select(Payout).where(
            Payout.platform_id == platform.id, Payout.user_id == user_id, Payout.request_key == request_key
        )
    )
    if existing is not None:
        if amount is not None and amount != existing.amount:
            raise Conflict(
                "this request key was used for another amount",
                extra={"payout_id": existing.id, "amount": existing.amount},
            )
        return _view(db, existing, replayed=True)
    wallet = wallet_of(db, platform, user_id, now)
    available = ledger.balance(db, platform_id=platform.id, account_id=wallet.id).available
    user = accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    wanted = Money(amount, currency) if amount is not None else available
    verdict = domain.may_pay_out(
        domain.PayoutFacts(
            kyc=kyc.is_validated(db, platform=platform, user_id=user_id),
            wallet_frozen=wallet.frozen,
            account_active=user.status == "active"
            and sanctions.is_blocked(db, platform_id=platform.id, user_id=user_id) is None,
            available=available,
            amount=wanted,
            minimum_balance=Money(settings.minimum_balance, currency),
            minimum_transfer=Money(settings.minimum_transfer, currency),
        )
    )
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules, extra={"available": available.amount})
    bank = kyc.current_bank_account(db, platform.id, user_id)
    assert bank is not None  # validated KYC implies a bank account
    rules = tuple(dict.fromkeys((*verdict.rules, *settings.rules, *extra_rules)))
    row = Payout(
        id=new_id(),
        platform_id=platform.id,
        user_id=user_id,
        request_key=request_key,
        amount=wanted.amount,
        currency=currency,
        bank_account_id=bank.id,
        state=domain.REQUESTED,
        trigger=trigger,
        rules=",".join(rules),
        requested_at=now,
    )
    db.add(row)
    db.flush()
    in_transit = _platform_account(db, platform, AccountType.PAYOUTS_IN_TRANSIT, now)
    ledger.post_transaction(
        db,
        platform_id=platform.id,
        transfers=[Transfer(wallet.id, in_transit, wanted)],
        idempotency_key=f"payout:{row.id}:requested",
        code="payout.requested",
        rules=rules,
        cause=("payout", row.id),
        reason=verdict.reason,
        now=now,
    )
    record(
        db,
        platform_id=platform.id,
        actor=Actor.system() if trigger == "schedule" else Actor("user", user_id),
        action="payout.requested",
        obj=("payout", row.id),
        at=now,
        rules=rules,
        reason=verdict.reason,
        data={"amount": wanted.amount, "currency": currency, "iban": mask_iban(bank.iban)},
    )
    op = provider.create_payout(
        amount=wanted,
        iban=bank.iban,
        holder_name=bank.holder_name,
        reference=f"payout {row.id[:8]}",
        idempotency_key=provider_key(platform.id, user_id, request_key),
    )
    row.provider_ref = op.provider_ref
    row.state = domain.IN_TRANSIT
    if op.status is OperationStatus.SUCCEEDED:
        _settle(db, platform, row, paid=True, reason=None, now=now)
    elif op.status in (OperationStatus.FAILED, OperationStatus.CANCELLED):
        _settle(
            db,
            platform,
            row,
            paid=False,
            reason=op.failure_reason or "refused by the payment provider",
            now=now,
        )
    return _view(db, row)


def _settle(
    db: Session, platform: PlatformView, row: Payout, *, paid: bool, reason: str | None, now: datetime
) -> None:
    in_transit = _platform_account(db, platform, AccountType.PAYOUTS_IN_TRANSIT, now)
    amount = Money(row.amount, row.currency)
    rules = tuple(r for r in row.rules.split(",") if r)
    if paid:
        target = _platform_account(db, platform, AccountType.PSP_CLEARING, now)
        code, state = "payout.paid", domain.PAID
    else:
        target = wallet_of(db, platform, row.user_id, now).id
        code, state = "payout.bounced", domain.BOUNCED
    ledger.post_transaction(
        db,
        platform_id=platform.id,
        transfers=[Transfer(in_transit, target, amount)],
        idempotency_key=f"payout:{row.id}:{state}",
        code=code,
        rules=rules,
        cause=("payout", row.id),
        reason=reason or "",
        now=now,
    )
    row.state = state
    row.settled_at = now
    row.failure_reason = reason
    record(
        db,
        platform_id=platform.id,
        actor=Actor.system(),
        action=code,
        obj=("payout", row.id),
        at=now,
        rules=rules,
        reason=reason or "",
        data={"amount": row.amount, "currency": row.currency},
    )
    notices.tell(
        db,
        platform.id,
        row.user_id,
        "payouts.paid" if paid else "payouts.bounced",
        {"amount": str(amount), "reason": reason or ""},
        now,
        f"payout:{row.id}:{state}",
    )


def handle_provider_event(db: Session, provider_name: str, event: ProviderEvent, now: datetime) -> str | None:
    """`payout.succeeded` / `payout.failed` from the provider's webhook. Duplicates and events
    arriving after the payout was settled change nothing. The platform concerned, or None."""
    row = db.scalar(select(Payout).where(Payout.provider_ref == event.provider_ref).with_for_update())
    if row is None:
        return None
    if row.state == domain.IN_TRANSIT:
        paid = event.type.value == "payout.succeeded"
        reason = None if paid else (event.reason or "the payout bounced")
        _settle(db, platforms.get(db, row.platform_id), row, paid=paid, reason=reason, now=now)
    return row.platform_id


register_event_handler((EventType.PAYOUT_SUCCEEDED, EventType.PAYOUT_FAILED), handle_provider_event)


def list_payouts(
    db: Session, *, platform_id: str, user_id: str, after_id: str | None = None, limit: int = 50
) -> list[PayoutView]:
    q = select(Payout).where(Payout.platform_id == platform_id, Payout.user_id == user_id)
    if after_id is not None:
        q = q.where(Payout.id < after_id)
    rows = db.scalars(q.order_by(Payout.id.desc()).limit(limit))
    return [_view(db, r) for r in rows]


def get_payout(db: Session, *, platform_id: str, payout_id: str, user_id: str, is_staff: bool) -> PayoutView:
    row = db.scalar(select(Payout).where(Payout.platform_id == platform_id, Payout.id == payout_id))
    if row is None or (not is_staff and row.user_id != user_id):
        raise NotFound(f"no payout {payout_id!r}")
    return _view(db, row)


@dataclass(frozen=True)
class Statement:
    user_id: str
    period: str
    payouts: tuple[PayoutView, ...]
    requested: Money
    paid: Money
    bounced: Money
    in_transit: Money
    wallet_balance: Money


def statement(db: Session, *, platform: PlatformView, user_id: str, period: str, now: datetime) -> Statement:
    """The provider's payouts requested in one month (`YYYY-MM`), with totals by outcome."""
    try:
        year, month = (int(x) for x in period.split("-"))
        start = datetime(year, month, 1, tzinfo=now.tzinfo)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=now.tzinfo)
    except ValueError:
        raise InvalidInput([FieldError("query.period", "a month as YYYY-MM")]) from None
    rows = list(
        db.scalars(
            select(Payout)
            .where(
                Payout.platform_id == platform.id,
                Payout.user_id == user_id,
                Payout.requested_at >= start,
                Payout.requested_at < end,
            )
            .order_by(Payout.requested_at, Payout.id)
        )
    )
    currency = platform.settings.payouts.currency

    def total(states: tuple[str, ...]) -> Money:
        return Money(sum(r.amount for r in rows if r.state in states), currency)

    wallet = ledger.find_account(
        db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id=user_id, currency=currency
    )
    balance = (
        ledger.balance(db, platform_id=platform.id, account_id=wallet.id).total
        if wallet
        else Money(0, currency)
    )
    return Statement(
        user_id,
        period,
        tuple(_view(db, r) for r in rows),
        total(domain.STATES),
        total((domain.PAID,)),
        total((domain.BOUNCED,)),
        total((domain.REQUESTED, domain.IN_TRANSIT)),
        balance,
    )


def scheduled_run(db: Session, provider: PaymentProvider, *, platform: PlatformView, now: datetime) -> int:
    """After a billing period ends, pay every provider's netted wallet (CARPOOL-PAY-1), once per
    period (the request key names it); a balance under the minimum transfer carries over; a
    provider whose KYC is not validated, whose wallet is frozen or whose account is suspended is
    skipped (and tried again at the next run). The number of payouts ordered."""
    settings = platform.settings.payouts
    if settings.schedule != "monthly":
        return 0
    period = domain.previous_period(now)
    currency = settings.currency
    done = 0
    owners = db.execute(
        select(ledger_models.LedgerAccount.owner_id).where(
            ledger_models.LedgerAccount.platform_id == platform.id,
            ledger_models.LedgerAccount.type == AccountType.PROVIDER_WALLET.value,
            ledger_models.LedgerAccount.currency == currency,
            ledger_models.LedgerAccount.owner_id.is_not(None),
        )
    ).scalars()
    for owner in [o for o in owners if o is not None]:
        wallet = wallet_of(db, platform, owner, now)
        available = ledger.balance(db, platform_id=platform.id, account_id=wallet.id).available
        plan = domain.scheduled_amount(
            available, Money(settings.minimum_transfer, currency), Money(settings.minimum_balance, currency)
        )
        if plan.outcome is None:
            continue
        try:
            with db.begin_nested():
                request_payout(
                    db,
                    provider,
                    platform=platform,
                    user_id=owner,
                    amount=None,
                    request_key=f"schedule:{period}",
                    now=now,
                    trigger="schedule",
                    extra_rules=plan.rules,
                )
        except Conflict:
            continue  # not allowed now (KYC, freeze, suspension): the balance carries over
        done += 1
    return done


def export_data(db: Session, *, platform_id: str, user_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "amount": v.amount.amount,
            "currency": v.amount.currency,
            "state": v.state,
            "iban": v.iban_masked,
            "requested_at": v.requested_at.isoformat(),
            "settled_at": v.settled_at.isoformat() if v.settled_at else None,
            "failure_reason": v.failure_reason,
        }
        for v in list_payouts(db, platform_id=platform_id, user_id=user_id, limit=10_000)
    ]
