"""Wallets under concurrency (SQLite and PostgreSQL: `scripts/pg_test.py`): 32 threads, each with
its own session, race for one wallet's money or one promo code."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

from money_helpers import give
from wallets_helpers import wallet

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.wallets import funding
from entremise.wallets import service as wallets

THREADS = 32


def race(n, fn):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            outcomes[i] = fn(i)
        except Exception as exc:  # collected and asserted on below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def kinds(outcomes) -> Counter:  # type: ignore[no-untyped-def, type-arg]
    return Counter(type(o).__name__ for o in outcomes)


def _funded(runtime, platform, paid: int, bonus: int) -> str:  # type: ignore[no-untyped-def]
    client = str(uuid.uuid4())
    if paid:
        give(runtime, platform, AccountType.CLIENT_CREDIT, client, paid, source=AccountType.PSP_CLEARING)
    if bonus:
        give(runtime, platform, AccountType.CLIENT_BONUS, client, bonus, source=AccountType.PROMOTIONS)
    return client


def _reserve(runtime, platform, client: str, cents: int, key: str):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(cents),
            cause=("test", key),
            idempotency_key=key,
            now=runtime.clock.now(),
        )


def _verify(runtime, platform) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        assert ledger.verify(db, platform_id=platform.id) == []


def test_CONSULT_CREDIT_1_32_spenders_on_one_wallet_never_overdraw(runtime, platform) -> None:
    client = _funded(runtime, platform, paid=400, bonus=300)
    outcomes = race(THREADS, lambda i: _reserve(runtime, platform, client, 100, f"spend-{i}"))
    assert kinds(outcomes) == {"ReservationView": 7, "InsufficientFunds": THREADS - 7}, outcomes
    w = wallet(runtime, platform, client)
    assert (w.available.amount, w.held.amount, w.bonus_held.amount, w.paid_held.amount) == (0, 700, 300, 400)
    assert sum(o.from_bonus.amount for o in outcomes if isinstance(o, funding.ReservationView)) == 300
    _verify(runtime, platform)


def test_32_concurrent_retries_of_one_reservation_reserve_once(runtime, platform) -> None:
    client = _funded(runtime, platform, paid=1000, bonus=0)
    outcomes = race(THREADS, lambda i: _reserve(runtime, platform, client, 300, "same-key"))
    assert kinds(outcomes) == {"ReservationView": THREADS}, outcomes
    assert len({o.id for o in outcomes}) == 1  # type: ignore[attr-defined]
    assert wallet(runtime, platform, client).held.amount == 300


def test_32_settlements_of_one_reservation_capture_once(runtime, platform) -> None:
    client = _funded(runtime, platform, paid=500, bonus=500)
    r = _reserve(runtime, platform, client, 800, "to-settle")
    with runtime.sessions() as db, db.begin():
        fees = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.PLATFORM_FEES, now=runtime.clock.now()
        ).id

    def settle(i):  # type: ignore[no-untyped-def]
        with runtime.sessions() as db, db.begin():
            return funding.settle(
                db,
                platform_id=platform.id,
                reservation_id=r.id,
                due=Money(600),
                split=[(fees, Money(600))],
                rules=["CONSULT-CREDIT-1"],
                idempotency_key=f"settle-{i % 2}",
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, settle)
    views = [o for o in outcomes if isinstance(o, funding.ReservationView)]
    assert views and all(v.status == "settled" and v.due == Money(600) for v in views)
    assert kinds(outcomes)["Conflict"] + len(views) == THREADS
    w = wallet(runtime, platform, client)
    assert (w.paid.amount + w.bonus.amount, w.held.amount) == (400, 0)
    _verify(runtime, platform)


def test_CARPOOL_PROMO_1_32_redemptions_by_one_account_credit_once(runtime, platform) -> None:
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        promo = wallets.create_promo(
            db,
            platform_id=platform.id,
            code="RACE",
            value=500,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            now=now,
        )
    client = str(uuid.uuid4())

    def redeem(i):  # type: ignore[no-untyped-def]
        with runtime.sessions() as db, db.begin():
            return wallets.redeem(db, platform_id=platform.id, client_id=client, code=promo.code, now=now)

    outcomes = race(THREADS, redeem)
    assert kinds(outcomes) == {"RedemptionView": 1, "Conflict": THREADS - 1}, outcomes
    assert wallet(runtime, platform, client).bonus.amount == 500
    _verify(runtime, platform)


def test_CARPOOL_PROMO_1_32_accounts_racing_for_a_capped_code(runtime, platform) -> None:
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        promo = wallets.create_promo(
            db,
            platform_id=platform.id,
            code="CAP5",
            value=100,
            max_uses=5,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            now=now,
        )
    clients = [str(uuid.uuid4()) for _ in range(THREADS)]

    def redeem(i):  # type: ignore[no-untyped-def]
        with runtime.sessions() as db, db.begin():
            return wallets.redeem(db, platform_id=platform.id, client_id=clients[i], code=promo.code, now=now)

    outcomes = race(THREADS, redeem)
    assert kinds(outcomes) == {"RedemptionView": 5, "Conflict": THREADS - 5}, outcomes
    assert sum(wallet(runtime, platform, c).bonus.amount for c in clients) == 500
    with runtime.sessions() as db, db.begin():
        assert wallets.list_promos(db, platform_id=platform.id)[0].uses == 5
    _verify(runtime, platform)
