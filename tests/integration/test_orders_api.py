"""Digital jobs (DJobs, CONSULT-DJOB-1) over HTTP, with real files, ledger holds and timers: a
cart with a brief and files paid from credit, acceptance or refusal, delivery through the
platform, revisions within a limit, acceptance paying the provider minus the commission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_helpers import auth, staff_token, url, user_session
from money_helpers import balance, fund
from scheduling_helpers import run_timers
from sqlalchemy import select

from conftest import make_platform
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.orders.models import DJobOrder

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
BRIEF = "Un logo pour une boulangerie de quartier : deux couleurs, lisible en petit."


@pytest.fixture
def oplatform(runtime):
    return make_platform(runtime, settings={"orders": {"commission_percent": "25", "max_revisions": 1}})


def upload(client, platform, token, data, purpose, name="f.pdf"):
    return client.post(
        url(platform, "/files"),
        data={"purpose": purpose},
        files={"file": (name, data, "application/octet-stream")},
        headers=auth(token),
    )


def offer(client, platform, token, price=4000, delivery_days=5):
    r = client.post(
        url(platform, "/djob-offers"),
        json={
            "title": "Logo sur mesure",
            "description": "Trois propositions, un format vectoriel.",
            "price": price,
            "delivery_days": delivery_days,
        },
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    return r.json()


def order(client, platform, token, offer_id, **body):
    body = {"offer_id": offer_id, "quantity": 2, "brief": BRIEF, **body}
    return client.post(url(platform, "/orders"), json=body, headers=auth(token))


def step(client, platform, token, order_id, what, body=None):
    return client.post(url(platform, f"/orders/{order_id}/{what}"), json=body or {}, headers=auth(token))


@pytest.fixture
def setup(client, runtime, oplatform):
    provider_id, _, provider = user_session(client, oplatform, role="provider")
    client_id, _, buyer = user_session(client, oplatform)
    fund(runtime, oplatform, client_id, 10_000)
    return provider_id, provider, client_id, buyer, offer(client, oplatform, provider)


def test_CONSULT_DJOB_1_a_cart_is_ordered_delivered_revised_accepted_and_paid_in_one_transaction(
    client, runtime, oplatform, setup
):
    provider_id, provider, client_id, buyer, off = setup
    brief_file = upload(client, oplatform, buyer, PDF, "order_brief", "cahier.pdf").json()["id"]
    r = order(client, oplatform, buyer, off["id"], file_ids=[brief_file], expected_total=8000)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["state"] == "placed" and o["total"]["amount"] == 8000 and o["commission"] is None
    assert o["terms"]["client_keeps_rights"] is True and o["terms"]["rules"] == ["CONSULT-DJOB-1"]
    assert "rights" in o["terms"]["rights_clause"]
    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 2_000)
    # the provider reads the brief and its file; nobody else does
    seen = client.get(url(oplatform, f"/orders/{o['id']}"), headers=auth(provider)).json()
    assert seen["brief"] == BRIEF and seen["commission"]["amount"] == 2000
    assert client.get(url(oplatform, f"/files/{brief_file}/content"), headers=auth(provider)).content == PDF

    assert step(client, oplatform, provider, o["id"], "acceptance").json()["state"] == "in_progress"
    first = upload(client, oplatform, provider, PNG, "order_delivery", "logo-v1.png").json()["id"]
    assert client.get(url(oplatform, f"/files/{first}"), headers=auth(buyer)).status_code == 404
    r = step(
        client,
        oplatform,
        provider,
        o["id"],
        "deliveries",
        {"file_ids": [first], "message": "Première version."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "delivered" and r.json()["auto_accept_at"] is not None
    assert client.get(url(oplatform, f"/files/{first}/content"), headers=auth(buyer)).content == PNG

    r = step(client, oplatform, buyer, o["id"], "revisions", {"note": "Le bleu plus foncé, s'il vous plaît."})
    assert r.status_code == 200 and r.json()["state"] == "revision_requested" and r.json()["revisions"] == 1
    second = upload(client, oplatform, provider, PNG + b"v2", "order_delivery", "logo-v2.png").json()["id"]
    step(client, oplatform, provider, o["id"], "deliveries", {"file_ids": [second]})
    r = step(client, oplatform, buyer, o["id"], "delivery-acceptance")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "completed"
    assert [d["answer"] for d in done["deliveries"]] == ["revision", "accepted"]

    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id) == (2_000, 2_000)
    assert balance(runtime, oplatform, AccountType.PROVIDER_WALLET, provider_id)[0] == 6_000
    assert balance(runtime, oplatform, AccountType.PLATFORM_REVENUE)[0] == 2_000
    with runtime.sessions() as db, db.begin():
        paid = [
            t
            for t in ledger.transactions_for(db, platform_id=oplatform.id, cause=("djob_order", o["id"]))
            if t.code == "djob.paid"
        ]
    assert len(paid) == 1 and paid[0].rules == ("CONSULT-DJOB-1",)
    assert sorted(t.amount.amount for t in paid[0].transfers) == [2000, 6000]

    # a second acceptance changes nothing
    r = step(client, oplatform, buyer, o["id"], "delivery-acceptance")
    assert r.status_code == 409 and r.json()["state"] == "completed"
    assert balance(runtime, oplatform, AccountType.PROVIDER_WALLET, provider_id)[0] == 6_000


def test_CONSULT_DJOB_1_a_revision_past_the_limit_is_refused(client, runtime, oplatform, setup):
    _, provider, _, buyer, off = setup
    o = order(client, oplatform, buyer, off["id"]).json()
    step(client, oplatform, provider, o["id"], "acceptance")
    for n in range(2):
        f = upload(client, oplatform, provider, PNG + bytes([n]), "order_delivery", "v.png").json()["id"]
        assert step(client, oplatform, provider, o["id"], "deliveries", {"file_ids": [f]}).status_code == 200
        r = step(client, oplatform, buyer, o["id"], "revisions", {"note": "Encore une retouche."})
        if n == 0:
            assert r.status_code == 200
    assert r.status_code == 409, r.text
    assert r.json()["rules"] == ["CONSULT-DJOB-1"] and "revision" in r.json()["detail"]
    assert (
        client.get(url(oplatform, f"/orders/{o['id']}"), headers=auth(buyer)).json()["state"] == "delivered"
    )


def test_CONSULT_DJOB_1_declining_expiring_and_cancelling_release_the_hold(
    client, runtime, oplatform, setup, clock
):
    _, provider, client_id, buyer, off = setup
    declined = order(client, oplatform, buyer, off["id"], quantity=1).json()
    assert step(client, oplatform, provider, declined["id"], "refusal").json()["state"] == "declined"
    cancelled = order(client, oplatform, buyer, off["id"], quantity=1).json()
    assert step(client, oplatform, buyer, cancelled["id"], "cancellation").json()["state"] == "cancelled"
    expiring = order(client, oplatform, buyer, off["id"], quantity=1).json()
    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id)[1] == 6_000
    clock.advance(timedelta(hours=72))
    run_timers(runtime, clock.now(), oplatform)
    assert (
        client.get(url(oplatform, f"/orders/{expiring['id']}"), headers=auth(buyer)).json()["state"]
        == "expired"
    )
    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 10_000)


def test_CONSULT_DJOB_1_a_delivery_left_unanswered_is_accepted_and_paid(
    client, runtime, oplatform, setup, clock
):
    provider_id, provider, _, buyer, off = setup
    o = order(client, oplatform, buyer, off["id"], quantity=1).json()
    step(client, oplatform, provider, o["id"], "acceptance")
    f = upload(client, oplatform, provider, PDF, "order_delivery").json()["id"]
    step(client, oplatform, provider, o["id"], "deliveries", {"file_ids": [f]})
    clock.advance(timedelta(days=7))
    run_timers(runtime, clock.now(), oplatform)
    seen = client.get(url(oplatform, f"/orders/{o['id']}"), headers=auth(buyer)).json()
    assert seen["state"] == "completed" and seen["deliveries"][0]["answer"] == "auto_accepted"
    assert balance(runtime, oplatform, AccountType.PROVIDER_WALLET, provider_id)[0] == 3_000


def test_CONSULT_DJOB_1_a_late_job_can_be_cancelled_only_after_its_delivery_date(
    client, runtime, oplatform, setup, clock
):
    _, provider, client_id, buyer, off = setup
    o = order(client, oplatform, buyer, off["id"], quantity=1).json()
    step(client, oplatform, provider, o["id"], "acceptance")
    r = step(client, oplatform, buyer, o["id"], "cancellation")
    assert r.status_code == 409 and r.json()["rules"] == ["CONSULT-DJOB-1"]
    clock.advance(timedelta(days=5, minutes=1))
    assert step(client, oplatform, buyer, o["id"], "cancellation").json()["state"] == "cancelled"
    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 10_000)


def test_CONSULT_DJOB_1_bad_carts_are_refused_and_nothing_is_held(client, runtime, oplatform, setup):
    _provider_id, provider, client_id, buyer, off = setup
    r = order(client, oplatform, buyer, off["id"], brief="x" * 5001)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.brief"
    assert "at most 5000 characters" in r.json()["errors"][0]["reason"]
    r = order(client, oplatform, buyer, off["id"], brief="   ")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.brief"
    r = upload(client, oplatform, buyer, EXE, "order_brief", "cahier.exe")
    assert r.status_code == 422 and "not accepted here" in r.json()["errors"][0]["reason"]
    theirs = upload(client, oplatform, provider, PDF, "order_delivery").json()["id"]
    r = order(client, oplatform, buyer, off["id"], file_ids=[theirs])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file_ids.0"
    r = order(client, oplatform, buyer, off["id"], quantity=11)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.quantity"
    r = order(client, oplatform, buyer, off["id"], expected_total=4000)
    assert r.status_code == 409 and r.json()["total"] == 8000
    r = order(client, oplatform, buyer, off["id"], quantity=3)  # 120 € on 100 € of credit
    assert r.status_code == 409 and "missing" in r.json()
    assert order(client, oplatform, buyer, "0" * 36).status_code == 404
    assert order(client, oplatform, provider, off["id"]).status_code == 403
    assert order(client, oplatform, buyer, off["id"], price=1).status_code == 422
    with runtime.sessions() as db, db.begin():
        assert db.scalars(select(DJobOrder).where(DJobOrder.platform_id == oplatform.id)).all() == []
    assert balance(runtime, oplatform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 10_000)


def test_offers_are_validated_and_only_providers_publish(client, runtime, oplatform, setup):
    provider_id, provider, _, buyer, off = setup
    r = client.post(
        url(oplatform, "/djob-offers"),
        json={"title": "x" * 200, "description": "d", "price": 100, "delivery_days": 400},
        headers=auth(provider),
    )
    assert r.status_code == 422
    r = client.post(
        url(oplatform, "/djob-offers"),
        json={"title": "x" * 200, "description": "d", "price": 100, "delivery_days": 100},
        headers=auth(provider),
    )
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {
        "body.title",
        "body.delivery_days",
    }
    r = client.post(
        url(oplatform, "/djob-offers"),
        json={"title": "Logo", "description": "d", "price": 100, "delivery_days": 3},
        headers=auth(buyer),
    )
    assert r.status_code == 403
    listed = client.get(url(oplatform, f"/djob-offers?provider_id={provider_id}")).json()["items"]
    assert [o["id"] for o in listed] == [off["id"]]
    r = client.put(
        url(oplatform, f"/djob-offers/{off['id']}"),
        json={
            **{k: off[k] for k in ("title", "description", "delivery_days")},
            "price": 5000,
            "active": False,
        },
        headers=auth(provider),
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get(url(oplatform, f"/djob-offers/{off['id']}")).status_code == 404
    assert order(client, oplatform, buyer, off["id"]).status_code == 404
    r = client.put(
        url(oplatform, f"/djob-offers/{off['id']}"),
        json={**{k: off[k] for k in ("title", "description", "delivery_days")}, "price": 5000},
        headers=auth(buyer),
    )
    assert r.status_code == 404


def test_strangers_other_platforms_and_the_wrong_side_cannot_touch_an_order(
    client, runtime, oplatform, setup
):
    _, provider, _, buyer, off = setup
    o = order(client, oplatform, buyer, off["id"], quantity=1).json()
    _, _, stranger = user_session(client, oplatform, role="provider")
    assert client.get(url(oplatform, f"/orders/{o['id']}"), headers=auth(stranger)).status_code == 404
    assert step(client, oplatform, stranger, o["id"], "acceptance").status_code == 404
    assert client.get(url(oplatform, "/orders"), headers=auth(stranger)).json()["items"] == []
    assert step(client, oplatform, buyer, o["id"], "acceptance").status_code == 403  # the client's own order
    other = make_platform(runtime)
    _, _, foreign = user_session(client, other)
    assert client.get(url(other, f"/orders/{o['id']}"), headers=auth(foreign)).status_code == 404
    step(client, oplatform, provider, o["id"], "acceptance")
    r = step(client, oplatform, provider, o["id"], "deliveries", {"file_ids": []})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file_ids"
    brief = upload(client, oplatform, buyer, PDF, "order_brief").json()["id"]
    r = step(client, oplatform, provider, o["id"], "deliveries", {"file_ids": [brief]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file_ids.0"
    staff = staff_token(client, runtime, oplatform)
    assert (
        client.get(url(oplatform, f"/orders/{o['id']}"), headers=auth(staff)).json()["state"] == "in_progress"
    )


def test_CONSULT_DJOB_1_the_commission_agreed_with_a_provider_applies(client, runtime):
    platform = make_platform(runtime)
    provider_id, _, provider = user_session(client, platform, role="provider")
    with runtime.sessions() as db, db.begin():
        from entremise.platforms.models import Platform

        row = db.get(Platform, platform.id)
        row.settings = {
            **row.settings,
            "orders": {**row.settings["orders"], "commission_percent_by_provider": {provider_id: "12.5"}},
        }
    client_id, _, buyer = user_session(client, platform)
    fund(runtime, platform, client_id, 10_000)
    off = offer(client, platform, provider, price=1000)
    o = order(client, platform, buyer, off["id"], quantity=1).json()
    assert (
        client.get(url(platform, f"/orders/{o['id']}"), headers=auth(provider)).json()["commission"]["amount"]
        == 125
    )
    assert o["terms"]["commission_percent"] == "12.5"
