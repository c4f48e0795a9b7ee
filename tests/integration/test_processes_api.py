"""Process instances over HTTP: parties and staff move them; illegal transitions answer with the
allowed ones; nobody else sees them (COMMON-EVIDENCE-1 for the audit of each transition)."""

from __future__ import annotations

from datetime import timedelta

from accounts_helpers import auth, staff_token, url, user_session
from booking_processes import TRIP  # noqa: F401 - registers the test processes

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.booking import service
from entremise.booking.service import ProcessActor


def start_trip(runtime, platform, client_id, provider_id):
    starts = runtime.clock.now() + timedelta(days=3)
    with runtime.sessions() as db, db.begin():
        view = service.start(
            db,
            platform.id,
            "test-trip",
            ProcessActor("client", client_id),
            {"client_id": client_id, "provider_id": provider_id, "starts_at": starts.isoformat()},
            runtime.clock.now(),
        )
    return view.id


def test_parties_read_and_move_an_instance_and_the_audit_records_it(client, runtime, platform):
    client_id, _, client_token = user_session(client, platform)
    provider_id, _, provider_token = user_session(client, platform, role="provider")
    trip = start_trip(runtime, platform, client_id, provider_id)

    seen = client.get(url(platform, f"/processes/{trip}"), headers=auth(client_token))
    assert seen.status_code == 200, seen.text
    assert seen.json()["state"] == "requested"
    assert seen.json()["allowed_transitions"] == ["cancel"]
    assert [t["transition"] for t in seen.json()["timers"]] == ["expire"]

    r = client.post(
        url(platform, f"/processes/{trip}/transitions/accept"), json={}, headers=auth(provider_token)
    )
    assert r.status_code == 200, r.text
    body = r.json()["instance"]
    assert body["state"] == "accepted"
    assert sorted(t["transition"] for t in body["timers"]) == ["complete", "remind"]
    with runtime.sessions() as db, db.begin():
        actions = [e.action for e in list_entries(db, platform_id=platform.id, object_id=trip)]
    assert actions[-1] == "test-trip.accept"


def test_illegal_transition_answers_409_with_the_allowed_ones_and_changes_nothing(client, runtime, platform):
    client_id, _, client_token = user_session(client, platform)
    provider_id, _, provider_token = user_session(client, platform, role="provider")
    trip = start_trip(runtime, platform, client_id, provider_id)
    assert (
        client.post(
            url(platform, f"/processes/{trip}/transitions/decline"), json={}, headers=auth(provider_token)
        ).status_code
        == 200
    )
    r = client.post(
        url(platform, f"/processes/{trip}/transitions/accept"), json={}, headers=auth(provider_token)
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["allowed_transitions"] == []
    assert r.json()["state"] == "declined"
    # a role that may not take it: 403; an unknown transition: 422; both name what is allowed
    trip2 = start_trip(runtime, platform, client_id, provider_id)
    r = client.post(
        url(platform, f"/processes/{trip2}/transitions/accept"), json={}, headers=auth(client_token)
    )
    assert r.status_code == 403 and r.json()["allowed_transitions"] == ["cancel"]
    r = client.post(url(platform, f"/processes/{trip2}/transitions/fly"), json={}, headers=auth(client_token))
    assert r.status_code == 422 and "allowed_transitions" in r.json()
    assert (
        client.get(url(platform, f"/processes/{trip2}"), headers=auth(client_token)).json()["state"]
        == "requested"
    )


def test_guard_refusal_cites_its_rule_CARPOOL_CANCEL_1(client, runtime, platform, clock):
    client_id, _, client_token = user_session(client, platform)
    provider_id, _, _ = user_session(client, platform, role="provider")
    trip = start_trip(runtime, platform, client_id, provider_id)
    clock.advance(timedelta(days=3, minutes=1))
    r = client.post(
        url(platform, f"/processes/{trip}/transitions/cancel"), json={}, headers=auth(client_token)
    )
    assert r.status_code == 409
    assert r.json()["rules"] == ["CARPOOL-CANCEL-1"]


def test_stale_row_version_is_refused(client, runtime, platform):
    client_id, _, client_token = user_session(client, platform)
    provider_id, _, _ = user_session(client, platform, role="provider")
    trip = start_trip(runtime, platform, client_id, provider_id)
    version = client.get(url(platform, f"/processes/{trip}"), headers=auth(client_token)).json()[
        "row_version"
    ]
    r = client.post(
        url(platform, f"/processes/{trip}/transitions/cancel"),
        json={"expected_row_version": version + 1},
        headers=auth(client_token),
    )
    assert r.status_code == 409


def test_strangers_other_platforms_and_bad_bodies_cannot_touch_an_instance(client, runtime, platform):
    client_id, _, client_token = user_session(client, platform)
    provider_id, _, _ = user_session(client, platform, role="provider")
    _, _, stranger_token = user_session(client, platform)
    trip = start_trip(runtime, platform, client_id, provider_id)

    assert client.get(url(platform, f"/processes/{trip}"), headers=auth(stranger_token)).status_code == 404
    r = client.post(
        url(platform, f"/processes/{trip}/transitions/cancel"), json={}, headers=auth(stranger_token)
    )
    assert r.status_code == 404
    assert client.get(url(platform, f"/processes/{trip}")).status_code == 401

    other = make_platform(runtime)
    _, _, other_token = user_session(client, other)
    assert client.get(url(other, f"/processes/{trip}"), headers=auth(other_token)).status_code == 404
    # the token of one platform is refused on another
    assert client.get(url(other, f"/processes/{trip}"), headers=auth(client_token)).status_code == 401

    r = client.post(
        url(platform, f"/processes/{trip}/transitions/cancel"),
        json={"unknown": 1},
        headers=auth(client_token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.unknown"
    staff = staff_token(client, runtime, platform)
    seen = client.get(url(platform, f"/processes/{trip}"), headers=auth(staff)).json()
    assert seen["state"] == "requested"
    assert seen["allowed_transitions"] == ["cancel"]  # staff act as the operator
