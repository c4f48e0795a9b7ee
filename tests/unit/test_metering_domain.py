"""Metered sessions (pure): the state read from the provider's facts, in any order, and the
sandbox's scripts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from entremise.metering import domain
from entremise.telephony import sandbox
from entremise.telephony.port import Mode

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def facts_from(mode: str, events: list[tuple[str, datetime, str | None, str | None]]) -> dict:
    facts: dict = {}
    for kind, at, role, status in events:
        domain.record_fact(mode, facts, kind, at, role, status)
    return facts


def test_phone_answer_then_end_in_any_order_gives_the_same_bill() -> None:
    events = [
        ("call.answered", T0 + timedelta(seconds=5), None, None),
        ("call.ended", T0 + timedelta(seconds=135), None, "completed"),
    ]
    for order in itertools.permutations(events):
        d = domain.derive("phone", facts_from("phone", list(order)))
        assert d.where == "ended"
        assert d.answered_at is not None and d.ended_at is not None
        assert domain.billable_seconds(d.answered_at, d.ended_at) == 130


def test_phone_end_without_answer_waits_unless_nobody_answered() -> None:
    assert (
        domain.derive("phone", facts_from("phone", [("call.ended", T0, None, "completed")])).where
        == "waiting"
    )
    assert (
        domain.derive("phone", facts_from("phone", [("call.ended", T0, None, "no_answer")])).where
        == "no_show"
    )
    assert domain.derive("phone", facts_from("phone", [("call.ended", T0, None, "busy")])).where == "no_show"
    assert domain.derive("phone", facts_from("phone", [("call.ended", T0, None, "failed")])).where == "failed"
    assert domain.derive("phone", {}).where == "connecting"


def test_a_second_fact_of_a_kind_is_ignored() -> None:
    facts: dict = {}
    assert domain.record_fact("phone", facts, "call.answered", T0, None, None).outcome
    assert not domain.record_fact(
        "phone", facts, "call.answered", T0 + timedelta(seconds=9), None, None
    ).outcome
    assert facts["answered_at"] == T0.isoformat()


def test_video_live_from_the_second_join_to_the_first_leave_in_any_order() -> None:
    events = [
        ("participant.joined", T0, "client", None),
        ("participant.joined", T0 + timedelta(seconds=20), "provider", None),
        ("participant.left", T0 + timedelta(seconds=120), "provider", None),
        ("participant.left", T0 + timedelta(seconds=125), "client", None),
    ]
    for order in itertools.permutations(events):
        d = domain.derive("video", facts_from("video", list(order)))
        assert d.where == "ended"
        assert d.answered_at and d.ended_at and domain.billable_seconds(d.answered_at, d.ended_at) == 100


def test_video_participants_who_never_met_are_not_billed() -> None:
    f = facts_from(
        "video",
        [
            ("participant.joined", T0, "client", None),
            ("participant.left", T0 + timedelta(seconds=30), "client", None),
            ("participant.joined", T0 + timedelta(seconds=60), "provider", None),
        ],
    )
    assert domain.derive("video", f).where == "waiting"


def test_billable_seconds_counts_a_started_second() -> None:
    assert domain.billable_seconds(T0, T0 + timedelta(seconds=60, microseconds=1)) == 61
    assert domain.billable_seconds(T0, T0) == 0


def test_sandbox_scripts_are_checked_field_by_field() -> None:
    assert sandbox.Script.parse(None) == sandbox.Script()
    for bad, field in (
        ({"outcome": "explode"}, "outcome"),
        ({"duration": -1}, "duration"),
        ({"answer_after": True}, "answer_after"),
        ({"duplicate": "yes"}, "duplicate"),
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(ValueError, match=field):
            sandbox.Script.parse(bad)


def test_sandbox_plans_the_events_of_a_script() -> None:
    phone = sandbox.planned_events(
        "sbx_1", Mode.PHONE, sandbox.Script(answer_after=3, duration=10, record=True), T0
    )
    assert [(at - T0).seconds for at, _ in phone] == [3, 13]
    assert phone[1][1]["end_status"] == "completed" and phone[1][1]["recording_ref"] == "rec_sbx_1"
    missed = sandbox.planned_events(
        "sbx_2", Mode.PHONE, sandbox.Script(outcome="no_answer", answer_after=30), T0
    )
    assert [body["type"] for _, body in missed] == ["call.ended"] and missed[0][1][
        "end_status"
    ] == "no_answer"
    video = sandbox.planned_events("sbx_3", Mode.VIDEO, sandbox.Script(answer_after=5, duration=60), T0)
    assert [body["type"] for _, body in video] == [
        "participant.joined",
        "participant.joined",
        "participant.left",
        "participant.left",
    ]


def test_sandbox_event_bodies_are_parsed_strictly() -> None:
    from entremise.telephony.port import WebhookError

    ok = b'{"id":"evt_1","type":"call.ended","reference":"sbx_1","occurred_at":"2026-12-01T10:00:00+00:00","end_status":"dropped"}'
    assert sandbox.parse_event(ok).end_status is not None
    for bad in (
        b"not json",
        b"[]",
        b'{"id":"evt_1","type":"call.ended","reference":"sbx_1","occurred_at":"2026-12-01T10:00:00+00:00"}',
        b'{"id":"evt_1","type":"call.answered","reference":"sbx_1","occurred_at":"2026-12-01T10:00:00"}',
        b'{"id":"evt_1","type":"participant.joined","reference":"sbx_1","occurred_at":"2026-12-01T10:00:00+00:00","role":"x"}',
    ):
        with pytest.raises(WebhookError):
            sandbox.parse_event(bad)
