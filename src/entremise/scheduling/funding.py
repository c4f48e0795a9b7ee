"""Where the money of appointments comes from and goes, through the wallet's funding API.

A reservation on the client's wallet (bonus first, then paid credit) reserves the price; its id is
kept in the appointment's `hold_id` column. Settling captures from it to the provider's wallet and
the platform's fees, releasing the rest; a fee
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
from entremise.wallets import funding as wallet_funding

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
    """Reserve `amount` of the client's wallet for the appointment; the reservation's id.
    InsufficientFunds (409) when the wallet cannot cover it."""
    return wallet_funding.reserve(
        db,
        platform_id=platform_id,
        client_id=client_id,
        amount=amount,
        cause=(CAUSE, appointment_id),
        idempotency_key=f"appointment:{appointment_id}:hold",
        now=now,
        actor=Actor("user", client_id),
        rules=list(rules),
        code="appointment.reserved",
    ).id


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
    wallet_funding.settle(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        due=total,
        split=to,
        rules=list(rules),
        idempotency_key=key,
        now=now,
        code=code,
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
    """Give the client back everything the reservation still holds."""
    wallet_funding.release(
        db,
        platform_id=platform_id,
        reservation_id=hold_id,
        rules=list(rules),
        idempotency_key=key,
        now=now,
        code=code,
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
