"""Where the money of DJob orders comes from and goes: the one adapter to switch to the wallet API
(reserve, settle with a split, release) when it lands.

Until then: a hold on the client's `client_credit` ledger account reserves the order's price
(CONSULT-CREDIT-1: credit pays DJob orders); accepting the delivery captures it, in one ledger
transaction, to the provider's wallet and the platform's revenue (the platform resells the job,
CONSULT-DJOB-1); declining, expiring or cancelling releases it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.orders.domain import Split

CAUSE = "djob_order"


def reserve(
    db: Session, *, platform_id: str, client_id: str, amount: Money, order_id: str, now: datetime
) -> str:
    """Hold the order's price on the client's credit; the hold's id (InsufficientFunds: 409)."""
    account = ledger.get_or_open_account(
        db,
        platform_id=platform_id,
        type=AccountType.CLIENT_CREDIT,
        now=now,
        currency=amount.currency,
        owner_id=client_id,
    ).id
    return ledger.hold(
        db,
        platform_id=platform_id,
        account_id=account,
        amount=amount,
        idempotency_key=f"djob:{order_id}:hold",
        code="djob.reserved",
        rules=["CONSULT-CREDIT-1", "CONSULT-DJOB-1"],
        cause=(CAUSE, order_id),
        now=now,
        reason="the order's price is reserved on the client's credit",
        actor=Actor("user", client_id),
    ).id


def settle(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    provider_id: str,
    split: Split,
    order_id: str,
    reason: str,
    now: datetime,
) -> str:
    """Capture the order's price: the provider's share to the wallet, the commission to the platform's
    revenue, in one transaction citing CONSULT-DJOB-1; its id."""
    currency = split.total.currency
    to: list[tuple[str, Money]] = []
    if split.provider.is_positive:
        wallet = ledger.get_or_open_account(
            db,
            platform_id=platform_id,
            type=AccountType.PROVIDER_WALLET,
            now=now,
            currency=currency,
            owner_id=provider_id,
        ).id
        to.append((wallet, split.provider))
    if split.commission.is_positive:
        revenue = ledger.get_or_open_account(
            db, platform_id=platform_id, type=AccountType.PLATFORM_REVENUE, now=now, currency=currency
        ).id
        to.append((revenue, split.commission))
    return ledger.capture(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        to=to,
        idempotency_key=f"djob:{order_id}:settle",
        code="djob.paid",
        rules=["CONSULT-DJOB-1"],
        now=now,
        final=True,
        reason=reason,
    ).id


def release(
    db: Session, *, platform_id: str, hold_id: str, order_id: str, reason: str, now: datetime
) -> None:
    ledger.release(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        idempotency_key=f"djob:{order_id}:release",
        now=now,
        code="djob.released",
        rules=["CONSULT-DJOB-1"],
        reason=reason,
    )
