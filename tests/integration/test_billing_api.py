"""The billing HTTP API on the real app: staff issue, customers read and download; bad input is a
422 naming the field and changes nothing; nobody sees another customer's or platform's invoice."""

from __future__ import annotations

import hashlib

import pytest
from accounts_helpers import auth, staff_token, url, user_session
from billing_helpers import BUSINESS, CONSUMER, billing_platform, embedded, xml_value

from entremise.billing import service as billing


@pytest.fixture
def bp(runtime):
    return billing_platform(runtime)


def staff(client, runtime, platform):
    return auth(staff_token(client, runtime, platform))


def a_customer(client, platform, profile=CONSUMER):
    user_id, _email, token = user_session(client, platform)
    r = client.put(url(platform, "/me/billing-profile"), json=profile, headers=auth(token))
    assert r.status_code == 200, r.text
    return user_id, auth(token)


def add_item(client, platform, headers, customer_id, **over):
    body = {
        "customer_id": customer_id,
        "description": "Trajet école",
        "unit_price": "15.00",
        "vat_rate": "20",
        "supply_date": "2026-11-10",
    }
    r = client.post(url(platform, "/billing/items"), json={**body, **over}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def issue(client, platform, headers, customer_id, item_ids, **over):
    return client.post(
        url(platform, "/billing/invoices"),
        json={"customer_id": customer_id, "item_ids": item_ids, **over},
        headers=headers,
    )


def errors(r) -> dict[str, str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


@pytest.mark.rule("LAW-INVOICE-1")
@pytest.mark.rule("LAW-EINVOICE-1")
def test_LAW_INVOICE_1_staff_issue_and_the_customer_downloads_the_same_bytes(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, me = a_customer(client, bp, BUSINESS)
    ids = [
        add_item(client, bp, s, cid),
        add_item(client, bp, s, cid, unit_price="8.00", vat_rate="5.5", quantity="2"),
    ]
    r = issue(client, bp, s, cid, ids)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["number"] == "FA-2026-000001" and inv["einvoice"] and inv["gross"] == 1800 + 1688
    assert [v["vat_rate"] for v in inv["vat_breakdown"]] == ["5.5", "20"]
    mine = client.get(url(bp, "/me/invoices"), headers=me).json()
    assert [i["number"] for i in mine["items"]] == ["FA-2026-000001"] and mine["next_cursor"] is None
    assert client.get(url(bp, f"/me/invoices/{inv['id']}"), headers=me).json()["gross"] == inv["gross"]
    first = client.get(url(bp, f"/me/invoices/{inv['id']}/pdf"), headers=me)
    second = client.get(url(bp, f"/billing/invoices/{inv['id']}/pdf"), headers=s)
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    assert 'filename="FA-2026-000001.pdf"' in first.headers["content-disposition"]
    assert first.content == second.content
    assert first.headers["x-content-sha256"] == hashlib.sha256(first.content).hexdigest()
    xml = client.get(url(bp, f"/me/invoices/{inv['id']}/xml"), headers=me)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.content == embedded(first.content)["factur-x.xml"][0]
    assert xml_value(
        xml.content, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount/text()"
    ) == ["34.88"]


def test_customers_page_through_their_invoices_and_credit_notes(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, me = a_customer(client, bp)
    numbers = []
    for _ in range(3):
        numbers.append(issue(client, bp, s, cid, [add_item(client, bp, s, cid)]).json()["number"])
    inv_id = client.get(url(bp, "/billing/invoices"), headers=s, params={"customer_id": cid}).json()["items"][
        0
    ]["id"]
    note = client.post(
        url(bp, f"/billing/invoices/{inv_id}/credit-notes"), json={"reason": "trajet annulé"}, headers=s
    )
    assert note.status_code == 201 and note.json()["number"] == "AV-2026-000001"
    page1 = client.get(url(bp, "/me/invoices"), params={"limit": 2}, headers=me).json()
    page2 = client.get(
        url(bp, "/me/invoices"), params={"limit": 2, "cursor": page1["next_cursor"]}, headers=me
    ).json()
    seen = [i["number"] for i in page1["items"] + page2["items"]]
    assert seen == [*numbers, "AV-2026-000001"] and page2["next_cursor"] is None
    notes = client.get(url(bp, "/me/invoices"), params={"kind": "credit_note"}, headers=me).json()["items"]
    assert [n["credited_invoice_id"] for n in notes] == [inv_id]
    assert (
        client.get(url(bp, f"/me/invoices/{inv_id}/xml"), headers=me).status_code == 404
    )  # consumer: no Factur-X


def test_nobody_reads_another_customers_or_another_platforms_invoice(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, _me = a_customer(client, bp)
    inv = issue(client, bp, s, cid, [add_item(client, bp, s, cid)]).json()
    _other_id, other = a_customer(client, bp)
    for path in (
        f"/me/invoices/{inv['id']}",
        f"/me/invoices/{inv['id']}/pdf",
        f"/me/invoices/{inv['id']}/xml",
    ):
        r = client.get(url(bp, path), headers=other)
        assert r.status_code == 404, (path, r.text)
    assert client.get(url(bp, "/me/invoices"), headers=other).json()["items"] == []
    assert client.get(url(bp, "/billing/invoices"), headers=other).status_code == 403
    assert client.post(url(bp, "/billing/items"), json={}, headers=other).status_code == 403
    elsewhere = billing_platform(runtime)
    s2 = staff(client, runtime, elsewhere)
    _id2, me2 = a_customer(client, elsewhere)
    assert client.get(url(elsewhere, f"/billing/invoices/{inv['id']}"), headers=s2).status_code == 404
    assert client.get(url(elsewhere, f"/billing/invoices/{inv['id']}/pdf"), headers=s2).status_code == 404
    assert client.get(url(elsewhere, f"/me/invoices/{inv['id']}"), headers=me2).status_code == 404
    assert (
        client.post(
            url(elsewhere, f"/billing/invoices/{inv['id']}/credit-notes"), json={"reason": "x"}, headers=s2
        ).status_code
        == 404
    )
    assert client.get(url(elsewhere, "/billing/invoices"), headers=s2).json()["items"] == []
    assert client.get(url(bp, "/me/invoices")).status_code == 401
    with runtime.sessions() as db, db.begin():
        assert billing.credited_total(db, invoice_id=inv["id"]) == 0


@pytest.mark.rule("LAW-VAT-1")
def test_LAW_VAT_1_bad_items_are_422_naming_each_field_and_nothing_is_recorded(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, _me = a_customer(client, bp)
    r = client.post(
        url(bp, "/billing/items"),
        json={
            "customer_id": "nobody",
            "description": "x",
            "quantity": "-2",
            "unit_price": "1.999",
            "vat_rate": "7",
            "supply_date": "2026-11-10",
        },
        headers=s,
    )
    assert errors(r) == {
        "body.quantity": "must not be negative",
        "body.unit_price": "at most 2 decimals",
        "body.vat_rate": "one of the VAT rates 20, 10, 5.5, 2.1, 0",
        "body.customer_id": "no such customer on this platform",
    }
    assert r.json()["rules"] == ["LAW-VAT-1"]
    floats = client.post(
        url(bp, "/billing/items"),
        json={
            "customer_id": cid,
            "description": "x",
            "unit_price": 12.5,
            "vat_rate": "20",
            "supply_date": "2026-11-10",
            "extra": 1,
        },
        headers=s,
    )
    assert {"body.unit_price", "body.extra"} <= set(errors(floats))
    assert client.get(url(bp, "/billing/items"), headers=s).json()["items"] == []


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_terms_over_the_limit_are_422_and_issue_nothing(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, _me = a_customer(client, bp, BUSINESS)
    i = add_item(client, bp, s, cid)
    r = issue(client, bp, s, cid, [i], payment_terms_days=61)
    assert "at most 60 days" in errors(r)["body.payment_terms_days"] and r.json()["rules"] == ["LAW-LATE-1"]
    assert (
        "at most 45 days"
        in errors(issue(client, bp, s, cid, [i], payment_terms_days=50, end_of_month=True))[
            "body.payment_terms_days"
        ]
    )
    assert client.get(url(bp, "/billing/invoices"), headers=s).json()["items"] == []
    assert (
        client.get(url(bp, "/billing/items"), params={"status": "open"}, headers=s).json()["items"][0]["id"]
        == i
    )


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_missing_seller_mentions_are_a_clear_refusal(client, runtime):
    bare = billing_platform(runtime, seller={})
    s = staff(client, runtime, bare)
    cid, _me = a_customer(client, bare)
    r = issue(client, bare, s, cid, [add_item(client, bare, s, cid)])
    missing = errors(r)
    assert missing["settings.billing.seller.siren"] == "required on an invoice"
    assert "settings.billing.seller.name" in missing and r.json()["rules"] == ["LAW-INVOICE-1"]
    assert "seller identity is incomplete" in r.json()["detail"]
    unknown = issue(client, bare, s, "nobody", ["x"])
    assert errors(unknown)["body.customer_id"] == "no such customer on this platform"


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_credit_notes_over_what_remains_are_409(client, runtime, bp):
    s = staff(client, runtime, bp)
    cid, _me = a_customer(client, bp)
    inv = issue(client, bp, s, cid, [add_item(client, bp, s, cid)]).json()  # 15.00 net
    path = url(bp, f"/billing/invoices/{inv['id']}/credit-notes")
    line = {"description": "Remise", "unit_price": "10.00", "vat_rate": "20"}
    assert client.post(path, json={"reason": "geste", "lines": [line]}, headers=s).status_code == 201
    over = client.post(path, json={"reason": "geste", "lines": [line]}, headers=s)
    assert over.status_code == 409 and over.json()["rules"] == ["LAW-INVOICE-1"]
    assert over.json()["remaining"] == [{"vat_rate": "20", "taxable": 500}]
    assert "body.lines.0" in errors(
        client.post(path, json={"reason": "x", "lines": [{**line, "unit_price": "-1"}]}, headers=s)
    )
    assert "body.reason" in errors(client.post(path, json={"reason": ""}, headers=s))
    rest = client.post(path, json={"reason": "solde"}, headers=s)
    assert rest.status_code == 201 and rest.json()["net"] == 500


def test_billing_profiles_and_mandates(client, runtime, bp):
    s = staff(client, runtime, bp)
    _cid, me = a_customer(client, bp)
    assert client.get(url(bp, "/me/billing-profile"), headers=me).json()["name"] == "Ada Martin"
    bad = client.put(
        url(bp, "/me/billing-profile"), json={**BUSINESS, "siren": None, "vat_number": "FR00"}, headers=me
    )
    assert set(errors(bad)) == {"body.siren", "body.vat_number"}
    assert client.get(url(bp, "/me/billing-profile"), headers=me).json()["kind"] == "consumer"
    assert (
        client.put(url(bp, "/billing/customers/nobody/profile"), json=CONSUMER, headers=s).status_code == 404
    )
    provider_id, _e, _t = user_session(client, bp, role="provider")
    mandate = {
        "code": "P7",
        "identity": {
            "name": "Julie Durand",
            "legal_form": "EI",
            "address_line1": "8 chemin Vert",
            "postcode": "44000",
            "city": "Nantes",
            "siren": "443061841",
            "siret": "44306184100047",
            "registration_exempt": True,
            "vat_franchise": True,
        },
        "mandate_reference": "MANDAT-7",
        "mandate_signed_on": "2026-10-01",
    }
    r = client.put(url(bp, f"/billing/sellers/{provider_id}"), json=mandate, headers=s)
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "P7" and r.json()["identity"]["siren"] == "443061841"
    broken = client.put(
        url(bp, f"/billing/sellers/{provider_id}"),
        json={**mandate, "code": "p-7", "identity": {"name": "x"}},
        headers=s,
    )
    assert {"body.code", "body.identity.siren"} <= set(errors(broken))
    assert client.put(url(bp, "/billing/sellers/nobody"), json=mandate, headers=s).status_code == 404
