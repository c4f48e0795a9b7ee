"""Timers run by the worker: due transitions, notes, retries with backoff, dead letters, leases."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from booking_processes import FAILURES

from entremise.audit import service as audit
from entremise.booking import service, timers
from entremise.booking.models import Timer
from entremise.booking.service import ProcessActor
from entremise.booking.timers import TimerPolicy
from entremise.worker import runner
from entremise.worker.jobs import JOBS, run_due_timers

CLIENT = ProcessActor("client", "c1")
PROVIDER = ProcessActor("provider", "p1")
POLICY = TimerPolicy(max_attempts=4)


def start(runtime, platform, clock, name="test-trip", data=None):
    data = (
        data
        if data is not None
        else {
            "starts_at": (clock.now() + timedelta(days=3)).isoformat(),
            "client_id": "c1",
            "provider_id": "p1",
        }
    )
    with runtime.sessions() as db, db.begin():
        return service.start(db, platform.id, name, CLIENT, data, clock.now())


def run(runtime, platform, clock, worker="w1", policy=POLICY):
    return timers.run_due(
        runtime.sessions, now=clock.now(), worker_id=worker, policy=policy, platform_id=platform.id
    )


def state_and_timers(runtime, platform, instance_id):
    with runtime.sessions() as db, db.begin():
        state = service.get_instance(db, platform.id, instance_id).state
        return state, service.list_timers(db, platform.id, instance_id)


def test_a_timer_runs_when_due_as_the_system(runtime, platform, clock):
    view = start(runtime, platform, clock)
    clock.advance(timedelta(hours=47, minutes=59))
    assert run(runtime, platform, clock) == {}
    clock.advance(timedelta(minutes=1))
    assert run(runtime, platform, clock) == {"done": 1}
    state, [timer] = state_and_timers(runtime, platform, view.id)
    assert state == "expired"
    assert (timer.status, timer.attempts, timer.done_at, timer.note) == ("done", 1, clock.now(), None)
    with runtime.sessions() as db, db.begin():
        entry = audit.list_entries(db, platform_id=platform.id, object_id=view.id)[-1]
    assert (entry.action, entry.actor_type, entry.data["timer_id"]) == (
        "test-trip.expire",
        "system",
        timer.id,
    )
    assert run(runtime, platform, clock) == {}  # never twice


def test_the_worker_job_runs_through_run_once(runtime, platform, clock):
    view = start(runtime, platform, clock)
    clock.advance(timedelta(hours=48))
    assert ("timers", run_due_timers) in JOBS
    counts = runner.run_once(runtime)
    assert counts["timers"] >= 1
    assert state_and_timers(runtime, platform, view.id)[0] == "expired"


def test_CARPOOL_END_1_a_trip_completes_two_hours_after_departure_after_its_reminder(
    runtime, platform, clock
):
    view = start(runtime, platform, clock)
    with runtime.sessions() as db, db.begin():
        service.take(db, platform.id, view.id, "accept", PROVIDER, clock.now())
    clock.advance(timedelta(days=2))
    assert run(runtime, platform, clock) == {"done": 1}  # the reminder, 24 h before departure
    assert state_and_timers(runtime, platform, view.id)[0] == "accepted"
    clock.advance(timedelta(days=1, hours=2))
    assert run(runtime, platform, clock) == {"done": 1}
    state, timers_ = state_and_timers(runtime, platform, view.id)
    assert state == "completed"
    assert [(t.transition, t.status) for t in timers_] == [
        ("expire", "cancelled"),
        ("remind", "done"),
        ("complete", "done"),
    ]
    with runtime.sessions() as db, db.begin():
        entry = audit.list_entries(db, platform_id=platform.id, object_id=view.id)[-1]
    assert entry.rules == ["CARPOOL-END-1"]


def test_CARPOOL_CONTEST_1_a_timer_whose_guard_refuses_is_done_with_a_note(runtime, platform, clock):
    view = start(runtime, platform, clock)
    with runtime.sessions() as db, db.begin():
        service.take(db, platform.id, view.id, "accept", PROVIDER, clock.now())
        service.take(db, platform.id, view.id, "contest", CLIENT, clock.now())
    clock.advance(timedelta(days=4))
    assert run(runtime, platform, clock) == {"done": 1, "not_taken": 1}
    state, timers_ = state_and_timers(runtime, platform, view.id)
    assert state == "accepted"
    complete = timers_[-1]
    assert (complete.transition, complete.status, complete.last_error) == ("complete", "done", None)
    assert complete.note == "not taken: the trip is contested"


def test_a_timer_whose_transition_is_no_longer_allowed_is_done_with_a_note(runtime, platform, clock):
    view = start(runtime, platform, clock)
    with runtime.sessions() as db, db.begin():
        service.take(db, platform.id, view.id, "accept", PROVIDER, clock.now())
        # a timer left over from an older path of the process (its state has moved on)
        db.add(
            Timer(
                platform_id=platform.id,
                instance_id=view.id,
                transition="expire",
                due_at=clock.now(),
                status="pending",
                attempts=0,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )
    assert run(runtime, platform, clock) == {"not_taken": 1}
    state, timers_ = state_and_timers(runtime, platform, view.id)
    assert state == "accepted"
    assert timers_[-1].status == "done"
    assert timers_[-1].note == "not taken: 'expire' cannot be taken from state 'accepted'"


def test_a_failing_timer_is_retried_with_exponential_backoff(runtime, platform, clock):
    view = start(runtime, platform, clock, name="test-flaky", data={})
    FAILURES[view.id] = 2
    clock.advance(timedelta(hours=1))
    assert run(runtime, platform, clock) == {"failed": 1}
    state, [timer] = state_and_timers(runtime, platform, view.id)
    assert state == "waiting"
    assert (timer.status, timer.attempts) == ("failed", 1)
    assert timer.last_error == "RuntimeError: payment provider unreachable (2 failure(s) left)"
    assert timer.next_attempt_at == clock.now() + timedelta(seconds=30)
    with runtime.sessions() as db, db.begin():  # the failed attempt wrote nothing
        assert [e.action for e in audit.list_entries(db, platform_id=platform.id, object_id=view.id)] == [
            "test-flaky.started"
        ]
    clock.advance(timedelta(seconds=29))
    assert run(runtime, platform, clock) == {}  # not yet
    clock.advance(timedelta(seconds=1))
    assert run(runtime, platform, clock) == {"failed": 1}
    timer = state_and_timers(runtime, platform, view.id)[1][0]
    assert timer.attempts == 2 and timer.next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=60))
    assert run(runtime, platform, clock) == {"done": 1}
    state, [timer] = state_and_timers(runtime, platform, view.id)
    assert (state, timer.status, timer.attempts) == ("fired", "done", 3)


def test_backoff_doubles_and_is_capped():
    policy = TimerPolicy()
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


def test_a_timer_that_keeps_failing_goes_dead_and_is_recorded(runtime, platform, clock):
    view = start(runtime, platform, clock, name="test-flaky", data={})
    FAILURES[view.id] = 100
    clock.advance(timedelta(hours=1))
    outcomes = []
    for _ in range(6):
        outcomes.append(run(runtime, platform, clock))
        clock.advance(timedelta(hours=1))
    assert outcomes == [{"failed": 1}, {"failed": 1}, {"failed": 1}, {"dead": 1}, {}, {}]
    state, [timer] = state_and_timers(runtime, platform, view.id)
    assert (state, timer.status, timer.attempts) == ("waiting", "dead", 4)
    with runtime.sessions() as db, db.begin():
        [entry] = audit.list_entries(
            db, platform_id=platform.id, object_type="timer", object_id=str(timer.id)
        )
    assert entry.action == "timer.dead"
    assert entry.data["error"].startswith("RuntimeError: payment provider unreachable")


def test_a_claim_by_a_worker_that_died_is_taken_over_after_the_lease(runtime, platform, clock):
    view = start(runtime, platform, clock, name="test-flaky", data={})
    clock.advance(timedelta(hours=1))
    with runtime.sessions() as db, db.begin():
        ids = timers.claim_due(
            db, now=clock.now(), worker_id="ghost", limit=10, lease=POLICY.lease, platform_id=platform.id
        )
    assert len(ids) == 1
    # the ghost never runs it; another worker must not take it while the lease holds
    clock.advance(POLICY.lease - timedelta(seconds=1))
    assert run(runtime, platform, clock, worker="w2") == {}
    clock.advance(timedelta(seconds=2))
    assert run(runtime, platform, clock, worker="w2") == {"done": 1}
    # the ghost coming back to life cannot run it a second time
    outcome = timers.run_timer(runtime.sessions, ids[0], worker_id="ghost", now=clock.now(), policy=POLICY)
    assert outcome == "lost"
    assert state_and_timers(runtime, platform, view.id)[1][0].attempts == 1


def test_a_worker_cannot_run_a_timer_claimed_by_another(runtime, platform, clock):
    view = start(runtime, platform, clock, name="test-flaky", data={})
    clock.advance(timedelta(hours=1))
    with runtime.sessions() as db, db.begin():
        [timer_id] = timers.claim_due(
            db, now=clock.now(), worker_id="w1", limit=10, lease=POLICY.lease, platform_id=platform.id
        )
    assert (
        timers.run_timer(runtime.sessions, timer_id, worker_id="w2", now=clock.now(), policy=POLICY) == "lost"
    )
    assert (
        timers.run_timer(runtime.sessions, timer_id, worker_id="w1", now=clock.now(), policy=POLICY) == "done"
    )
    assert state_and_timers(runtime, platform, view.id)[0] == "fired"


def test_run_forever_runs_the_jobs_until_stopped(runtime, platform, clock):
    view = start(runtime, platform, clock)
    clock.advance(timedelta(hours=48))
    runtime.settings.worker_poll_seconds = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(runtime, stop))
    thread.start()
    try:
        for _ in range(400):
            if state_and_timers(runtime, platform, view.id)[0] == "expired":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert state_and_timers(runtime, platform, view.id)[0] == "expired"


@pytest.mark.parametrize("status", ["cancelled", "done", "dead"])
def test_finished_timers_are_never_claimed(runtime, platform, clock, status):
    view = start(runtime, platform, clock, name="test-flaky", data={})
    with runtime.sessions() as db, db.begin():
        db.query(Timer).filter(Timer.instance_id == view.id).update({"status": status})
    clock.advance(timedelta(days=1))
    assert run(runtime, platform, clock) == {}
