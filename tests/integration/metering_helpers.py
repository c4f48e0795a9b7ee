"""Helpers for metered sessions: a consult-like platform, a provider with a tariff, a funded client,
and a way to let the sandbox's webhooks and the timers run at a given time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from accounts_helpers import auth, url, user_session
from money_helpers import fund

from entremise.booking import timers
from entremise.platforms import service as platforms
from entremise.telephony.jobs import deliver_sandbox_webhooks

MOBILE = "+33612345678"
LANDLINE = "+33142685300"
CONSULT = {"metering": {"model": "resale", "default_commission_percent": "30"}}
EXPERT = {
    "metering": {
        "model": "fee",
        "connection_fee": 0,
        "mobile_surcharge_per_minute": 0,
        "per_minute_cap": 5000,
        "fee_per_consultation": 300,
    }
}


def make_platform(runtime, settings: dict):
    slug = f"m-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms.create_platform(
            db, slug=slug, name=slug.title(), now=runtime.clock.now(), settings=settings
        )


def consult_platform(runtime, **metering):
    return make_platform(runtime, settings={"metering": {**CONSULT["metering"], **metering}})


def expert_platform(runtime, **metering):
    return make_platform(runtime, settings={"metering": {**EXPERT["metering"], **metering}})


def provider(client, platform, *, rate=200, free_minutes=0, phone=LANDLINE, packages=()):
    provider_id, _, token = user_session(
        client, platform, role="provider", first_name="Léa", last_name="Martin"
    )
    body = {
        "rate_per_minute": rate,
        "free_minutes": free_minutes,
        "phone": phone,
        "packages": [{"minutes": m, "price": p} for m, p in packages],
    }
    r = client.put(url(platform, f"/metering/tariffs/{provider_id}"), json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    return provider_id, token


def funded_client(client, runtime, platform, cents=10_000):
    client_id, _, token = user_session(client, platform)
    fund(runtime, platform, client_id, cents)
    return client_id, token


def start(client, platform, token, provider_id, *, mode="phone", budget=3000, phone=MOBILE, **extra):
    body = {"provider_id": provider_id, "mode": mode, "budget": budget, **extra}
    if mode == "phone":
        body["phone"] = phone
    return client.post(url(platform, "/metering/sessions"), json=body, headers=auth(token))


def reference_of(runtime, session_id: str) -> str:
    from entremise.metering.models import MeteredSession

    with runtime.sessions() as db:
        row = db.get(MeteredSession, session_id)
        assert row is not None and row.reference
        return row.reference


def deliver(runtime, client, session_id: str, at: datetime) -> int:
    """Send the session's sandbox webhooks due at `at` through the real app."""
    return deliver_sandbox_webhooks(runtime, at, http=client, reference=reference_of(runtime, session_id))


def run_timers(runtime, platform, at: datetime) -> dict:
    return timers.run_due(
        runtime.sessions,
        now=at,
        worker_id="test-worker",
        policy=timers.TimerPolicy(),
        platform_id=platform.id,
    )


def move(clock, seconds: int) -> datetime:
    clock.advance(timedelta(seconds=seconds))
    return clock.now()
