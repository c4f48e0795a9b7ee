"""Where the money of metered sessions comes from and goes: the one adapter to switch to the wallet
API (`wallets.funding.reserve/settle/release`) when it lands.

Until then: a hold on the client's `client_credit` ledger account reserves the budget before the
call connects; on end, one capture moves what is due from the hold to the provider's wallet, the
platform's commission (consult: `platform_revenue`) or fee (expert, EXPERT-FEE-1:
`platform_fees`) and the VAT collected, and gives the rest back to the client, in one ledger
transaction citing the rules. Every posting has a key derived from the session's id, so a retried
settlement after a crash never moves money twice.
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

CAUSE = "metered_session"


def _account(
    db: Session, platform_id: str, type_: AccountType, now: datetime, currency: str, owner: str | None = None
) -> str:
    return ledger.get_or_open_account(
        db, platform_id=platform_id, type=type_, now=now, currency=currency, owner_id=owner
    ).id


def available(db: Session, *, platform_id: str, client_id: str, currency: str, now: datetime) -> Money:
    account = _account(db, platform_id, AccountType.CLIENT_CREDIT, now, currency, owner=client_id)
    return ledger.balance(db, platform_id=platform_id, account_id=account).available


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
    """Hold the budget on the client's credit; the hold's id (InsufficientFunds: 409)."""
    account = _account(db, platform_id, AccountType.CLIENT_CREDIT, now, amount.currency, owner=client_id)
    return ledger.hold(
        db,
        platform_id=platform_id,
        account_id=account,
        amount=amount,
        idempotency_key=f"metering:{session_id}:hold",
        code="metering.reserved",
        rules=list(rules),
        cause=(CAUSE, session_id),
        now=now,
        reason="the consultation's budget is reserved on the client's credit",
        actor=Actor("user", client_id),
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
) -> str | None:
    """Capture `split.total` from the hold (the rest goes back to the client); the transaction's id,
    or None when nothing was due (the whole hold is released)."""
    currency = split.total.currency
    if not split.total.is_positive:
        release(
            db,
            platform_id=platform_id,
            hold_id=hold_id,
            session_id=session_id,
            rules=rules,
            reason=reason,
            now=now,
        )
        return None
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
    return ledger.capture(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        to=to,
        idempotency_key=f"metering:{session_id}:settle",
        code="metering.settled",
        rules=list(rules),
        now=now,
        final=True,
        reason=reason,
    ).id


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
    ledger.release(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        idempotency_key=f"metering:{session_id}:release",
        now=now,
        code="metering.released",
        rules=list(rules),
        reason=reason,
    )
