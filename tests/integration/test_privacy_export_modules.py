"""The privacy export (COMMON-PRIVACY-1) of the modules older than the privacy registry: files,
scheduling, orders, growth, claims and billing each add a section holding the user's own rows on the
platform, the other party by display name only, and nothing of another user or platform."""

from __future__ import annotations

import json

from accounts_helpers import auth, register, url, user_session
from billing_helpers import CONSUMER, billing_platform, customer, invoice, item
from claims_helpers import file as file_claim
from claims_helpers import make_subject, person, settings_with
from money_helpers import fund
from scheduling_helpers import book, fee_platform, funded_client, paris
from scheduling_helpers import provider as scheduling_provider

from conftest import make_platform
from entremise.growth import service as growth
from entremise.kernel.money import Money
from entremise.privacy.registry import EXPORTERS, load_module_hooks

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
BRIEF = "Un logo pour une boulangerie : deux couleurs, lisible en petit."


def export(client, platform, token) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(url(platform, "/me/export"), headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()["sections"]


def test_COMMON_PRIVACY_1_every_older_module_has_an_exporter():
    load_module_hooks()
    assert set(EXPORTERS) >= {"files", "scheduling", "orders", "growth", "claims", "billing", "payouts"}


def _upload(client, platform, token, data, purpose, name):  # type: ignore[no-untyped-def]
    r = client.post(
        url(platform, "/files"),
        data={"purpose": purpose},
        files={"file": (name, data, "application/octet-stream")},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _djob(client, runtime, platform):  # type: ignore[no-untyped-def]
    """A provider's offer, a client's order with a brief file, accepted and delivered with a file."""
    provider_id, _, provider = user_session(client, platform, role="provider", first_name="Zoé")
    client_id, _, buyer = user_session(client, platform, first_name="Léa")
    fund(runtime, platform, client_id, 10_000)
    r = client.post(
        url(platform, "/djob-offers"),
        json={"title": "Logo sur mesure", "description": "Trois pistes.", "price": 4000, "delivery_days": 5},
        headers=auth(provider),
    )
    assert r.status_code == 201, r.text
    offer = r.json()
    brief_file = _upload(client, platform, buyer, PDF, "order_brief", "cahier.pdf")
    r = client.post(
        url(platform, "/orders"),
        json={"offer_id": offer["id"], "quantity": 1, "brief": BRIEF, "file_ids": [brief_file]},
        headers=auth(buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    r = client.post(url(platform, f"/orders/{order['id']}/acceptance"), json={}, headers=auth(provider))
    assert r.status_code == 200, r.text
    delivered = _upload(client, platform, provider, PNG, "order_delivery", "logo.png")
    r = client.post(
        url(platform, f"/orders/{order['id']}/deliveries"),
        json={"file_ids": [delivered], "message": "Première version."},
        headers=auth(provider),
    )
    assert r.status_code == 200, r.text
    return {
        "provider_id": provider_id,
        "provider": provider,
        "client_id": client_id,
        "buyer": buyer,
        "offer": offer["id"],
        "order": order["id"],
        "brief_file": brief_file,
        "delivered_file": delivered,
    }


def test_COMMON_PRIVACY_1_files_and_orders_sections_hold_my_own_rows_only(client, runtime):
    platform = make_platform(runtime, settings={"orders": {"commission_percent": "25"}})
    mine = _djob(client, runtime, platform)
    theirs = _djob(client, runtime, platform)
    elsewhere = _djob(
        client, runtime, make_platform(runtime, settings={"orders": {"commission_percent": "25"}})
    )

    as_client = export(client, platform, mine["buyer"])
    files = as_client["files"]
    assert [f["id"] for f in files["uploaded"]] == [mine["brief_file"]]
    [meta] = files["uploaded"]
    assert meta["name"] == "cahier.pdf" and meta["purpose"] == "order_brief" and meta["size"] == len(PDF)
    assert "content" not in meta and set(meta) == {
        "id", "purpose", "name", "content_type", "size", "sha256", "created_at"
    }  # fmt: skip
    [order] = as_client["orders"]["orders"]
    assert order["id"] == mine["order"] and order["as"] == "client" and order["other_party"] == "Zoé"
    assert order["brief"] == BRIEF and order["brief_file_ids"] == [mine["brief_file"]]
    assert [d["message"] for d in order["deliveries"]] == ["Première version."]
    assert as_client["orders"]["offers"] == []

    as_provider = export(client, platform, mine["provider"])
    assert [f["id"] for f in as_provider["files"]["uploaded"]] == [mine["delivered_file"]]
    assert mine["brief_file"] in [g["file_id"] for g in as_provider["files"]["granted"]]
    assert [o["id"] for o in as_provider["orders"]["offers"]] == [mine["offer"]]
    [order] = as_provider["orders"]["orders"]
    assert order["as"] == "provider" and order["other_party"] == "Léa"

    ours = [as_client["files"], as_client["orders"], as_provider["files"], as_provider["orders"]]
    text = json.dumps(ours)
    for other in (theirs, elsewhere):
        for key in ("order", "offer", "brief_file", "delivered_file", "client_id", "provider_id"):
            assert other[key] not in text
    r = client.get(url(platform, "/me/export?format=html"), headers=auth(mine["buyer"]))
    assert r.status_code == 200 and "cahier.pdf" in r.text and "Première version." in r.text
    assert mine["client_id"] not in json.dumps(ours[2:])  # the client shows by display name only


def test_COMMON_PRIVACY_1_scheduling_section_holds_my_schedule_and_appointments(client, runtime):
    platform = fee_platform(runtime)
    provider_id, provider = scheduling_provider(client, platform)
    client_id, buyer = funded_client(client, runtime, platform)
    r = book(
        client, platform, buyer, provider_id, paris(2026, 11, 25, 9, 0), mode="phone", phone="0611223344"
    )
    assert r.status_code == 201, r.text
    appointment = r.json()["id"]
    stranger_id, stranger = funded_client(client, runtime, platform)
    r = book(client, platform, stranger, provider_id, paris(2026, 11, 26, 9, 0))
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    other = fee_platform(runtime)
    other_provider, _ = scheduling_provider(client, other)
    _, other_buyer = funded_client(client, runtime, other)
    r = book(client, other, other_buyer, other_provider, paris(2026, 11, 25, 9, 0))
    assert r.status_code == 201, r.text

    mine = export(client, platform, buyer)["scheduling"]
    assert mine["schedule"] is None and mine["overrides"] == []
    [a] = mine["appointments"]
    assert a["id"] == appointment and a["as"] == "client" and a["other_party"] == "Zoé"
    assert a["mode"] == "phone" and a["phone"] == "+33611223344" and a["minutes"] == 30
    assert theirs not in json.dumps(mine) and r.json()["id"] not in json.dumps(mine)

    pro = export(client, platform, provider)["scheduling"]
    assert pro["schedule"]["per_minute_rate"] == 150 and pro["schedule"]["packages"][0]["price"] == 7500
    assert [x["id"] for x in pro["appointments"]] == [appointment, theirs]
    assert all(x["as"] == "provider" and x["phone"] is None for x in pro["appointments"])
    text = json.dumps(pro)
    assert "611223344" not in text and client_id not in text and stranger_id not in text


def test_COMMON_PRIVACY_1_growth_section_holds_my_links_attribution_and_commissions(
    client, runtime, platform
):
    _, _, referrer = user_session(client, platform, role="provider", first_name="Ana", last_name="Lima")
    slug = client.get(url(platform, "/growth/me/links"), headers=auth(referrer)).json()["slug"]
    r = register(
        client,
        platform,
        role="provider",
        first_name="Bea",
        last_name="Costa",
        via={"kind": "inscription", "slug": slug},
    )
    assert r.status_code == 201, r.text
    referee_id = r.json()["id"]
    with runtime.sessions() as db, db.begin():
        growth.consultation_settled(
            db,
            platform_id=platform.id,
            consultation_id="consultation-1",
            provider_id=referee_id,
            price=Money(4500),
            platform_fee=Money(900),
            now=runtime.clock.now(),
        )
    _, _, stranger = user_session(client, platform, role="provider", first_name="Cy", last_name="Roy")

    mine = export(client, platform, referrer)["growth"]
    assert [k["slug"] for k in mine["links"]] == [slug]
    assert [(a["as"], a["other_party"], a["kind"]) for a in mine["attributions"]] == [
        ("referrer", "Bea", "inscription")
    ]
    [c] = mine["commissions"]
    assert c["consultation_id"] == "consultation-1" and c["amount"] == 90 and c["referee"] == "Bea"
    assert referee_id not in json.dumps(mine)

    theirs = export(client, platform, stranger)["growth"]
    assert theirs["attributions"] == [] and theirs["commissions"] == [] and slug not in json.dumps(theirs)


EXPERT = settings_with(("test_consultation", {"preset": "expert-consultation"}))


def test_COMMON_PRIVACY_1_claims_section_holds_my_claims_without_the_other_partys_contact(
    client, runtime, clock
):
    from datetime import timedelta

    platform = make_platform(runtime, EXPERT, prefix="expert")
    alice, bob, carol = (
        person(client, platform),
        person(client, platform, "provider"),
        person(client, platform),
    )
    ended = clock.now() - timedelta(days=2)
    subject = make_subject(runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=ended)
    r = file_claim(
        client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="la ligne a coupé"
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    other = make_subject(runtime, platform, client_id=carol.id, provider_id=bob.id, ended_at=ended)
    r = file_claim(
        client, platform, carol, kind="test_consultation", subject_id=other.id, comment="secret de Carol"
    )
    assert r.status_code == 201, r.text
    carols = r.json()
    elsewhere = make_platform(runtime, EXPERT, prefix="expert")
    dave, eve = person(client, elsewhere), person(client, elsewhere, "provider")
    s = make_subject(runtime, elsewhere, client_id=dave.id, provider_id=eve.id, ended_at=ended)
    r = file_claim(client, elsewhere, dave, kind="test_consultation", subject_id=s.id, comment="ailleurs")
    assert r.status_code == 201, r.text

    r = client.post(
        url(platform, f"/claims/{claim['id']}/evidence"),
        json={"items": [{"text": "capture de l'appel coupé"}]},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        url(platform, f"/claims/{claim['id']}/answer"),
        json={"decision": "refused", "reasons": "la séance a duré 20 minutes"},
        headers=bob.headers,
    )
    assert r.status_code == 200, r.text

    mine = export(client, platform, alice.token)["claims"]
    assert [e["text"] for e in mine["evidence"]] == ["capture de l'appel coupé"]
    assert [(a["as"], a["reasons"]) for a in mine["answers"]] == [("claimant", "la séance a duré 20 minutes")]
    [c] = mine["claims"]
    assert c["id"] == claim["id"] and c["as"] == "claimant" and c["comment"] == "la ligne a coupé"
    text = json.dumps(mine)
    assert carols["id"] not in text and "secret de Carol" not in text and "ailleurs" not in text

    respondent = export(client, platform, bob.token)["claims"]
    assert sorted(c["id"] for c in respondent["claims"]) == sorted([claim["id"], carols["id"]])
    assert all(c["as"] == "respondent" and "contact" not in c for c in respondent["claims"])
    assert respondent["evidence"] == [] and [a["as"] for a in respondent["answers"]] == ["author"]
    assert alice.email not in json.dumps(respondent) and alice.id not in json.dumps(respondent)


def test_COMMON_PRIVACY_1_billing_section_holds_my_profile_and_invoices_not_the_documents(client, runtime):
    platform = billing_platform(runtime)
    ada, _, token = user_session(client, platform, first_name="Ada")
    r = client.put(url(platform, "/me/billing-profile"), json=CONSUMER, headers=auth(token))
    assert r.status_code == 200, r.text
    mine = invoice(runtime, platform, ada, [item(runtime, platform, ada)])
    pending = item(runtime, platform, ada, description="Trajet piscine")
    bob = customer(runtime, platform, {**CONSUMER, "name": "Bob Roux"})
    theirs = invoice(runtime, platform, bob, [item(runtime, platform, bob)])
    other = billing_platform(runtime)
    carl = customer(runtime, other, CONSUMER)
    elsewhere = invoice(runtime, other, carl, [item(runtime, other, carl)])
    data = export(client, platform, token)["billing"]
    assert data["profile"]["name"] == "Ada Martin" and data["profile"]["city"] == "Strasbourg"
    assert data["seller"] is None
    [inv] = data["invoices"]
    assert inv["id"] == mine.id and inv["as"] == "customer" and inv["number"] == mine.number
    assert "content" not in inv and "pdf" not in json.dumps(inv).lower()
    assert [i["id"] for i in data["pending_items"]] == [pending]
    text = json.dumps(data)
    assert theirs.id not in text and "Bob Roux" not in text and elsewhere.id not in text
