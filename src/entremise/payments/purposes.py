"""What a payment pays for: the contract between payments and the modules that take money.

A module registers a purpose kind once (at import); every payment names its purpose as
`(kind, id)`. When the provider confirms, payments calls the purpose's handlers inside the
webhook's transaction:

- `on_succeeded(db, outcome, now)`: the money reached the platform's clearing account at the
  provider; the handler must post it out of `outcome.clearing_account_id` (to a client's credit,
  a provider's wallet...). Called for a succeeded pay-in, a captured pre-authorisation (with the
  captured amount) and a succeeded direct debit.
- `on_failed(db, outcome, now)`: the payment failed, was declined, cancelled or expired; nothing
  was posted.
- `on_refunded(db, outcome, now)`: a refund succeeded (`outcome.amount` is the refund and
  `outcome.provider_ref` the refund's reference); the handler posts that amount back into the
  clearing account from what the payment funded.
- `on_chargeback(db, outcome, now)`: an accepted chargeback (`outcome.amount` is charged back,
  `outcome.provider_ref` the chargeback's reference);
  the handler posts it back into the clearing account like a refund. Without a handler the money
  is taken from the platform's chargeback-loss account (see docs/payments.md).

The built-in purpose `client_credit` tops up the payer's CLIENT_CREDIT account, so payments works
on its own. Its refunds need no `on_refunded`: the service reserves the refund on the credit (a
ledger hold) when it is asked, and captures that hold into the clearing account when the provider
confirms (or releases it when the refund fails), so money spent meanwhile can never be refunded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer


@dataclass(frozen=True)
class PaymentOutcome:
    payment_id: str
    platform_id: str
    payer_id: str
    kind: str  # "payin" | "preauth" | "debit"
    purpose: tuple[str, str]
    amount: Money
    provider_ref: str
    clearing_account_id: str


Handler = Callable[[Session, PaymentOutcome, datetime], None]


@dataclass(frozen=True)
class Purpose:
    kind: str
    on_succeeded: Handler
    on_failed: Handler | None = None
    on_refunded: Handler | None = None
    on_chargeback: Handler | None = None


_PURPOSES: dict[str, Purpose] = {}
_LOCK = threading.Lock()


def register_purpose(
    kind: str,
    *,
    on_succeeded: Handler,
    on_failed: Handler | None = None,
    on_refunded: Handler | None = None,
    on_chargeback: Handler | None = None,
) -> None:
    """Register what a payment of `kind` does when confirmed. Registering the same handlers again
    is harmless (module reloads); other handlers under a taken kind are refused."""
    purpose = Purpose(kind, on_succeeded, on_failed, on_refunded, on_chargeback)
    with _LOCK:
        if _PURPOSES.get(kind, purpose) != purpose:
            raise ValueError(f"another payment purpose is registered as {kind!r}")
        _PURPOSES[kind] = purpose


def purpose(kind: str) -> Purpose | None:
    return _PURPOSES.get(kind)


def purpose_kinds() -> list[str]:
    return sorted(_PURPOSES)


# --- the built-in purpose: a top-up of the payer's client credit ---------------------------------

CLIENT_CREDIT = "client_credit"


def credit_account(db: Session, outcome: PaymentOutcome, now: datetime) -> str:
    return ledger.get_or_open_account(
        db,
        platform_id=outcome.platform_id,
        type=AccountType.CLIENT_CREDIT,
        now=now,
        currency=outcome.amount.currency,
        owner_id=outcome.payer_id,
    ).id


def _credit_succeeded(db: Session, outcome: PaymentOutcome, now: datetime) -> None:
    ledger.post_transaction(
        db,
        platform_id=outcome.platform_id,
        transfers=[Transfer(outcome.clearing_account_id, credit_account(db, outcome, now), outcome.amount)],
        idempotency_key=f"payment:{outcome.payment_id}:credit",
        code="payment.client_credit",
        rules=(),
        cause=("payment", outcome.payment_id),
        now=now,
        reason=f"top-up of the client credit by payment {outcome.provider_ref}",
    )


def loss_account(db: Session, *, platform_id: str, currency: str, now: datetime) -> str:
    """The platform's dedicated chargeback-loss account (type platform_fees, label chargeback-losses)."""
    return ledger.get_or_open_account(
        db,
        platform_id=platform_id,
        type=AccountType.PLATFORM_FEES,
        now=now,
        currency=currency,
        label="chargeback-losses",
    ).id


def _credit_charged_back(db: Session, outcome: PaymentOutcome, now: datetime) -> None:
    """What the credit still holds goes back to the card holder; what was spent already is a loss."""
    credit = credit_account(db, outcome, now)
    available = ledger.balance(db, platform_id=outcome.platform_id, account_id=credit).available.amount
    from_credit = max(0, min(available, outcome.amount.amount))
    transfers = []
    if from_credit:
        transfers.append(
            Transfer(credit, outcome.clearing_account_id, Money(from_credit, outcome.amount.currency))
        )
    if outcome.amount.amount > from_credit:
        loss = loss_account(db, platform_id=outcome.platform_id, currency=outcome.amount.currency, now=now)
        rest = Money(outcome.amount.amount - from_credit, outcome.amount.currency)
        transfers.append(Transfer(loss, outcome.clearing_account_id, rest))
    ledger.post_transaction(
        db,
        platform_id=outcome.platform_id,
        transfers=transfers,
        idempotency_key=f"payment:{outcome.payment_id}:chargeback:{outcome.provider_ref}",
        code="payment.client_credit.chargeback",
        rules=("CONSULT-CHARGEBACK-1",),
        cause=("payment", outcome.payment_id),
        now=now,
        reason=f"accepted chargeback of payment {outcome.payment_id}",
    )


register_purpose(
    CLIENT_CREDIT,
    on_succeeded=_credit_succeeded,
    on_chargeback=_credit_charged_back,
)
