"""Availability and appointments over HTTP, against the real database and ledger: a chosen slot is
booked with its price held (EXPERT-CONSULT-1), bad slots are refused and change nothing, slots
follow Paris time across daylight-saving changes, cancellations cost what EXPERT-CANCEL-1/2 say."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from accounts_helpers import auth, staff_token, url, user_session
from money_helpers import balance
from scheduling_helpers import PARIS, book, fee_platform, funded_client, paris, provider
from sqlalchemy import func, select

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.ledger.domain import AccountType
from entremise.notify.models import OutboxMessage
from entremise.scheduling.models import Appointment

# the clock starts on Monday 23 November 2026, 10:00 in Paris
WEDNESDAY_9 = paris(2026, 11, 25, 9)  # 47 hours ahead: a cancellation costs a fee
FRIDAY_9 = paris(2026, 11, 27, 9)  # 95 hours ahead: free to cancel


@pytest.fixture
def fplatform(runtime):
    return fee_platform(runtime)


def slots(client, platform, provider_id, start: str, end: str, **query):
    params = {"from": start, "to": end, **query}
    return client.get(url(platform, f"/providers/{provider_id}/slots"), params=params)


def appointments_count(runtime, platform) -> int:
    with runtime.sessions() as db, db.begin():
        return int(
            db.scalar(
                select(func.count()).select_from(Appointment).where(Appointment.platform_id == platform.id)
            )
        )


def test_EXPERT_CONSULT_1_a_client_books_a_chosen_slot_and_its_price_is_held(client, runtime, fplatform):
    provider_id, provider_token = provider(client, fplatform)
    client_id, token = funded_client(client, runtime, fplatform)
    listed = slots(client, fplatform, provider_id, "2026-11-25", "2026-11-25", kind="per_minute", minutes=30)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["timezone"] == "Europe/Paris" and body["price"] == {"amount": 4500, "currency": "EUR"}
    starts = [datetime.fromisoformat(s["starts_at"]) for s in body["slots"]]
    assert starts[0] == WEDNESDAY_9.astimezone(UTC)  # 09:00 in Paris is 08:00 UTC in November
    assert starts[-1] == paris(2026, 11, 25, 11, 30)
    assert len(starts) == 11  # every 15 minutes from 09:00 to 11:30

    r = book(client, fplatform, token, provider_id, WEDNESDAY_9)
    assert r.status_code == 201, r.text
    appt = r.json()
    assert appt["state"] == "confirmed" and appt["minutes"] == 30
    assert appt["price"] == {"amount": 4500, "currency": "EUR"}
    assert appt["platform_fee"]["amount"] == 900  # 30 minutes of the 0.30 € fee
    assert appt["withdrawal_deadline"] is not None
    assert balance(runtime, fplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 5_500)

    again = slots(client, fplatform, provider_id, "2026-11-25", "2026-11-25").json()["slots"]
    taken = [datetime.fromisoformat(s["starts_at"]) for s in again]
    assert WEDNESDAY_9.astimezone(UTC) not in taken and paris(2026, 11, 25, 9, 15) not in taken
    assert paris(2026, 11, 25, 9, 30) in taken

    for token_ in (token, provider_token):
        seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token_))
        assert seen.status_code == 200 and seen.json()["id"] == appt["id"]
        assert [
            a["id"] for a in client.get(url(fplatform, "/appointments"), headers=auth(token_)).json()["items"]
        ] == [appt["id"]]
    process = client.get(
        url(fplatform, f"/processes/{appt['process_instance_id']}"), headers=auth(token)
    ).json()
    assert process["allowed_transitions"] == ["cancel_by_client"]
    assert sorted(t["transition"] for t in process["timers"]) == [
        "client_no_show",
        "nobody_showed",
        "provider_no_show",
        "remind",
    ]
    with runtime.sessions() as db, db.begin():
        entries = list_entries(db, platform_id=fplatform.id, object_type="appointment", object_id=appt["id"])
        sent = db.scalars(
            select(OutboxMessage.template).where(OutboxMessage.platform_id == fplatform.id)
        ).all()
    assert "appointment.booked" in [e.action for e in entries]
    assert [e.rules for e in entries if e.action == "appointment.booked"] == [["EXPERT-CONSULT-1"]]
    assert sorted(sent) == ["scheduling.appointment_booked", "scheduling.appointment_booked"]


def test_EXPERT_CONSULT_1_a_package_books_its_own_length(client, runtime, fplatform):
    provider_id, _ = provider(client, fplatform)
    client_id, token = funded_client(client, runtime, fplatform)
    r = book(client, fplatform, token, provider_id, paris(2026, 11, 25, 11, 45), kind="package", minutes=15)
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["ends_at"]) == paris(2026, 11, 25, 12)
    assert balance(runtime, fplatform, AccountType.CLIENT_CREDIT, client_id)[1] == 2_500


@pytest.mark.parametrize(
    ("starts_at", "field_reason"),
    [
        (paris(2026, 11, 23, 9), "in the past"),
        (paris(2026, 11, 23, 10, 30), "at least 1 hour ahead"),
        (paris(2026, 11, 25, 14), "not available at that time"),
        (paris(2026, 11, 25, 11, 45), "not available at that time"),  # 30 minutes would end at 12:15
        (paris(2026, 11, 25, 9, 10), "every 15 minutes"),
        (paris(2026, 11, 28, 9), "not available at that time"),  # a Saturday
        (paris(2027, 6, 1, 9), "at most 90 days ahead"),
    ],
)
def test_EXPERT_CONSULT_1_bad_slots_are_refused_naming_starts_at_and_nothing_changes(
    client, runtime, fplatform, starts_at, field_reason
):
    provider_id, _ = provider(client, fplatform)
    client_id, token = funded_client(client, runtime, fplatform)
    r = book(client, fplatform, token, provider_id, starts_at)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.starts_at"
    assert field_reason in r.json()["errors"][0]["reason"]
    assert r.json()["rules"] == ["EXPERT-CONSULT-1"]
    assert appointments_count(runtime, fplatform) == 0
    assert balance(runtime, fplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 10_000)


def test_EXPERT_CONSULT_1_a_taken_slot_is_a_conflict_and_overlaps_count_with_buffers(
    client, runtime, fplatform
):
    provider_id, _ = provider(client, fplatform, buffer_after_minutes=15)
    _, first = funded_client(client, runtime, fplatform)
    second_id, second = funded_client(client, runtime, fplatform)
    assert book(client, fplatform, first, provider_id, WEDNESDAY_9).status_code == 201
    for start in (WEDNESDAY_9, paris(2026, 11, 25, 9, 15), paris(2026, 11, 25, 9, 30)):
        r = book(client, fplatform, second, provider_id, start)
        assert r.status_code == 409, (start, r.text)
        assert r.json()["rules"] == ["EXPERT-CONSULT-1"]
    assert book(client, fplatform, second, provider_id, paris(2026, 11, 25, 9, 45)).status_code == 201
    assert balance(runtime, fplatform, AccountType.CLIENT_CREDIT, second_id)[1] == 5_500


def test_other_refusals_name_their_field_or_rule_and_change_nothing(client, runtime, fplatform):
    provider_id, provider_token = provider(client, fplatform)
    client_id, token = funded_client(client, runtime, fplatform, cents=1_000)
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9)  # 45 € held on 10 € of credit
    assert r.status_code == 409 and "account_id" in r.json()
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, minutes=40)  # 60 € > the 50 € cap
    assert r.status_code == 422 and r.json()["rules"] == ["EXPERT-PRICE-4"]
    assert r.json()["errors"][0]["field"] == "body.offer.minutes"
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, kind="package", minutes=20)
    assert r.status_code == 422 and "offered: 15 minutes" in r.json()["errors"][0]["reason"]
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, kind="package", minutes=120)
    assert r.status_code == 422 and r.json()["rules"] == ["EXPERT-PRICE-2"]
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, mode="phone")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.phone"
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, mode="phone", phone="12")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.phone"
    r = book(client, fplatform, token, client_id, WEDNESDAY_9)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.provider_id"
    assert book(client, fplatform, token, "0" * 36, WEDNESDAY_9).status_code == 404
    r = book(client, fplatform, token, provider_id, WEDNESDAY_9, surprise=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.surprise"
    r = client.post(
        url(fplatform, "/appointments"),
        json={
            "provider_id": provider_id,
            "starts_at": "2026-11-25T09:00:00",
            "offer": {"kind": "per_minute", "minutes": 30},
        },
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.starts_at"
    assert book(client, fplatform, provider_token, provider_id, WEDNESDAY_9).status_code == 403
    assert appointments_count(runtime, fplatform) == 0
    assert balance(runtime, fplatform, AccountType.CLIENT_CREDIT, client_id) == (1_000, 1_000)


def test_schedules_are_validated_and_belong_to_providers(client, runtime, fplatform):
    _, _, client_token = user_session(client, fplatform)
    assert (
        client.put(url(fplatform, "/scheduling/me"), json={}, headers=auth(client_token)).status_code == 403
    )
    _provider_id, token = provider(client, fplatform)
    r = client.put(
        url(fplatform, "/scheduling/me"),
        json={
            "weekly": {
                "mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
                "xyz": [],
            },
            "buffer_before_minutes": 500,
            "min_notice_minutes": 20_000,
            "packages": [{"minutes": 2, "price": 100}],
        },
        headers=auth(token),
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {
        "body.weekly.mon.1",
        "body.weekly.xyz",
        "body.buffer_before_minutes",
        "body.min_notice_minutes",
        "body.packages.0.minutes",
        "body.packages.0.price",
    } <= fields
    r = client.put(
        url(fplatform, "/scheduling/me"),
        json={"weekly": {"mon": [{"start": "9h", "end": "12:00"}]}},
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body.weekly.mon.0.start")
    mine = client.get(url(fplatform, "/scheduling/me"), headers=auth(token)).json()
    assert mine["weekly"]["mon"] == [{"start": "09:00", "end": "12:00"}]  # unchanged
    assert mine["packages"] == [{"minutes": 15, "price": {"amount": 7500, "currency": "EUR"}}]
    assert client.get(url(fplatform, "/scheduling/me"), headers=auth(client_token)).status_code == 403


def test_a_closed_day_and_extra_hours_change_the_free_slots(client, runtime, fplatform):
    provider_id, token = provider(client, fplatform)
    r = client.put(
        url(fplatform, "/scheduling/me/days/2026-11-25"), json={"closed": True}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    assert slots(client, fplatform, provider_id, "2026-11-25", "2026-11-25").json()["slots"] == []
    r = client.put(
        url(fplatform, "/scheduling/me/days/2026-11-28"),
        json={"intervals": [{"start": "14:00", "end": "15:00"}]},
        headers=auth(token),
    )
    assert r.status_code == 200
    saturday = slots(client, fplatform, provider_id, "2026-11-28", "2026-11-28").json()["slots"]
    assert [datetime.fromisoformat(s["starts_at"]) for s in saturday] == [
        paris(2026, 11, 28, 14),
        paris(2026, 11, 28, 14, 15),
        paris(2026, 11, 28, 14, 30),
    ]
    assert (
        client.delete(url(fplatform, "/scheduling/me/days/2026-11-25"), headers=auth(token)).status_code
        == 204
    )
    assert len(slots(client, fplatform, provider_id, "2026-11-25", "2026-11-25").json()["slots"]) == 11
    assert (
        client.delete(url(fplatform, "/scheduling/me/days/2026-11-25"), headers=auth(token)).status_code
        == 404
    )
    r = client.put(
        url(fplatform, "/scheduling/me/days/2026-11-20"), json={"closed": True}, headers=auth(token)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.day"
    r = client.put(url(fplatform, "/scheduling/me/days/2026-11-26"), json={}, headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.intervals"


def test_slot_listing_is_bounded_and_validated(client, runtime, fplatform):
    provider_id, _ = provider(client, fplatform)
    r = slots(client, fplatform, provider_id, "2026-11-25", "2027-01-31")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.to"
    r = slots(client, fplatform, provider_id, "2026-11-25", "2026-11-24")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.to"
    r = slots(client, fplatform, provider_id, "yesterday", "2026-11-24")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.from"
    assert slots(client, fplatform, "0" * 36, "2026-11-25", "2026-11-25").status_code == 404
    other = make_platform(runtime)
    assert slots(client, other, provider_id, "2026-11-25", "2026-11-25").status_code == 404


@pytest.mark.parametrize(
    ("clock_at", "week", "summer_sunday"),
    [
        (datetime(2026, 3, 16, 9, tzinfo=UTC), ("2026-03-22", "2026-03-29"), date(2026, 3, 29)),
        (datetime(2026, 10, 12, 9, tzinfo=UTC), ("2026-10-18", "2026-10-25"), date(2026, 10, 18)),
    ],
)
def test_EXPERT_CONSULT_1_slots_keep_paris_hours_across_the_daylight_saving_sundays(
    client, runtime, fplatform, clock, clock_at, week, summer_sunday
):
    clock.set(clock_at)
    provider_id, _ = provider(client, fplatform, weekly={"sun": [{"start": "09:00", "end": "09:30"}]})
    listed = slots(client, fplatform, provider_id, week[0], week[1], minutes=30)
    assert listed.status_code == 200, listed.text
    listed = listed.json()["slots"]
    starts = [datetime.fromisoformat(s["starts_at"]) for s in listed]
    assert [s.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        f"{week[0]} 09:00",
        f"{week[1]} 09:00",
    ]
    assert [s.astimezone(UTC).hour for s in starts] == [
        7 if d == summer_sunday else 8 for d in (date.fromisoformat(week[0]), date.fromisoformat(week[1]))
    ]
    _client_id, token = funded_client(client, runtime, fplatform)
    r = book(client, fplatform, token, provider_id, starts[1], minutes=30)
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["starts_at"]).astimezone(PARIS).hour == 9


def test_strangers_and_other_platforms_see_no_appointment(client, runtime, fplatform):
    provider_id, _ = provider(client, fplatform)
    _, token = funded_client(client, runtime, fplatform)
    appt = book(client, fplatform, token, provider_id, FRIDAY_9).json()
    _, _, stranger = user_session(client, fplatform)
    assert (
        client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(stranger)).status_code == 404
    )
    r = client.post(
        url(fplatform, f"/appointments/{appt['id']}/cancellation"), json={}, headers=auth(stranger)
    )
    assert r.status_code == 404
    assert client.get(url(fplatform, "/appointments"), headers=auth(stranger)).json()["items"] == []
    other = make_platform(runtime)
    _, _, foreign = user_session(client, other)
    assert client.get(url(other, f"/appointments/{appt['id']}"), headers=auth(foreign)).status_code == 404
    staff = staff_token(client, runtime, fplatform)
    assert client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(staff)).status_code == 200
    seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token)).json()
    assert seen["state"] == "confirmed"
