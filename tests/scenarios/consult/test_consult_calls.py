"""Metered calls on a consult pack platform through the HTTP app and the sandbox telephony: the
pack's tariff (CONSULT-CALL-1/2/3) rates the call, and the pack's review policy for consultations
(CONSULT-REVIEW-1) accepts a paid call longer than 3 minutes within 21 days and nothing else."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))

from accounts_helpers import PASSWORD, auth, email, login, staff_token, url
from metering_helpers import MOBILE, deliver, move, start
from money_helpers import fund
from packs_helpers import pack_platform, session, terms_version


def master(client, runtime, platform, *, rate: int, free_minutes: int = 0):
    """A Master created by staff, who sets a new password, accepts the terms and publishes a tariff."""
    staff = auth(staff_token(client, runtime, platform))
    address = email()
    r = client.post(
        url(platform, "/staff/users"),
        json={"role": "provider", "email": address, "password": PASSWORD, "first_name": "Irma"},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    master_id = r.json()["id"]
    token = login(client, platform, address).json()["token"]
    new = "an even better horse battery"
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": PASSWORD, "new_password": new},
        headers=auth(token),
    )
    assert r.status_code == 204, r.text
    headers = auth(login(client, platform, address, new).json()["token"])
    version = terms_version(client, platform, "provider")
    r = client.post(
        url(platform, f"/terms/provider/{version}/acceptance"), json={"accepted": True}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = client.put(
        url(platform, f"/metering/tariffs/{master_id}"),
        json={"rate_per_minute": rate, "free_minutes": free_minutes, "phone": "+33611223344", "packages": []},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return master_id


def call(client, runtime, clock, platform, token, master_id, seconds: int) -> dict:
    r = start(
        client,
        platform,
        token.removeprefix("Bearer "),
        master_id,
        budget=3000,
        phone=MOBILE,
        sandbox={"answer_after": 0, "duration": seconds},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    deliver(runtime, client, sid, move(clock, 0))
    deliver(runtime, client, sid, move(clock, seconds))
    return client.get(url(platform, f"/metering/sessions/{sid}"), headers={"Authorization": token}).json()


def review(client, platform, headers, sid: str):
    return client.post(
        url(platform, "/reviews"),
        json={
            "subject_kind": "consultation",
            "transaction_id": sid,
            "rating": 5,
            "text": "Très juste, merci.",
        },
        headers=headers,
    )


def test_CONSULT_CALL_2_CONSULT_CALL_3_CONSULT_REVIEW_1_calls_rated_by_the_pack_and_reviewed(
    client, runtime, clock
):
    platform = pack_platform(runtime, "consult")
    master_id = master(client, runtime, platform, rate=200)
    address = email()
    client_id, headers = session(client, platform, first_name="Claire", last_name="Martin", email=address)
    fund(runtime, platform, client_id, 10_000)

    short = call(client, runtime, clock, platform, headers["Authorization"], master_id, 180)
    assert short["state"] == "ended"
    assert short["total"]["amount"] == 125 + 3 * 200 + 3 * 10  # connection fee, minutes, mobile surcharge
    r = review(client, platform, headers, short["id"])
    assert r.status_code == 409 and r.json()["rules"] == ["CONSULT-REVIEW-1"], r.text

    longer = call(client, runtime, clock, platform, headers["Authorization"], master_id, 200)
    ok = review(client, platform, headers, longer["id"])
    assert ok.status_code == 201, ok.text

    third = call(client, runtime, clock, platform, headers["Authorization"], master_id, 240)
    clock.advance(timedelta(days=21, seconds=1))
    headers = auth(login(client, platform, address).json()["token"])  # the old session has expired
    r = review(client, platform, headers, third["id"])
    assert r.status_code == 409 and r.json()["rules"] == ["CONSULT-REVIEW-1"], r.text
