"""The fast posting path (SQLAlchemy Core, insert-or-nothing, no savepoint) keeps every promise of
the old one: a freeze that commits while a posting waits for the lock is honoured, a retry is
replayed even when a check would now refuse it, a refusal leaves the caller's transaction usable,
concurrent reuses of a key on disjoint accounts post once, and the balance checkpoints always equal
the sums of the entries. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from test_ledger_concurrency import (
    THREADS,
    accounts,  # noqa: F401 (a fixture: the four accounts)
    kinds,
    race,
)

from entremise.kernel.errors import Conflict
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountFrozen, AccountType, InsufficientFunds, Transfer
from entremise.platforms.models import Platform


@pytest.fixture
def acc(runtime, platform, accounts):  # noqa: F811 (the fixture imported above)
    """The PSP clearing, a client with 100 €, a provider wallet with 50 €, the platform's fees."""
    post(runtime, platform, [Transfer(accounts["psp"], accounts["client"], Money(10_000))], "fund")
    post(runtime, platform, [Transfer(accounts["psp"], accounts["wallet"], Money(5_000))], "earn")
    return accounts


def post_in(db, runtime, platform, transfers, key, **kw):
    return ledger.post_transaction(
        db,
        platform_id=platform.id,
        transfers=transfers,
        idempotency_key=key,
        code=kw.pop("code", "test.post"),
        rules=kw.pop("rules", []),
        cause=kw.pop("cause", ("test", "posting")),
        now=runtime.clock.now(),
        **kw,
    )


def post(runtime, platform, transfers, key, **kw):
    with runtime.sessions() as db, db.begin():
        return post_in(db, runtime, platform, transfers, key, **kw)


def verified(runtime, platform):
    with runtime.sessions() as db, db.begin():
        return ledger.verify(db, platform_id=platform.id)


def test_EXPERT_SANCTION_1_a_freeze_that_commits_while_a_payout_waits_for_the_lock_refuses_it(
    runtime, platform, acc, is_postgres
):
    """The frozen flag is read from the locked balance row, so it is current after the wait."""
    freezing = runtime.sessions()
    tx = freezing.begin()
    ledger.freeze(
        freezing,
        platform_id=platform.id,
        account_id=acc["wallet"],
        rules=["EXPERT-SANCTION-1"],
        reason="wallet blocked",
        now=runtime.clock.now(),
    )  # holds the wallet's row lock (PostgreSQL) or the write lock (SQLite) until it commits
    outcome: list[object] = []
    started = threading.Event()

    def payout():
        started.set()
        try:
            outcome.append(
                post(runtime, platform, [Transfer(acc["wallet"], acc["psp"], Money(100))], "payout")
            )
        except Exception as exc:  # asserted below
            outcome.append(exc)

    waiting = threading.Thread(target=payout)
    waiting.start()
    started.wait()
    if is_postgres:  # see it wait for the row lock
        with runtime.engine.connect() as watch:
            while not watch.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                watch.rollback()
                time.sleep(0.01)
    else:  # it waits for the write lock (BEGIN IMMEDIATE): give it the time to get there
        time.sleep(0.3)
    assert waiting.is_alive()
    tx.commit()
    freezing.close()
    waiting.join()
    assert len(outcome) == 1 and isinstance(outcome[0], AccountFrozen), outcome
    with runtime.sessions() as db, db.begin():
        assert ledger.balance(db, platform_id=platform.id, account_id=acc["wallet"]).total == Money(5_000)
    assert verified(runtime, platform) == []


def test_verify_reports_a_balance_row_whose_frozen_mirror_disagrees_with_its_account(runtime, platform, acc):
    with runtime.sessions() as db, db.begin():
        db.execute(text("UPDATE ledger_accounts SET frozen = true WHERE id = :a"), {"a": acc["fees"]})
    found = verified(runtime, platform)
    assert [(d.check, d.subject) for d in found] == [("frozen", acc["fees"])]
    assert "account frozen=True but its balance row says frozen=False" in found[0].detail


def test_a_retry_is_replayed_even_when_the_money_has_moved_since(runtime, platform, acc):
    first = post(runtime, platform, [Transfer(acc["client"], acc["wallet"], Money(10_000))], "all-of-it")
    post(runtime, platform, [Transfer(acc["wallet"], acc["fees"], Money(15_000))], "wallet-emptied")
    with pytest.raises(InsufficientFunds):  # a new posting of the same transfer is refused...
        post(runtime, platform, [Transfer(acc["client"], acc["wallet"], Money(10_000))], "again")
    again = post(runtime, platform, [Transfer(acc["client"], acc["wallet"], Money(10_000))], "all-of-it")
    assert (again.id, again.replayed) == (first.id, True)  # ...a retry of the first is its result


def test_a_retried_capture_is_replayed_after_the_hold_closed(runtime, platform, acc):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=acc["client"],
            amount=Money(1_000),
            idempotency_key="h",
            code="budget",
            rules=[],
            cause=("call", "1"),
            now=now,
        )
    kw = {"hold_id": h.id, "to": [(acc["wallet"], Money(600))], "code": "call.end", "rules": [], "now": now}
    with runtime.sessions() as db, db.begin():
        done = ledger.capture(db, platform_id=platform.id, idempotency_key="end", **kw)
    with runtime.sessions() as db, db.begin():
        again = ledger.capture(db, platform_id=platform.id, idempotency_key="end", **kw)
        with pytest.raises(Conflict, match="closed"):
            ledger.capture(db, platform_id=platform.id, idempotency_key="end-2", **kw)
    assert (again.id, again.replayed) == (done.id, True)


def test_a_refused_posting_leaves_the_callers_transaction_usable(runtime, platform, acc):
    """No savepoint is needed: a refusal is decided before anything is written."""
    with runtime.sessions() as db, db.begin():
        with pytest.raises(InsufficientFunds):
            post_in(db, runtime, platform, [Transfer(acc["client"], acc["fees"], Money(10_001))], "too-much")
        with pytest.raises(Conflict, match="already used"):
            post_in(db, runtime, platform, [Transfer(acc["client"], acc["fees"], Money(1))], "fund")
        post_in(db, runtime, platform, [Transfer(acc["client"], acc["fees"], Money(2_000))], "fallback")
    with runtime.sessions() as db, db.begin():
        assert ledger.balance(db, platform_id=platform.id, account_id=acc["fees"]).total == Money(2_000)
        assert ledger.find_transaction(db, platform_id=platform.id, idempotency_key="too-much") is None
        assert ledger.find_transaction(db, platform_id=platform.id, idempotency_key="fallback") is not None
    assert verified(runtime, platform) == []


def test_concurrent_reuses_of_one_key_on_disjoint_accounts_post_once_and_leave_each_transaction_usable(
    runtime, platform
):
    """Disjoint accounts share no lock: the losers meet the key at the insert, which inserts nothing
    (no unique-violation error, no aborted transaction); each then posts something else."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        pairs = [
            tuple(
                ledger.open_account(
                    db, platform_id=platform.id, type=AccountType.PLATFORM_FEES, label=f"{i}-{s}", now=now
                ).id
                for s in ("a", "b")
            )
            for i in range(THREADS)
        ]

    def reuse(i):
        a, b = pairs[i]
        with runtime.sessions() as db, db.begin():
            try:
                result = post_in(db, runtime, platform, [Transfer(a, b, Money(100 + i))], "shared-key")
            except Conflict as exc:
                result = exc
            post_in(db, runtime, platform, [Transfer(b, a, Money(1))], f"after-{i}")
            return result

    outcomes = race(THREADS, reuse)
    assert kinds(outcomes) == {"TransactionView": 1, "Conflict": THREADS - 1}, outcomes
    with runtime.sessions() as db, db.begin():
        for i in range(THREADS):
            assert (
                ledger.find_transaction(db, platform_id=platform.id, idempotency_key=f"after-{i}") is not None
            )
    assert verified(runtime, platform) == []


def test_32_concurrent_retries_of_one_hold_place_it_once(runtime, platform, acc):
    def place(i):
        with runtime.sessions() as db, db.begin():
            return ledger.hold(
                db,
                platform_id=platform.id,
                account_id=acc["client"],
                amount=Money(700),
                idempotency_key="one-hold",
                code="budget",
                rules=[],
                cause=("consultation", "1"),
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, place)
    assert {o.id for o in outcomes} == {outcomes[0].id}, outcomes
    assert sum(not o.replayed for o in outcomes) == 1
    with runtime.sessions() as db, db.begin():
        assert ledger.balance(db, platform_id=platform.id, account_id=acc["client"]).held == Money(700)
    assert verified(runtime, platform) == []


def test_the_balance_checkpoints_equal_the_sums_of_the_entries_after_batches(runtime, platform, acc):
    """100 postings in one transaction, a posting of 100 transfers, holds and captures: every
    cached balance (the checkpoint a balance read returns) equals its entries."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        payees = [
            ledger.open_account(
                db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id=f"payee-{i}", now=now
            ).id
            for i in range(100)
        ]
        for i in range(100):
            post_in(db, runtime, platform, [Transfer(acc["client"], payees[i % 7], Money(10))], f"many-{i}")
        post_in(db, runtime, platform, [Transfer(acc["client"], p, Money(20)) for p in payees], "payout-run")
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=acc["client"],
            amount=Money(3_000),
            idempotency_key="budget",
            code="budget",
            rules=[],
            cause=("call", "2"),
            now=now,
        )
        for minute in range(5):
            ledger.capture(
                db,
                platform_id=platform.id,
                hold_id=h.id,
                to=[(payees[minute], Money(90)), (acc["fees"], Money(10))],
                idempotency_key=f"minute-{minute}",
                code="call.minute",
                rules=[],
                final=False,
                now=now,
            )
    with runtime.sessions() as db, db.begin():
        for account_id in [*acc.values(), *payees]:
            assert ledger.balance(
                db, platform_id=platform.id, account_id=account_id
            ) == ledger.derived_balance(db, platform_id=platform.id, account_id=account_id)
        client = ledger.balance(db, platform_id=platform.id, account_id=acc["client"])
    assert (client.total, client.held) == (Money(10_000 - 1_000 - 2_000 - 500), Money(2_500))
    assert verified(runtime, platform) == []


def test_find_transaction_tells_whether_a_key_committed(runtime, platform, acc):
    tx = post(runtime, platform, [Transfer(acc["client"], acc["fees"], Money(5))], "maybe")
    other = post(runtime, platform, [Transfer(acc["client"], acc["fees"], Money(5))], "maybe-not")
    with runtime.sessions() as db, db.begin():
        found = ledger.find_transaction(db, platform_id=platform.id, idempotency_key="maybe")
        assert found is not None and (found.id, found.transfers, found.replayed) == (
            tx.id,
            tx.transfers,
            False,
        )
        assert ledger.find_transaction(db, platform_id=platform.id, idempotency_key="never") is None
        assert ledger.find_transaction(db, platform_id="another-platform", idempotency_key="maybe") is None
    assert other.id != tx.id


def test_the_callers_pending_orm_rows_are_written_before_a_posting_refers_to_them(runtime):
    """As the ORM's autoflush did: a platform added (not flushed) in the same transaction."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        p = Platform(id=new_id(), slug=f"p-{new_id()[-12:]}", name="Pending", settings={}, created_at=now)
        db.add(p)
        a = ledger.open_account(db, platform_id=p.id, type=AccountType.PSP_CLEARING, now=now).id
        b = ledger.open_account(db, platform_id=p.id, type=AccountType.PLATFORM_FEES, now=now).id
        tx = ledger.post_transaction(
            db,
            platform_id=p.id,
            transfers=[Transfer(a, b, Money(1))],
            idempotency_key="k",
            code="c",
            rules=[],
            cause=("t", "1"),
            now=now,
        )
    with runtime.sessions() as db, db.begin():
        assert ledger.get_transaction(db, platform_id=p.id, transaction_id=tx.id).transfers == tx.transfers
