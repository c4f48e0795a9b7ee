"""Helpers for wallet tests: buy a pack as a confirmed card pay-in would, read a wallet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from money_helpers import account

from entremise.kernel.money import Money
from entremise.ledger.domain import AccountType
from entremise.wallets import service as wallets


@dataclass(frozen=True)
class Outcome:
    """The shape of the payments module's PaymentOutcome, as its purpose handlers receive it."""

    payment_id: str
    platform_id: str
    payer_id: str
    purpose: tuple[str, str]
    amount: Money
    clearing_account_id: str
    kind: str = "card_payin"
    provider_ref: str = "sandbox"


def outcome(runtime, platform, purchase, amount: Money | None = None) -> Outcome:  # type: ignore[no-untyped-def]
    return Outcome(
        payment_id=str(uuid.uuid4()),
        platform_id=platform.id,
        payer_id=purchase.client_id,
        purpose=("credit_pack", purchase.id),
        amount=amount or purchase.price,
        clearing_account_id=account(runtime, platform, AccountType.PSP_CLEARING),
    )


def buy(runtime, platform, client_id: str, pack_id: str):  # type: ignore[no-untyped-def]
    """Create a purchase and confirm its pay-in; the purchase as it is then."""
    with runtime.sessions() as db, db.begin():
        p = wallets.create_purchase(
            db, platform_id=platform.id, client_id=client_id, pack_id=pack_id, now=runtime.clock.now()
        )
    with runtime.sessions() as db, db.begin():
        wallets.on_pack_paid(db, outcome(runtime, platform, p), runtime.clock.now())
    with runtime.sessions() as db, db.begin():
        return wallets.get_purchase(db, platform_id=platform.id, purchase_id=p.id)


def packs(runtime, platform):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return wallets.install_consult_packs(db, platform_id=platform.id, now=runtime.clock.now())


def wallet(runtime, platform, client_id: str):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return wallets.wallet(db, platform_id=platform.id, client_id=client_id)


def make_platform(runtime, settings=None, prefix: str = "w"):  # type: ignore[no-untyped-def]
    """A fresh platform (as conftest's, which an integration test cannot import while
    tests/integration/conftest.py shadows the module name `conftest`)."""
    from entremise.platforms import service as platforms

    slug = f"{prefix}-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms.create_platform(
            db, slug=slug, name=slug.title(), now=runtime.clock.now(), settings=settings
        )
