"""The process engine against a real database: start, take, refusals, isolation, versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_processes import TRIP
from sqlalchemy import func, select

from conftest import make_platform
from entremise.audit import service as audit
from entremise.audit.models import AuditEntry
from entremise.booking import service
from entremise.booking.models import ProcessInstance
from entremise.booking.process import ProcessDefinition
from entremise.booking.registry import REGISTRY
from entremise.booking.service import ProcessActor
from entremise.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from entremise.notify import outbox

CLIENT = ProcessActor("client", "c1")
PROVIDER = ProcessActor("provider", "p1")


def trip_data(clock, days: int = 3) -> dict:
    return {
        "starts_at": (clock.now() + timedelta(days=days)).isoformat(),
        "client_id": "c1",
        "provider_id": "p1",
    }


def start_trip(runtime, platform, clock, **kw):
    with runtime.sessions() as db, db.begin():
        return service.start(db, platform.id, "test-trip", CLIENT, trip_data(clock, **kw), clock.now())


def take(runtime, platform, instance_id, transition, actor, clock, **kw):
    with runtime.sessions() as db, db.begin():
        return service.take(db, platform.id, instance_id, transition, actor, clock.now(), **kw)


def snapshot(runtime, platform, instance_id):
    """Everything a refused transition must leave untouched."""
    with runtime.sessions() as db, db.begin():
        row = db.get(ProcessInstance, instance_id)
        timers = [(t.transition, t.status) for t in service.list_timers(db, platform.id, instance_id)]
        entries = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_id == instance_id)
        )
        return (row.state, row.row_version, dict(row.data), timers, entries)


def test_starting_an_instance_puts_it_in_the_initial_state_with_its_timers(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    assert (view.process, view.version, view.state, view.final) == ("test-trip", 1, "requested", False)
    with runtime.sessions() as db, db.begin():
        timers = service.list_timers(db, platform.id, view.id)
        entries = audit.list_entries(db, platform_id=platform.id, object_id=view.id)
    assert [(t.transition, t.due_at, t.status) for t in timers] == [
        ("expire", clock.now() + timedelta(hours=48), "pending")
    ]
    assert [(e.action, e.actor_type, e.actor_id) for e in entries] == [("test-trip.started", "user", "c1")]


def test_taking_a_transition_runs_actions_moves_timers_and_records_it(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    clock.advance(timedelta(hours=1))
    result = take(runtime, platform, view.id, "accept", PROVIDER, clock)
    assert result.instance.state == "accepted"
    assert result.instance.row_version == 2
    assert result.instance.data["number"] >= 1  # numbered by the action, from a counter
    assert result.cancelled == 1
    starts = clock.now() + timedelta(days=3) - timedelta(hours=1)
    with runtime.sessions() as db, db.begin():
        timers = service.list_timers(db, platform.id, view.id)
        entries = audit.list_entries(db, platform_id=platform.id, object_id=view.id)
        mails = outbox.messages_for(db, platform_id=platform.id, user_id="c1")
    assert [(t.transition, t.status, t.due_at) for t in timers] == [
        ("expire", "cancelled", view.created_at + timedelta(hours=48)),
        ("remind", "pending", starts - timedelta(hours=24)),
        ("complete", "pending", starts + timedelta(hours=2)),
    ]
    accepted = entries[-1]
    assert (accepted.action, accepted.actor_type, accepted.actor_id) == ("test-trip.accept", "user", "p1")
    assert accepted.data["from"] == "requested" and accepted.data["to"] == "accepted"
    assert accepted.data["number"] == result.instance.data["number"]
    assert [m.template for m in mails] == ["trip.accepted"]


def test_an_illegal_transition_is_a_conflict_listing_the_allowed_ones_and_changes_nothing(
    runtime, platform, clock
):
    view = start_trip(runtime, platform, clock)
    take(runtime, platform, view.id, "accept", PROVIDER, clock)
    before = snapshot(runtime, platform, view.id)
    with pytest.raises(Conflict) as err:
        take(runtime, platform, view.id, "decline", ProcessActor("provider", "p1"), clock)
    assert err.value.extra["allowed_transitions"] == []
    assert err.value.extra["state"] == "accepted"
    with pytest.raises(Conflict) as err:
        take(runtime, platform, view.id, "accept", CLIENT, clock)
    assert err.value.extra["allowed_transitions"] == ["contest", "cancel"]
    assert snapshot(runtime, platform, view.id) == before


def test_a_role_that_may_not_take_the_transition_is_forbidden(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    before = snapshot(runtime, platform, view.id)
    with pytest.raises(Forbidden) as err:
        take(runtime, platform, view.id, "accept", CLIENT, clock)
    assert err.value.extra["allowed_transitions"] == ["cancel"]
    with pytest.raises(Forbidden):  # the system cannot take a transition reserved to people
        take(runtime, platform, view.id, "accept", ProcessActor.system(), clock)
    assert snapshot(runtime, platform, view.id) == before


def test_only_the_instances_own_client_or_provider_may_act_in_that_role(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    before = snapshot(runtime, platform, view.id)
    with pytest.raises(Forbidden):
        take(runtime, platform, view.id, "accept", ProcessActor("provider", "someone-else"), clock)
    with pytest.raises(Forbidden):
        take(runtime, platform, view.id, "cancel", ProcessActor("client", None), clock)
    assert snapshot(runtime, platform, view.id) == before
    # an operator is not tied to the instance
    assert take(
        runtime, platform, view.id, "cancel", ProcessActor("operator", "staff-1"), clock
    ).instance.final


def test_an_unknown_transition_is_invalid_input(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    with pytest.raises(InvalidInput) as err:
        take(runtime, platform, view.id, "teleport", CLIENT, clock)
    assert err.value.errors[0].field == "transition"
    assert err.value.extra["allowed_transitions"] == ["cancel"]


def test_CARPOOL_CANCEL_1_a_guard_refusal_is_a_conflict_citing_the_rule(runtime, platform, clock):
    view = start_trip(runtime, platform, clock, days=1)
    take(runtime, platform, view.id, "accept", PROVIDER, clock)
    clock.advance(timedelta(days=1, minutes=1))
    before = snapshot(runtime, platform, view.id)
    with pytest.raises(Conflict) as err:
        take(runtime, platform, view.id, "cancel", CLIENT, clock)
    assert err.value.rules == ("CARPOOL-CANCEL-1",)
    assert err.value.detail == "the trip has already left"
    assert err.value.extra["allowed_transitions"] == ["contest", "cancel"]
    assert snapshot(runtime, platform, view.id) == before


def test_CARPOOL_CANCEL_1_an_allowed_cancellation_records_the_rule_and_cancels_timers(
    runtime, platform, clock
):
    view = start_trip(runtime, platform, clock)
    take(runtime, platform, view.id, "accept", PROVIDER, clock)
    result = take(runtime, platform, view.id, "cancel", CLIENT, clock, params={"why": "ill"})
    assert result.instance.final and result.cancelled == 2
    with runtime.sessions() as db, db.begin():
        entry = audit.list_entries(db, platform_id=platform.id, object_id=view.id)[-1]
        statuses = {t.transition: t.status for t in service.list_timers(db, platform.id, view.id)}
    assert (entry.rules, entry.reason, entry.data["params"]) == (
        ["CARPOOL-CANCEL-1"],
        "cancelled before departure",
        {"why": "ill"},
    )
    assert statuses == {"expire": "cancelled", "remind": "cancelled", "complete": "cancelled"}


def test_an_instance_of_another_platform_is_not_found(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    other = make_platform(runtime)
    with pytest.raises(NotFound):
        take(runtime, other, view.id, "cancel", CLIENT, clock)
    with pytest.raises(NotFound), runtime.sessions() as db, db.begin():
        service.get_instance(db, other.id, view.id)
    with pytest.raises(NotFound):
        take(runtime, platform, "no-such-instance", "cancel", CLIENT, clock)
    with runtime.sessions() as db, db.begin():
        assert service.list_timers(db, other.id, view.id) == []
        assert service.get_instance(db, platform.id, view.id).state == "requested"


def test_an_outdated_expected_version_is_a_conflict(runtime, platform, clock):
    view = start_trip(runtime, platform, clock)
    take(runtime, platform, view.id, "accept", PROVIDER, clock, expected_row_version=1)
    with pytest.raises(Conflict) as err:
        take(runtime, platform, view.id, "cancel", CLIENT, clock, expected_row_version=1)
    assert err.value.extra["row_version"] == 2


def test_bad_start_data_is_refused_and_creates_nothing(runtime, platform, clock):
    with runtime.sessions() as db, db.begin():
        with pytest.raises(InvalidInput) as err:
            service.start(
                db, platform.id, "test-trip", CLIENT, {"client_id": "c1", "at": object()}, clock.now()
            )
        assert err.value.errors[0].field == "data"
        with pytest.raises(NotFound):
            service.start(db, platform.id, "no-such-process", CLIENT, {}, clock.now())
        with pytest.raises(Forbidden):  # a client starting a trip for someone else
            service.start(
                db, platform.id, "test-trip", CLIENT, {**trip_data(clock), "client_id": "c2"}, clock.now()
            )
    with runtime.sessions() as db, db.begin():
        assert (
            db.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.platform_id == platform.id)
            )
            == 0
        )


def test_accepting_without_a_departure_date_is_invalid_input_and_changes_nothing(runtime, platform, clock):
    with runtime.sessions() as db, db.begin():
        view = service.start(
            db, platform.id, "test-trip", CLIENT, {"client_id": "c1", "provider_id": "p1"}, clock.now()
        )
    before = snapshot(runtime, platform, view.id)
    with pytest.raises(InvalidInput) as err:
        take(runtime, platform, view.id, "accept", PROVIDER, clock)
    assert err.value.errors[0].field == "data.starts_at"
    assert snapshot(runtime, platform, view.id) == before


def test_an_instance_keeps_the_version_it_started_with(runtime, platform, clock):
    v1 = ProcessDefinition.from_dict(
        {
            "name": "test-versioned",
            "version": 1,
            "states": ["open", "closed"],
            "initial": "open",
            "final": ["closed"],
            "transitions": [{"name": "close", "from": ["open"], "to": "closed", "actors": ["operator"]}],
        }
    )
    REGISTRY.register(v1)
    operator = ProcessActor("operator", "staff-1")
    with runtime.sessions() as db, db.begin():
        old = service.start(db, platform.id, "test-versioned", operator, {}, clock.now())
    raw = v1.to_dict()
    raw["version"] = 2
    raw["states"] = ["open", "review", "closed"]
    raw["transitions"] = [
        {"name": "submit", "from": ["open"], "to": "review", "actors": ["operator"]},
        {"name": "close", "from": ["review"], "to": "closed", "actors": ["operator"]},
    ]
    REGISTRY.register(ProcessDefinition.from_dict(raw))
    with runtime.sessions() as db, db.begin():
        new = service.start(db, platform.id, "test-versioned", operator, {}, clock.now())
        assert (old.version, new.version) == (1, 2)
        # v1 closes straight from open; v2 must go through review
        assert (
            service.take(db, platform.id, old.id, "close", operator, clock.now()).instance.state == "closed"
        )
    with pytest.raises(Conflict) as err:
        take(runtime, platform, new.id, "close", operator, clock)
    assert err.value.extra["allowed_transitions"] == ["submit"]
    # registering a different content under an existing version is refused
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(ProcessDefinition.from_dict({**raw, "version": 1}))


def test_registering_a_definition_with_an_unknown_guard_or_action_is_refused():
    raw = TRIP.to_dict()
    raw["name"] = "test-unregistered"
    raw["transitions"][0]["actions"] = ["nobody.knows"]
    with pytest.raises(ValueError, match=r"unknown action 'nobody\.knows'"):
        REGISTRY.register(ProcessDefinition.from_dict(raw))
