"""The ledger's crash test: random money operations from several processes, SIGKILLed at random
moments and restarted, proved against the reference model (PostgreSQL); and the harness's own
pieces (a worker's retry of the operation it was killed in, the checker finding what is wrong)
on whichever database the suite runs on."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.crashtest import harness
from entremise.ledger.crashtest.operations import World, plan
from entremise.ledger.domain import Transfer


@pytest.mark.slow
@pytest.mark.postgres
def test_money_operations_killed_with_sigkill_and_retried_lose_and_duplicate_nothing(
    database_url, is_postgres, tmp_path
):
    """3 processes, each SIGKILLed at least once at a random moment and restarted, for a few
    seconds; then `entremise ledger verify` exits 0, every transaction sums to zero, every
    committed operation is in the ledger exactly once (with one audit entry), nothing else is, and
    every balance and hold equals the model computed from the committed operations."""
    if not is_postgres:
        pytest.skip("the crash test runs on PostgreSQL (the PostgreSQL run of the suite)")
    report = harness.run(database_url, processes=3, seconds=4, seed=20261201, workdir=tmp_path)
    assert report.ok, report.summary()
    assert report.kills >= 3
    assert report.committed > 0
    assert report.operations == report.committed + report.refused


@pytest.mark.slow
def test_the_crash_test_command_proves_the_ledger_and_says_so(database_url, tmp_path, monkeypatch):
    """`entremise ledger crash-test` on the suite's database (SQLite too: killed writers release
    SQLite's locks, and what they had not committed is not in the WAL)."""
    from typer.testing import CliRunner

    from entremise.cli.main import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    argv = ["ledger", "crash-test", "--processes", "2", "--seconds", "1", "--seed", "5"]
    result = CliRunner().invoke(app, [*argv, "--database-url", database_url, "--journals", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "`entremise ledger verify` exits 0" in result.output
    assert "SIGKILLs and restarts" in result.output and " 0 SIGKILLs" not in result.output


def lives(setup: harness.Setup, process: int, n: int) -> None:
    """`n` lives of a worker, in this process: with the stop file there, each does one operation
    (after retrying its last committed ones)."""
    stop = setup.workers[process].stop
    stop.touch()
    for _ in range(n):
        harness.worker(
            setup.url, setup.platform_id, process, setup.seed, str(setup.journals[process]), str(stop), ()
        )


@pytest.fixture
def setup(database_url, tmp_path):
    return harness.prepare(database_url, processes=2, seed=7, workdir=tmp_path)


def checked(setup: harness.Setup) -> harness.Report:
    report = harness.Report(len(setup.workers), 0, setup.seed, platform_slug=setup.slug)
    harness.check(setup.url, setup.platform_id, report, setup.journals)
    return report


def test_a_worker_restarted_after_its_operation_committed_gets_it_replayed(runtime, setup):
    """Killed after the commit and before it wrote the answer down: the restart retries the
    operation with its key and the ledger answers with the first result, posting nothing."""
    lives(setup, 0, 6)
    lines, _stopped, _retried = harness.read_journal(setup.journals[0])
    with runtime.sessions() as db, db.begin():
        world = World.load(db, setup.platform_id, 0)
    model = harness.rebuild(setup.seed, 0, world, lines)
    op = len(lines)
    kind, params = plan(model, harness.op_rng(setup.seed, 0, op))
    with (
        runtime.sessions() as db,
        db.begin(),
    ):  # the operation commits; the worker dies before its journal line
        made, _ = kind.run(db, world, model, params, harness.op_key(setup.seed, 0, op), runtime.clock.now())
    lives(setup, 0, 1)
    lines, stopped, retried = harness.read_journal(setup.journals[0])
    assert (lines[op].outcome, lines[op].id, lines[op].replayed) == ("ok", made, True)
    assert stopped == op + 1 and retried > 0
    lives(setup, 1, 4)
    assert checked(setup).ok


def test_the_checker_finds_a_transaction_no_operation_explains(runtime, setup):
    lives(setup, 0, 5)
    lives(setup, 1, 5)
    assert checked(setup).ok
    with runtime.sessions() as db, db.begin():
        world = World.load(db, setup.platform_id, 1)
        ledger.post_transaction(
            db,
            platform_id=setup.platform_id,
            transfers=[Transfer(world.ids["psp"], world.ids["client"], Money(1))],
            idempotency_key="intruder",
            code="crash.intruder",
            rules=[],
            cause=("test", "intruder"),
            now=runtime.clock.now(),
        )
    problems = checked(setup).problems
    assert any("no committed operation explains: ['intruder']" in p for p in problems), problems
    assert any("process 1 account client" in p for p in problems), problems


def test_the_checker_finds_an_operation_the_ledger_lost(runtime, setup):
    """A worker was told its operation committed, and the ledger has no trace of it."""
    lives(setup, 0, 4)
    lines, _stopped, _retried = harness.read_journal(setup.journals[0])
    with runtime.sessions() as db, db.begin():
        world = World.load(db, setup.platform_id, 0)
    model = harness.rebuild(setup.seed, 0, world, lines)
    told: list[dict] = []
    op = len(lines)
    while True:  # refused operations as the model predicts them, up to one that must commit
        kind, params = plan(model, harness.op_rng(setup.seed, 0, op))
        must = kind.predict(model, params)
        told.append({"op": op, "kind": kind.name, "params": params, "replayed": False})
        told[-1].update(outcome=must or "ok", id=None if must else "never-posted")
        if must is None:
            break
        op += 1
    with setup.journals[0].open("a") as journal:
        for item in [*told, {"stopped": op + 1}]:
            journal.write(json.dumps(item) + "\n")
    problems = checked(setup).problems
    assert any(f"process 0 operation {op} " in p and "was lost" in p for p in problems), problems


def test_the_checker_finds_a_tampered_balance(runtime, setup):
    lives(setup, 0, 5)
    lives(setup, 1, 3)
    with runtime.sessions() as db, db.begin():
        world = World.load(db, setup.platform_id, 0)
        db.execute(
            text("UPDATE ledger_balances SET posted = posted + 1 WHERE account_id = :a"),
            {"a": world.ids["client"]},
        )
    problems = checked(setup).problems
    assert any("process 0 account client" in p for p in problems), problems
    assert any(p.startswith(f"[{setup.platform_id}] balance {world.ids['client']}") for p in problems), (
        problems
    )
