"""Where the money of DJob orders comes from and goes, through the wallet's funding API.

A reservation on the client's wallet (bonus first, then paid credit: CONSULT-CREDIT-1, credit pays
DJob orders) reserves the order's price; its id is kept in the order's `hold_id` column. Accepting
the delivery settles it to the provider's wallet and the platform's revenue (the platform resells
the job, CONSULT-DJOB-1); declining, expiring or cancelling releases it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.orders.domain import Split
from entremise.wallets import funding as wallet_funding

CAUSE = "djob_order"


def reserve(
    db: Session, *, platform_id: str, client_id: str, amount: Money, order_id: str, now: datetime
) -> str:
    """Reserve the order's price on the client's wallet; the reservation's id (InsufficientFunds: 409)."""
    return wallet_funding.reserve(
        db,
        platform_id=platform_id,
        client_id=client_id,
        amount=amount,
        cause=(CAUSE, order_id),
        idempotency_key=f"djob:{order_id}:hold",
        now=now,
        actor=Actor("user", client_id),
        rules=["CONSULT-CREDIT-1", "CONSULT-DJOB-1"],
        code="djob.reserved",
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
    """Settle the order's price: the provider's share to the wallet, the commission to the platform's
    revenue, citing CONSULT-DJOB-1; the ledger transaction ids (comma-separated: one per balance the
    reservation drew on, bonus and paid)."""
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
    settled = wallet_funding.settle(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        due=split.total,
        split=to,
        rules=["CONSULT-DJOB-1"],
        idempotency_key=f"djob:{order_id}:settle",
        now=now,
        code="djob.paid",
        reason=reason,
    )
    return ",".join(settled.transaction_ids)


def release(
    db: Session, *, platform_id: str, hold_id: str, order_id: str, reason: str, now: datetime
) -> None:
    wallet_funding.release(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        rules=["CONSULT-DJOB-1"],
        idempotency_key=f"djob:{order_id}:release",
        now=now,
        code="djob.released",
        reason=reason,
    )
