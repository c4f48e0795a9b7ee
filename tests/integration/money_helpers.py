"""Helpers for tests that move money: fund a client's credit, read balances."""

from __future__ import annotations

import uuid

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer


def account(runtime, platform, type_: AccountType, owner: str | None = None, label: str | None = None) -> str:
    with runtime.sessions() as db, db.begin():
        return ledger.get_or_open_account(
            db, platform_id=platform.id, type=type_, now=runtime.clock.now(), owner_id=owner, label=label
        ).id


def fund(runtime, platform, user_id: str, cents: int) -> None:
    """Credit `cents` to the user's client credit, as a pay-in would."""
    psp = account(runtime, platform, AccountType.PSP_CLEARING)
    credit = account(runtime, platform, AccountType.CLIENT_CREDIT, user_id)
    with runtime.sessions() as db, db.begin():
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(psp, credit, Money(cents))],
            idempotency_key=f"test-fund-{uuid.uuid4().hex}",
            code="test.payin",
            rules=["CONSULT-CREDIT-1"],
            cause=("test", user_id),
            now=runtime.clock.now(),
        )


def balance(runtime, platform, type_: AccountType, owner: str | None = None, label: str | None = None):
    """(total, available) in cents."""
    acc = account(runtime, platform, type_, owner, label)
    with runtime.sessions() as db, db.begin():
        b = ledger.balance(db, platform_id=platform.id, account_id=acc)
    return b.total.amount, b.available.amount
