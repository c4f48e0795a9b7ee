"""Where the money of appointments comes from and goes: the one adapter to switch to the wallet
API (reserve a budget, settle with a split, release the rest) when it lands.

Until then: a hold on the client's `client_credit` ledger account reserves the price; settling
captures from the hold to the provider's wallet and the platform's fees, releasing the rest; a fee
charged to the provider (EXPERT-CANCEL-2) is taken from the provider's wallet, and what the wallet
cannot cover is recorded as the provider's debt (a `penalties` account owned by the provider,
labelled `due`, negative by what is owed) for payouts to net later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer

CAUSE = "appointment"


def _account(
    db: Session,
    platform_id: str,
    type_: AccountType,
    now: datetime,
    currency: str,
    owner: str | None = None,
    label: str | None = None,
) -> str:
    return ledger.get_or_open_account(
        db, platform_id=platform_id, type=type_, now=now, currency=currency, owner_id=owner, label=label
    ).id


def reserve(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    amount: Money,
    appointment_id: str,
    rules: Sequence[str],
    now: datetime,
) -> str:
    """Hold `amount` of the client's credit for the appointment; the hold's id.
    InsufficientFunds (409) when the credit cannot cover it."""
    account = _account(db, platform_id, AccountType.CLIENT_CREDIT, now, amount.currency, owner=client_id)
    held = ledger.hold(
        db,
        platform_id=platform_id,
        account_id=account,
        amount=amount,
        idempotency_key=f"appointment:{appointment_id}:hold",
        code="appointment.reserved",
        rules=list(rules),
        cause=(CAUSE, appointment_id),
        now=now,
        reason="the appointment's price is reserved on the client's credit",
        actor=Actor("user", client_id),
    )
    return held.id


def settle(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    provider_id: str,
    total: Money,
    platform_part: Money,
    key: str,
    code: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
) -> None:
    """Take `total` from the hold (`platform_part` to the platform's fees, the rest to the provider's
    wallet) and give the rest back to the client; with a zero total, release the whole hold."""
    if not total.is_positive:
        release(
            db,
            platform_id=platform_id,
            hold_id=hold_id,
            key=key,
            code=code,
            rules=rules,
            reason=reason,
            now=now,
        )
        return
    to: list[tuple[str, Money]] = []
    provider_part = total - platform_part
    if provider_part.is_positive:
        to.append(
            (
                _account(
                    db, platform_id, AccountType.PROVIDER_WALLET, now, total.currency, owner=provider_id
                ),
                provider_part,
            )
        )
    if platform_part.is_positive:
        to.append((_account(db, platform_id, AccountType.PLATFORM_FEES, now, total.currency), platform_part))
    ledger.capture(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        to=to,
        idempotency_key=key,
        code=code,
        rules=list(rules),
        now=now,
        final=True,
        reason=reason,
    )


def release(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    key: str,
    code: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
) -> None:
    """Give the client back everything the hold still reserves."""
    ledger.release(
        db,
        platform_id=platform_id,
        hold_id=hold_id,
        idempotency_key=key,
        now=now,
        code=code,
        rules=list(rules),
        reason=reason,
    )


def charge_provider(
    db: Session,
    *,
    platform_id: str,
    provider_id: str,
    amount: Money,
    appointment_id: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
) -> None:
    """EXPERT-CANCEL-2: `amount` for the platform, from the provider's wallet as far as it goes; the
    rest is booked as the provider's debt."""
    if not amount.is_positive:
        return
    wallet = _account(db, platform_id, AccountType.PROVIDER_WALLET, now, amount.currency, owner=provider_id)
    due = _account(
        db, platform_id, AccountType.PENALTIES, now, amount.currency, owner=provider_id, label="due"
    )
    fees = _account(db, platform_id, AccountType.PLATFORM_FEES, now, amount.currency)
    available = ledger.balance(db, platform_id=platform_id, account_id=wallet).available
    from_wallet = min(max(available, Money.zero(amount.currency)), amount)
    transfers = [Transfer(due, fees, amount)]
    if from_wallet.is_positive:
        transfers.append(Transfer(wallet, due, from_wallet))
    ledger.post_transaction(
        db,
        platform_id=platform_id,
        transfers=transfers,
        idempotency_key=f"appointment:{appointment_id}:provider-fee",
        code="appointment.provider_fee",
        rules=list(rules),
        cause=(CAUSE, appointment_id),
        now=now,
        reason=reason,
    )
