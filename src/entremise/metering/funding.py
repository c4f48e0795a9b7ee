"""Where the money of metered sessions comes from and goes, through the wallet's funding API.

Before the call connects, a reservation on the client's wallet (bonus first, then paid credit,
CONSULT-CREDIT-1) holds the budget; its id is kept in the session's `hold_id` column. On end, the
settlement captures what is due to the provider's wallet, the platform's commission (consult:
`platform_revenue`) or fee (expert, EXPERT-FEE-1: `platform_fees`) and the VAT collected, and
gives the rest back, in the session's one database transaction citing the rules (one ledger
transaction per balance the reservation drew on: bonus and paid). Every key derives from the
session's id, so a retried settlement after a crash never moves money twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.metering.rating import Split
from entremise.wallets import funding as wallet_funding

CAUSE = "metered_session"


def _account(
    db: Session, platform_id: str, type_: AccountType, now: datetime, currency: str, owner: str | None = None
) -> str:
    return ledger.get_or_open_account(
        db, platform_id=platform_id, type=type_, now=now, currency=currency, owner_id=owner
    ).id


def reserve(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    amount: Money,
    session_id: str,
    rules: Sequence[str],
    now: datetime,
) -> str:
    """Reserve the budget on the client's wallet; the reservation's id (InsufficientFunds: 409)."""
    return wallet_funding.reserve(
        db,
        platform_id=platform_id,
        client_id=client_id,
        amount=amount,
        cause=(CAUSE, session_id),
        idempotency_key=f"metering:{session_id}:hold",
        now=now,
        actor=Actor("user", client_id),
        rules=list(rules),
        code="metering.reserved",
    ).id


def settle(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    provider_id: str,
    split: Split,
    platform_account: AccountType,
    session_id: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
) -> tuple[str, ...]:
    """Take `split.total` from the reservation (the rest goes back to the client); the ledger
    transaction ids (none moved money when nothing was due: the reservation is released)."""
    currency = split.total.currency
    to: list[tuple[str, Money]] = []
    if split.provider.is_positive:
        to.append(
            (
                _account(db, platform_id, AccountType.PROVIDER_WALLET, now, currency, owner=provider_id),
                split.provider,
            )
        )
    if split.platform.is_positive:
        to.append((_account(db, platform_id, platform_account, now, currency), split.platform))
    if split.vat.is_positive:
        to.append((_account(db, platform_id, AccountType.VAT_COLLECTED, now, currency), split.vat))
    settled = wallet_funding.settle(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        due=split.total,
        split=to,
        rules=list(rules),
        idempotency_key=f"metering:{session_id}:settle",
        now=now,
        code="metering.settled",
        reason=reason,
    )
    return settled.transaction_ids


def release(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    session_id: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
) -> None:
    wallet_funding.release(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        rules=list(rules),
        idempotency_key=f"metering:{session_id}:release",
        now=now,
        code="metering.released",
        reason=reason,
    )
