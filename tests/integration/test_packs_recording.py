"""Recordings through the sandbox telephony and the real app: kept on consult (CONSULT-RECORD-1),
never stored on expert (EXPERT-RECORD-1), whatever the telephony provider sends."""

from __future__ import annotations

from accounts_helpers import auth, email, login, url
from metering_helpers import MOBILE, deliver, move, start
from money_helpers import fund
from packs_helpers import EXPERT_PROVIDER, pack_platform, session
from sqlalchemy import select

from entremise.metering.models import MeteredSession


def _recorded_call(client, runtime, clock, platform, provider_headers, provider_id) -> str:
    r = client.put(
        url(platform, f"/metering/tariffs/{provider_id}"),
        json={"rate_per_minute": 200, "free_minutes": 0, "phone": "+33611223344", "packages": []},
        headers=provider_headers,
    )
    assert r.status_code == 200, r.text
    address = email()
    client_id, headers = session(client, platform, first_name="Inès", last_name="Moreau", email=address)
    fund(runtime, platform, client_id, 10_000)
    token = headers["Authorization"].removeprefix("Bearer ")
    r = start(
        client,
        platform,
        token,
        provider_id,
        budget=3000,
        phone=MOBILE,
        sandbox={"answer_after": 0, "duration": 240, "record": True},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    deliver(runtime, client, sid, move(clock, 0))
    deliver(runtime, client, sid, move(clock, 240))
    assert client.get(url(platform, f"/metering/sessions/{sid}"), headers=headers).json()["state"] == "ended"
    return sid


def test_EXPERT_RECORD_1_the_expert_pack_never_stores_a_recording(client, runtime, clock):
    platform = pack_platform(runtime, "expert")
    provider_id, provider_headers = session(client, platform, "provider", **EXPERT_PROVIDER)
    sid = _recorded_call(client, runtime, clock, platform, provider_headers, provider_id)
    with runtime.sessions() as db:
        refs = db.scalars(
            select(MeteredSession.recording_ref).where(MeteredSession.platform_id == platform.id)
        ).all()
    assert refs == [None]
    assert sid


def test_CONSULT_RECORD_1_the_consult_pack_keeps_the_recording_unless_turned_off(client, runtime, clock):
    from accounts_helpers import PASSWORD, staff_token

    for enabled in (True, False):
        platform = pack_platform(runtime, "consult", {"pack_settings": {"recording_enabled": enabled}})
        staff = auth(staff_token(client, runtime, platform))
        address = email()
        r = client.post(
            url(platform, "/staff/users"),
            json={"role": "provider", "email": address, "password": PASSWORD},
            headers=staff,
        )
        master_id = r.json()["id"]
        token = login(client, platform, address).json()["token"]
        new = "an even better horse battery"
        client.post(
            url(platform, "/me/password"),
            json={"current_password": PASSWORD, "new_password": new},
            headers=auth(token),
        )
        master = auth(login(client, platform, address, new).json()["token"])
        from packs_helpers import terms_version

        version = terms_version(client, platform, "provider")
        client.post(
            url(platform, f"/terms/provider/{version}/acceptance"), json={"accepted": True}, headers=master
        )
        sid = _recorded_call(client, runtime, clock, platform, master, master_id)
        with runtime.sessions() as db:
            ref = db.get(MeteredSession, sid).recording_ref  # type: ignore[union-attr]
        assert (ref is not None) is enabled
