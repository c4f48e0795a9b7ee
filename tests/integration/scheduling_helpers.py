"""Helpers for appointment tests: a platform with fees, a provider with a published week, a funded client."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from accounts_helpers import auth, url, user_session
from money_helpers import fund

from conftest import make_platform
from entremise.booking import timers

PARIS = ZoneInfo("Europe/Paris")
FEES = {"scheduling": {"fee_per_minute": 30, "fee_per_package": 1000}}
WEEKDAYS_9_TO_12 = {d: [{"start": "09:00", "end": "12:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}


def fee_platform(runtime, **scheduling):
    return make_platform(runtime, settings={"scheduling": {**FEES["scheduling"], **scheduling}})


def provider(client, platform, **schedule):
    """A provider who published Monday-Friday 09:00-12:00, 1.50 €/min and a 15-minute package at 75 €."""
    provider_id, _, token = user_session(
        client, platform, role="provider", first_name="Zoé", last_name="Durand"
    )
    body = {
        "weekly": WEEKDAYS_9_TO_12,
        "per_minute_rate": 150,
        "packages": [{"minutes": 15, "price": 7500}],
        "min_notice_minutes": 60,
        **schedule,
    }
    r = client.put(url(platform, "/scheduling/me"), json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    return provider_id, token


def funded_client(client, runtime, platform, cents=10_000):
    client_id, _, token = user_session(client, platform)
    fund(runtime, platform, client_id, cents)
    return client_id, token


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def book(client, platform, token, provider_id, starts_at: datetime, kind="per_minute", minutes=30, **extra):
    body = {
        "provider_id": provider_id,
        "starts_at": starts_at.isoformat(),
        "offer": {"kind": kind, "minutes": minutes},
        "withdrawal_waiver": {
            "accepted": True,
            "text": "Je demande que la consultation ait lieu avant la fin du délai de rétractation et renonce à ce droit.",
        },
        **extra,
    }
    return client.post(url(platform, "/appointments"), json=body, headers=auth(token))


def run_timers(runtime, at: datetime, platform) -> dict:
    return timers.run_due(
        runtime.sessions,
        now=at,
        worker_id="test-worker",
        policy=timers.TimerPolicy(),
        platform_id=platform.id,
    )


def later(clock, delta: timedelta) -> datetime:
    clock.advance(delta)
    return clock.now()
