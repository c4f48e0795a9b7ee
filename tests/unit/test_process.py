"""The process engine's pure core: definitions as data, validation, planning transitions and timers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from entremise.booking.process import (
    Allowed,
    ProcessDataError,
    ProcessDefinition,
    ProcessDefinitionError,
    Refused,
    ScheduledTimer,
    TimerSpec,
    Transition,
    parse_duration,
    plan_start,
    plan_transition,
)
from entremise.kernel.decision import Verdict

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STARTS = NOW + timedelta(days=3)

TRIP = {
    "name": "trip",
    "version": 1,
    "states": ["requested", "accepted", "declined", "expired", "cancelled", "completed"],
    "initial": "requested",
    "final": ["declined", "expired", "cancelled", "completed"],
    "initial_timers": [{"transition": "expire", "at": "entry + 48h"}],
    "parties": {"client": "client_id", "provider": "provider_id"},
    "transitions": [
        {
            "name": "accept",
            "from": ["requested"],
            "to": "accepted",
            "actors": ["provider"],
            "timers": [
                {"transition": "remind", "at": "starts_at − 24h", "if_past": "ignore"},
                {"transition": "complete", "at": "starts_at + 2h"},
            ],
        },
        {"name": "decline", "from": ["requested"], "to": "declined", "actors": ["provider"]},
        {"name": "expire", "from": "requested", "to": "expired", "actors": ["system"]},
        {"name": "remind", "from": ["accepted"], "to": "accepted", "actors": ["system"], "actions": []},
        {
            "name": "cancel",
            "from": ["requested", "accepted"],
            "to": "cancelled",
            "actors": ["client", "operator"],
            "guard": "before_departure",
        },
        {"name": "complete", "from": ["accepted"], "to": "completed", "actors": ["system", "operator"]},
    ],
}


def before_departure(data, params, now) -> Verdict:
    """CARPOOL-CANCEL-1: a trip can be cancelled before departure only."""
    if now < datetime.fromisoformat(data["starts_at"]):
        return Verdict.allow("CARPOOL-CANCEL-1", reason="before departure")
    return Verdict.refuse("CARPOOL-CANCEL-1", reason="the trip has already left")


GUARDS = {"before_departure": before_departure}
DATA = {"starts_at": STARTS.isoformat(), "client_id": "c1", "provider_id": "p1"}


@pytest.fixture
def trip() -> ProcessDefinition:
    return ProcessDefinition.from_dict(TRIP)


def broken(**changes) -> dict:
    raw = copy.deepcopy(TRIP)
    raw.update(changes)
    return raw


def test_a_definition_loads_from_json_and_round_trips(trip):
    again = ProcessDefinition.from_dict(json.loads(json.dumps(trip.to_dict())))
    assert again == trip
    assert trip.transition("accept").timers[0] == TimerSpec(
        "remind", offset=-timedelta(hours=24), anchor="starts_at", if_past="ignore"
    )
    assert trip.transition("expire").from_states == ("requested",)


def test_the_same_definition_built_from_dataclasses_equals_the_loaded_one(trip):
    built = ProcessDefinition(
        name="trip",
        version=1,
        states=("requested", "accepted", "declined", "expired", "cancelled", "completed"),
        initial="requested",
        final=("declined", "expired", "cancelled", "completed"),
        initial_timers=(TimerSpec.at("expire", "entry + 48h"),),
        parties=(("client", "client_id"), ("provider", "provider_id")),
        transitions=(
            Transition(
                "accept",
                ("requested",),
                "accepted",
                ("provider",),
                timers=(
                    TimerSpec.at("remind", "starts_at - 24h", if_past="ignore"),
                    TimerSpec.at("complete", "starts_at + 2h"),
                ),
            ),
            Transition("decline", ("requested",), "declined", ("provider",)),
            Transition("expire", ("requested",), "expired", ("system",)),
            Transition("remind", ("accepted",), "accepted", ("system",)),
            Transition(
                "cancel",
                ("requested", "accepted"),
                "cancelled",
                ("client", "operator"),
                guard="before_departure",
            ),
            Transition("complete", ("accepted",), "completed", ("system", "operator")),
        ),
    )
    assert built == trip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (broken(initial="nowhere"), "initial state 'nowhere' is not a declared state"),
        (broken(final=["completed", "limbo"]), "final state 'limbo' is not a declared state"),
        (broken(states=[*TRIP["states"], "requested"]), "state 'requested' is declared twice"),
        (broken(states=[*TRIP["states"], "orphan"]), "state 'orphan' is unreachable from 'requested'"),
        (
            broken(transitions=[*TRIP["transitions"], TRIP["transitions"][1]]),
            "transition 'decline' is declared twice",
        ),
        (
            broken(
                transitions=[
                    *TRIP["transitions"],
                    {"name": "x", "from": ["requested"], "to": "moon", "actors": ["client"]},
                ]
            ),
            "transition 'x' leads to unknown state 'moon'",
        ),
        (
            broken(
                transitions=[
                    *TRIP["transitions"],
                    {"name": "x", "from": ["limbo"], "to": "accepted", "actors": ["client"]},
                ]
            ),
            "transition 'x' starts from unknown state 'limbo'",
        ),
        (
            broken(
                transitions=[
                    *TRIP["transitions"],
                    {"name": "x", "from": ["requested"], "to": "accepted", "actors": ["butler"]},
                ]
            ),
            "transition 'x': unknown actor 'butler'",
        ),
        (
            broken(
                transitions=[
                    *TRIP["transitions"],
                    {"name": "x", "from": ["completed"], "to": "accepted", "actors": ["operator"]},
                ]
            ),
            "transition 'x' leaves final state 'completed'",
        ),
        (
            broken(initial_timers=[{"transition": "fly", "at": "entry + 1h"}]),
            "timer takes unknown transition 'fly'",
        ),
        (
            broken(initial_timers=[{"transition": "decline", "at": "entry + 1h"}]),
            "timer transition 'decline' must allow the actor 'system'",
        ),
        (
            broken(initial_timers=[{"transition": "complete", "at": "entry + 1h"}]),
            "timer transition 'complete' cannot be taken from 'requested'",
        ),
        (broken(initial_timers=[{"transition": "expire", "at": "entry + 2 fortnights"}]), "not a duration"),
        (
            broken(initial_timers=[{"transition": "expire", "at": "entry + 1h", "if_past": "maybe"}]),
            "if_past",
        ),
        (broken(version="2"), "version must be an integer"),
        (broken(colour="blue"), "unknown key 'colour'"),
        (
            broken(final=["declined", "expired", "cancelled"]),
            "state 'completed' is not final but no transition leaves it",
        ),
    ],
)
def test_an_inconsistent_definition_is_refused_with_a_clear_error(raw, expected):
    with pytest.raises(ProcessDefinitionError) as err:
        ProcessDefinition.from_dict(raw)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(ProcessDefinitionError) as err:
        ProcessDefinition.from_dict(broken(initial="nowhere", final=["limbo"]))
    assert len(err.value.problems) >= 2
    assert "process 'trip' is invalid" in str(err.value)


def test_durations():
    assert parse_duration("48h") == timedelta(hours=48)
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("30min") == parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("1w") == timedelta(days=7)
    for bad in ("", "h", "12", "3 parsecs", "1h-2"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_starting_schedules_the_initial_timers(trip):
    assert plan_start(trip, DATA, NOW) == (ScheduledTimer("expire", NOW + timedelta(hours=48)),)


def test_an_allowed_transition_gives_the_new_state_and_its_timers(trip):
    plan = plan_transition(trip, "requested", "accept", "provider", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Allowed)
    assert (plan.from_state, plan.to_state, plan.final) == ("requested", "accepted", False)
    assert plan.schedule == (
        ScheduledTimer("remind", STARTS - timedelta(hours=24)),
        ScheduledTimer("complete", STARTS + timedelta(hours=2)),
    )
    assert plan.cancel == ("expire",)  # the timers of the state left


def test_a_timer_whose_time_has_passed_is_ignored_or_run_at_once(trip):
    soon = {**DATA, "starts_at": (NOW + timedelta(hours=3)).isoformat()}
    plan = plan_transition(trip, "requested", "accept", "provider", soon, {}, NOW, GUARDS)
    assert isinstance(plan, Allowed)
    # the reminder (24 h before) is already past: ignored; nothing "runs at once" here
    assert plan.schedule == (ScheduledTimer("complete", NOW + timedelta(hours=5)),)
    gone = {**DATA, "starts_at": (NOW - timedelta(hours=5)).isoformat()}
    plan = plan_transition(trip, "requested", "accept", "provider", gone, {}, NOW, GUARDS)
    assert isinstance(plan, Allowed)
    assert plan.schedule == (ScheduledTimer("complete", NOW),)  # if_past "run": due right away


def test_a_transition_back_to_the_same_state_keeps_the_other_timers(trip):
    plan = plan_transition(trip, "accepted", "remind", "system", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Allowed)
    assert plan.to_state == "accepted" and plan.cancel == ()


def test_a_transition_from_the_wrong_state_is_refused_with_what_is_allowed(trip):
    plan = plan_transition(trip, "accepted", "accept", "provider", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Refused)
    assert plan.kind == "wrong_state"
    assert plan.allowed_transitions == ()  # a provider has nothing to do on an accepted trip
    plan = plan_transition(trip, "accepted", "decline", "client", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Refused) and plan.allowed_transitions == ("cancel",)


def test_an_actor_not_allowed_is_refused(trip):
    plan = plan_transition(trip, "requested", "accept", "client", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Refused)
    assert plan.kind == "actor_not_allowed"
    assert plan.allowed_transitions == ("cancel",)


def test_an_unknown_transition_is_refused(trip):
    plan = plan_transition(trip, "requested", "teleport", "client", DATA, {}, NOW, GUARDS)
    assert isinstance(plan, Refused) and plan.kind == "unknown_transition"


def test_CARPOOL_CANCEL_1_the_guard_refuses_after_departure_and_cites_its_rule(trip):
    plan = plan_transition(
        trip, "accepted", "cancel", "client", DATA, {}, STARTS + timedelta(minutes=1), GUARDS
    )
    assert isinstance(plan, Refused)
    assert (plan.kind, plan.rules, plan.reason) == (
        "guard_refused",
        ("CARPOOL-CANCEL-1",),
        "the trip has already left",
    )
    plan = plan_transition(
        trip, "accepted", "cancel", "client", DATA, {}, STARTS - timedelta(minutes=1), GUARDS
    )
    assert isinstance(plan, Allowed)
    assert plan.verdict.rules == ("CARPOOL-CANCEL-1",)
    assert set(plan.cancel) == {"remind", "complete"}
    assert plan.final


def test_a_missing_anchor_date_is_a_data_error(trip):
    with pytest.raises(ProcessDataError) as err:
        plan_transition(trip, "requested", "accept", "provider", {"client_id": "c1"}, {}, NOW, GUARDS)
    assert err.value.field == "starts_at"
    with pytest.raises(ProcessDataError, match="UTC offset"):
        plan_transition(
            trip, "requested", "accept", "provider", {"starts_at": "2026-12-01T10:00"}, {}, NOW, GUARDS
        )
