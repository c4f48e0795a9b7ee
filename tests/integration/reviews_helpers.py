"""Helpers for review tests: a completed DJob through the real API, and `test-deal` transactions
reviewable under a policy registered in the real registry (facts kept in memory)."""

from __future__ import annotations

import uuid
from datetime import datetime

from accounts_helpers import auth, login, url, user_session
from money_helpers import fund

from entremise.kernel.decision import Decision
from entremise.platforms import service as platforms_service
from entremise.reviews.domain import Eligibility, PartyFacts, party_eligibility
from entremise.reviews.eligibility import register_policy

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
DEALS: dict[tuple[str, str], PartyFacts] = {}


def _deal_policy(db, platform, transaction_id: str, author_id: str, now: datetime) -> Decision[Eligibility]:
    return party_eligibility(
        DEALS.get((platform.id, transaction_id)),
        author_id=author_id,
        now=now,
        rule="CARPOOL-RATING-1",
        what="deal",
        window_days=30,
        providers_review_clients=True,
    )


register_policy("test-deal", _deal_policy)


def make_platform(runtime, settings: dict | None = None):  # type: ignore[no-untyped-def]
    """A fresh platform (as `tests/conftest.make_platform`, which `tests/integration/conftest.py` now
    shadows when the integration tests run on their own)."""
    slug = f"r-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms_service.create_platform(
            db, slug=slug, name=slug, now=runtime.clock.now(), settings=settings
        )


def deal(
    platform, client_id: str, provider_id: str, completed_at: datetime | None, offer_id: str | None = None
) -> str:
    deal_id = str(uuid.uuid4())
    DEALS[(platform.id, deal_id)] = PartyFacts(
        client_id=client_id,
        provider_id=provider_id,
        state="completed" if completed_at else "open",
        completed=completed_at is not None,
        completed_at=completed_at,
        offer_id=offer_id,
    )
    return deal_id


def completed_djob(client, runtime, platform):  # type: ignore[no-untyped-def]
    """A provider, a client and a DJob ordered: (provider_id, provider, client_id, buyer, order, buyer_email)."""
    provider_id, _, provider = user_session(client, platform, role="provider")
    client_id, buyer_email, buyer = user_session(client, platform)
    fund(runtime, platform, client_id, 10_000)
    r = client.post(
        url(platform, "/djob-offers"),
        json={
            "title": "Logo",
            "description": "Trois propositions vectorielles.",
            "price": 3000,
            "delivery_days": 5,
        },
        headers=auth(provider),
    )
    assert r.status_code == 201, r.text
    offer = r.json()
    r = client.post(
        url(platform, "/orders"),
        json={"offer_id": offer["id"], "quantity": 1, "brief": "Un logo pour une boulangerie."},
        headers=auth(buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    return provider_id, provider, client_id, buyer, order, buyer_email


def finish_djob(client, platform, provider, buyer, order_id):  # type: ignore[no-untyped-def]
    def step(token, what, body=None):  # type: ignore[no-untyped-def]
        r = client.post(url(platform, f"/orders/{order_id}/{what}"), json=body or {}, headers=auth(token))
        assert r.status_code == 200, r.text
        return r.json()

    step(provider, "acceptance")
    r = client.post(
        url(platform, "/files"),
        data={"purpose": "order_delivery"},
        files={"file": ("logo.png", PNG, "application/octet-stream")},
        headers=auth(provider),
    )
    assert r.status_code == 201, r.text
    step(provider, "deliveries", {"file_ids": [r.json()["id"]]})
    done = step(buyer, "delivery-acceptance")
    assert done["state"] == "completed"
    return done


WEEKDAYS_9_TO_12 = {d: [{"start": "09:00", "end": "12:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}


def booked_appointment(client, runtime, starts_at):  # type: ignore[no-untyped-def]
    """A platform with fees, a provider's published week, a funded client and a booked appointment
    (as in `scheduling_helpers`): (platform, provider_id, provider, client_id, buyer, appointment, buyer_email, provider_email)."""
    platform = make_platform(runtime, {"scheduling": {"fee_per_minute": 30, "fee_per_package": 1000}})
    provider_id, provider_email, provider = user_session(
        client, platform, role="provider", first_name="Zoé", last_name="Durand"
    )
    r = client.put(
        url(platform, "/scheduling/me"),
        json={"weekly": WEEKDAYS_9_TO_12, "per_minute_rate": 150, "packages": [], "min_notice_minutes": 60},
        headers=auth(provider),
    )
    assert r.status_code == 200, r.text
    client_id, buyer_email, buyer = user_session(client, platform)
    fund(runtime, platform, client_id, 10_000)
    r = client.post(
        url(platform, "/appointments"),
        json={
            "provider_id": provider_id,
            "starts_at": starts_at.isoformat(),
            "offer": {"kind": "per_minute", "minutes": 30},
            "withdrawal_waiver": {
                "accepted": True,
                "text": "Je demande que la consultation ait lieu avant la fin du délai de rétractation et renonce à ce droit.",
            },
        },
        headers=auth(buyer),
    )
    assert r.status_code == 201, r.text
    return platform, provider_id, provider, client_id, buyer, r.json(), buyer_email, provider_email


def fresh_token(client, platform, identifier: str) -> str:  # type: ignore[no-untyped-def]
    """A new session after the clock moved past the old one's lifetime."""
    r = login(client, platform, identifier)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])
