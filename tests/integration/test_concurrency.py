"""Several OS processes against one database: the unit of work is safe under real concurrency.

Each child process builds its own engine from the test database's URL (multiprocessing with the
'spawn' start method), as separate API or worker processes would.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from datetime import datetime

import pytest
from booking_processes import BURST
from sqlalchemy import func, select

from entremise.audit.models import AuditEntry
from entremise.booking import service, timers
from entremise.booking.models import ProcessInstance, Timer
from entremise.booking.service import ProcessActor
from entremise.counters import service as counters
from entremise.db.engine import make_engine, make_sessionmaker

SPAWN = multiprocessing.get_context("spawn")


def _increment(url: str, platform_id: str, times: int, barrier, results) -> None:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    values = []
    barrier.wait()
    for _ in range(times):
        with sessions() as db, db.begin():
            values.append(counters.next_value(db, platform_id, "invoice"))
    engine.dispose()
    results.put(values)


def _work(url: str, platform_id: str, now: str, name: str, barrier, results) -> None:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    policy = timers.TimerPolicy(batch_size=25)
    total: dict[str, int] = {}
    barrier.wait()
    while True:
        counts = timers.run_due(
            sessions, now=datetime.fromisoformat(now), worker_id=name, policy=policy, platform_id=platform_id
        )
        if not counts:
            break
        for outcome, n in counts.items():
            total[outcome] = total.get(outcome, 0) + n
    engine.dispose()
    results.put(total)


def _run_children(target, args_for, count: int) -> list:
    barrier = SPAWN.Barrier(count)
    results = SPAWN.Queue()
    children = [SPAWN.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(count)]
    for child in children:
        child.start()
    out: list = []
    deadline = time.monotonic() + 120
    while len(out) < count:
        try:
            out.append(results.get(timeout=0.5))
        except queue.Empty:
            crashed = [c.exitcode for c in children if c.exitcode not in (None, 0)]
            assert not crashed, f"a child process failed (exit codes {crashed}); see its traceback above"
            assert time.monotonic() < deadline, "the child processes did not finish"
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    return out


@pytest.mark.slow
def test_LAW_INVOICE_1_four_processes_incrementing_one_counter_get_800_distinct_values(
    runtime, platform, database_url
):
    """4 processes × 200 increments, each in its own transaction: exactly 1..800, none lost, none twice."""
    values = _run_children(_increment, lambda i: (database_url, platform.id, 200), 4)
    every = sorted(v for chunk in values for v in chunk)
    assert every == list(range(1, 801))
    with runtime.sessions() as db, db.begin():
        assert counters.current_value(db, platform.id, "invoice") == 800


def test_LAW_INVOICE_1_a_rolled_back_transaction_leaves_no_gap(runtime, platform):
    with runtime.sessions() as db, db.begin():
        assert counters.next_value(db, platform.id, "invoice") == 1
    with pytest.raises(RuntimeError), runtime.sessions() as db, db.begin():
        assert counters.next_value(db, platform.id, "invoice") == 2
        raise RuntimeError("the invoice could not be issued")
    with runtime.sessions() as db, db.begin():
        assert counters.next_value(db, platform.id, "invoice") == 2
        assert counters.next_value(db, platform.id, "credit-note") == 1
    with runtime.sessions() as db, db.begin():
        assert counters.current_value(db, platform.id, "invoice") == 2
        assert counters.current_value(db, platform.id, "unknown") == 0


def test_counters_are_per_platform(runtime, platform):
    from conftest import make_platform

    other = make_platform(runtime)
    with runtime.sessions() as db, db.begin():
        assert counters.next_value(db, platform.id, "invoice") == 1
        assert counters.next_value(db, platform.id, "invoice") == 2
        assert counters.next_value(db, other.id, "invoice") == 1


@pytest.mark.slow
def test_two_workers_run_each_of_1000_due_timers_exactly_once(runtime, platform, clock, database_url):
    now = clock.now()
    with runtime.sessions() as db, db.begin():
        for _ in range(1000):
            service.start(db, platform.id, BURST.name, ProcessActor.system(), {}, now)
    totals = _run_children(_work, lambda i: (database_url, platform.id, now.isoformat(), f"worker-{i}"), 2)
    assert sum(t.get("done", 0) for t in totals) == 1000
    assert all(set(t) <= {"done"} for t in totals), totals
    with runtime.sessions() as db, db.begin():
        fired = select(func.count()).select_from(AuditEntry)
        fired = fired.where(AuditEntry.platform_id == platform.id, AuditEntry.action == "test-burst.fire")
        assert db.scalar(fired) == 1000
        distinct = select(func.count(func.distinct(AuditEntry.object_id))).where(
            AuditEntry.platform_id == platform.id, AuditEntry.action == "test-burst.fire"
        )
        assert db.scalar(distinct) == 1000
        states = db.execute(
            select(ProcessInstance.state, func.count())
            .where(ProcessInstance.platform_id == platform.id)
            .group_by(ProcessInstance.state)
        ).all()
        assert [tuple(r) for r in states] == [("fired", 1000)]
        timer_rows = db.execute(
            select(Timer.status, Timer.attempts, func.count())
            .where(Timer.platform_id == platform.id)
            .group_by(Timer.status, Timer.attempts)
        ).all()
        assert [tuple(r) for r in timer_rows] == [("done", 1, 1000)]
