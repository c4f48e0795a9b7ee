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
    give(runtime, platform, AccountType.CLIENT_CREDIT, user_id, cents, source=AccountType.PSP_CLEARING)


def give(runtime, platform, type_: AccountType, owner: str, cents: int, *, source: AccountType) -> None:
    """Move `cents` from a platform account of type `source` to the owner's account of type `type_`."""
    origin = account(runtime, platform, source)
    target = account(runtime, platform, type_, owner)
    with runtime.sessions() as db, db.begin():
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(origin, target, Money(cents))],
            idempotency_key=f"test-give-{uuid.uuid4().hex}",
            code="test.credit",
            rules=["CONSULT-CREDIT-1"],
            cause=("test", owner),
            now=runtime.clock.now(),
        )


def balance(runtime, platform, type_: AccountType, owner: str | None = None, label: str | None = None):
    """(total, available) in cents."""
    acc = account(runtime, platform, type_, owner, label)
    with runtime.sessions() as db, db.begin():
        b = ledger.balance(db, platform_id=platform.id, account_id=acc)
    return b.total.amount, b.available.amount
