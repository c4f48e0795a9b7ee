"""Ledger invariants under concurrency, on SQLite and PostgreSQL: 32 threads, each with its own
session on the shared engine, race for the same money; a multi-process variant does the same
from separate interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from entremise.kernel.errors import Conflict
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, InsufficientFunds, Transfer

THREADS = 32


def race(n, fn):
    """Run fn(i) in n threads released together; return each outcome (result or exception)."""
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the caller
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def kinds(outcomes):
    return Counter(type(o).__name__ for o in outcomes)


@pytest.fixture
def accounts(runtime, platform):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        return {
            "psp": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.PSP_CLEARING, now=now
            ).id,
            "client": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, owner_id="c", now=now
            ).id,
            "wallet": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id="p", now=now
            ).id,
            "fees": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.PLATFORM_FEES, now=now
            ).id,
        }


def fund(runtime, platform, accounts, cents, key="fund"):
    post(runtime, platform, [Transfer(accounts["psp"], accounts["client"], Money(cents))], key)


def post(runtime, platform, transfers, key):
    with runtime.sessions() as db, db.begin():
        return ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=transfers,
            idempotency_key=key,
            code="spend",
            rules=[],
            cause=("test", "race"),
            now=runtime.clock.now(),
        )


def assert_consistent(runtime, platform):
    with runtime.sessions() as db, db.begin():
        assert ledger.verify(db, platform_id=platform.id) == []


def available(runtime, platform, account_id):
    with runtime.sessions() as db, db.begin():
        return ledger.balance(db, platform_id=platform.id, account_id=account_id).available


def test_32_spenders_racing_for_the_last_euros_exactly_the_affordable_number_succeed(
    runtime, platform, accounts
):
    fund(runtime, platform, accounts, 700)
    outcomes = race(
        THREADS,
        lambda i: post(
            runtime, platform, [Transfer(accounts["client"], accounts["fees"], Money(100))], f"spend-{i}"
        ),
    )
    assert kinds(outcomes) == {"TransactionView": 7, "InsufficientFunds": THREADS - 7}, outcomes
    assert all("insufficient funds" in str(o) for o in outcomes if isinstance(o, InsufficientFunds))
    assert available(runtime, platform, accounts["client"]) == Money(0)
    assert available(runtime, platform, accounts["fees"]) == Money(700)
    assert_consistent(runtime, platform)


def test_32_concurrent_retries_of_one_key_post_once(runtime, platform, accounts):
    fund(runtime, platform, accounts, 10_000)
    outcomes = race(
        THREADS,
        lambda i: post(
            runtime, platform, [Transfer(accounts["client"], accounts["wallet"], Money(2_500))], "once"
        ),
    )
    assert {o.id for o in outcomes} == {outcomes[0].id}, outcomes
    assert sum(not o.replayed for o in outcomes) == 1
    assert available(runtime, platform, accounts["wallet"]) == Money(2_500)
    assert_consistent(runtime, platform)


def test_32_concurrent_reuses_of_one_key_with_different_bodies_post_exactly_one(runtime, platform, accounts):
    fund(runtime, platform, accounts, 10_000)
    targets = [accounts["wallet"], accounts["fees"]]
    outcomes = race(
        THREADS,
        lambda i: post(
            runtime, platform, [Transfer(accounts["client"], targets[i % 2], Money(100 + i))], "shared"
        ),
    )
    posted = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(posted) >= 1 and all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
    assert {o.id for o in posted} == {posted[0].id}
    assert available(runtime, platform, accounts["client"]) == Money(10_000) - posted[0].transfers[0].amount
    assert_consistent(runtime, platform)


def test_32_holds_racing_for_the_available_balance(runtime, platform, accounts):
    fund(runtime, platform, accounts, 500)

    def place(i):
        with runtime.sessions() as db, db.begin():
            return ledger.hold(
                db,
                platform_id=platform.id,
                account_id=accounts["client"],
                amount=Money(100),
                idempotency_key=f"hold-{i}",
                code="budget",
                rules=[],
                cause=("consultation", str(i)),
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, place)
    assert kinds(outcomes) == {"HoldView": 5, "InsufficientFunds": THREADS - 5}, outcomes
    assert available(runtime, platform, accounts["client"]) == Money(0)
    assert_consistent(runtime, platform)


def test_32_captures_racing_on_one_hold_never_exceed_it(runtime, platform, accounts):
    fund(runtime, platform, accounts, 5_000)
    with runtime.sessions() as db, db.begin():
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=accounts["client"],
            amount=Money(1_000),
            idempotency_key="h",
            code="budget",
            rules=[],
            cause=("call", "1"),
            now=runtime.clock.now(),
        )

    def take(i):
        with runtime.sessions() as db, db.begin():
            return ledger.capture(
                db,
                platform_id=platform.id,
                hold_id=h.id,
                to=[(accounts["wallet"], Money(90)), (accounts["fees"], Money(10))],
                idempotency_key=f"minute-{i}",
                code="minute",
                rules=[],
                final=False,
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, take)
    assert kinds(outcomes) == {"TransactionView": 10, "Conflict": THREADS - 10}, outcomes
    with runtime.sessions() as db, db.begin():
        view = ledger.get_hold(db, platform_id=platform.id, hold_id=h.id)
    assert (view.captured, view.remaining) == (Money(1_000), Money(0))
    assert available(runtime, platform, accounts["wallet"]) == Money(900)
    assert_consistent(runtime, platform)


def test_concurrent_reversals_of_one_transaction_reverse_it_once(runtime, platform, accounts):
    fund(runtime, platform, accounts, 1_000)
    tx = post(runtime, platform, [Transfer(accounts["client"], accounts["wallet"], Money(1_000))], "pay")

    def undo(i):
        with runtime.sessions() as db, db.begin():
            return ledger.reverse(
                db,
                platform_id=platform.id,
                transaction_id=tx.id,
                idempotency_key=f"undo-{i}",
                reason="race",
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, undo)
    assert kinds(outcomes) == {"TransactionView": 1, "Conflict": THREADS - 1}, outcomes
    assert available(runtime, platform, accounts["client"]) == Money(1_000)
    assert_consistent(runtime, platform)


def test_transfers_crossing_in_both_directions_do_not_deadlock(runtime, platform, accounts):
    """Accounts are locked in sorted id order, so A->B and B->A at once never deadlock on PostgreSQL."""
    fund(runtime, platform, accounts, 10_000)
    post(runtime, platform, [Transfer(accounts["client"], accounts["wallet"], Money(5_000))], "half")
    a, b = accounts["client"], accounts["wallet"]
    outcomes = race(
        THREADS,
        lambda i: post(
            runtime,
            platform,
            [Transfer(a, b, Money(10)), Transfer(accounts["fees"], accounts["psp"], Money(1))]
            if i % 2
            else [Transfer(b, a, Money(10)), Transfer(accounts["psp"], accounts["fees"], Money(1))],
            f"cross-{i}",
        ),
    )
    assert kinds(outcomes) == {"TransactionView": THREADS}, outcomes
    assert available(runtime, platform, a) == Money(5_000)
    assert_consistent(runtime, platform)


SPENDER = """
import json, sys
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.kernel.clock import SystemClock
from entremise.kernel.errors import AppError
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import Transfer

url, platform_id, source, target, proc, tries = sys.argv[1:7]
sessions = make_sessionmaker(make_engine(url, pool_size=2))
out = []
for i in range(int(tries)):
    try:
        with sessions() as db, db.begin():
            ledger.post_transaction(
                db, platform_id=platform_id, transfers=[Transfer(source, target, Money(100))],
                idempotency_key=f"proc-{proc}-{i}", code="spend", rules=[], cause=("test", "procs"),
                now=SystemClock().now(),
            )
        out.append("ok")
    except AppError as exc:
        out.append(type(exc).__name__)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_spenders_in_separate_processes_never_overdraw(runtime, platform, accounts):
    fund(runtime, platform, accounts, 1_000)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                SPENDER,
                runtime.settings.database_url,
                platform.id,
                accounts["client"],
                accounts["fees"],
                str(p),
                "4",
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        for p in range(6)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        results += json.loads(out)
    assert Counter(results) == {"ok": 10, "InsufficientFunds": 14}
    assert available(runtime, platform, accounts["client"]) == Money(0)
    assert_consistent(runtime, platform)
