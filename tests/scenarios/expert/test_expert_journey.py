"""An expert platform end to end through the HTTP app: an expert signs up with the required fields
and attestations, gets personal links and publishes a week; a client signs up through the
consultation link and lands on the expert's page, is funded, books, cancels late and pays the
EXPERT-CANCEL-1 fee with the pack's figures; bad bookings are refused; a technology claim is
filed within 7 days and a later one is refused."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))

from accounts_helpers import url
from money_helpers import balance, fund
from packs_helpers import EXPERT_PROVIDER, pack_platform, session, sign_up

from entremise.ledger.domain import AccountType

PARIS = ZoneInfo("Europe/Paris")
WEEK = {d: [{"start": "09:00", "end": "12:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
WAIVER = {
    "accepted": True,
    "text": "Je demande que la consultation ait lieu avant la fin du délai de rétractation et renonce à ce droit.",
}


def test_expert_journey_EXPERT_SIGNUP_1_2_LINK_1_CANCEL_1_PRICE_2_CLAIM_2(client, runtime, clock):
    platform = pack_platform(runtime, "expert")
    provider_id, expert = session(client, platform, "provider", **EXPERT_PROVIDER)
    r = client.get(url(platform, "/growth/me/links"), headers=expert)
    assert r.status_code == 200, r.text
    links = r.json()
    assert "/consultation/zoe-durand" in links["consultation_url"]
    assert "/inscription/zoe-durand" in links["signup_url"]
    r = client.put(
        url(platform, "/scheduling/me"),
        json={
            "weekly": WEEK,
            "per_minute_rate": 150,
            "packages": [{"minutes": 15, "price": 7500}],
            "min_notice_minutes": 60,
        },
        headers=expert,
    )
    assert r.status_code == 200, r.text

    # the client signs up through the consultation link and lands on the expert's page
    r = sign_up(
        client,
        platform,
        first_name="Inès",
        last_name="Moreau",
        via={"kind": "consultation", "slug": links["slug"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["landing"]["provider_id"] == provider_id
    client_id, buyer = session(client, platform, first_name="Hugo", last_name="Petit")
    fund(runtime, platform, client_id, 10_000)  # the card pre-authorisation (payments module pending)

    # the clock starts Monday 23 November 2026, 10:00 in Paris: Wednesday 9:00 is under 48 hours away
    wednesday = datetime(2026, 11, 25, 9, tzinfo=PARIS)
    body = {"provider_id": provider_id, "starts_at": wednesday.isoformat(), "withdrawal_waiver": WAIVER}
    too_long = client.post(
        url(platform, "/appointments"),
        json={**body, "offer": {"kind": "per_minute", "minutes": 91}},
        headers=buyer,
    )
    assert too_long.status_code == 422, too_long.text  # EXPERT-PRICE-2: 5 to 90 minutes
    past = client.post(
        url(platform, "/appointments"),
        json={
            **body,
            "starts_at": (clock.now() - timedelta(days=1)).isoformat(),
            "offer": {"kind": "per_minute", "minutes": 30},
        },
        headers=buyer,
    )
    assert past.status_code == 422, past.text
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 10_000)
    r = client.post(
        url(platform, "/appointments"),
        json={**body, "offer": {"kind": "per_minute", "minutes": 30}},
        headers=buyer,
    )
    assert r.status_code == 201, r.text
    appointment = r.json()
    taken = client.post(
        url(platform, "/appointments"),
        json={**body, "offer": {"kind": "per_minute", "minutes": 30}},
        headers=buyer,
    )
    assert taken.status_code in (409, 422), taken.text

    # cancelling under 48 hours: 10 minutes at 1.50 € and 10 minutes of the pack's 0.10 € fee
    r = client.post(url(platform, f"/appointments/{appointment['id']}/cancellation"), json={}, headers=buyer)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["charged"] == {"amount": 1500, "currency": "EUR"}
    assert out["outcome"]["platform_part"] == 100 and out["outcome"]["rules"] == ["EXPERT-CANCEL-1"]
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[0] == 8_500
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, provider_id)[0] == 1_400

    # a claim about the platform's technology within 7 days; none past 7 days (EXPERT-CLAIM-2)
    occurred = clock.now() - timedelta(days=1)
    r = client.post(
        url(platform, "/claims"),
        json={
            "kind": "technology",
            "comment": "la vidéo ne démarre pas",
            "occurred_at": occurred.isoformat(),
        },
        headers=buyer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["respondent"] == "platform"
    r = client.post(
        url(platform, "/claims"),
        json={
            "kind": "technology",
            "comment": "le son coupe",
            "occurred_at": (clock.now() - timedelta(days=10)).isoformat(),
        },
        headers=buyer,
    )
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-CLAIM-2"], r.text
