"""Pre-authorisations, refunds, SEPA mandates and debits, through the HTTP app and the webhook job."""

from __future__ import annotations

from accounts_helpers import url
from payments_helpers import RETURN_URL, Payer, advance, clearing, deliver, key, platform_with, staff_headers

from entremise.payments import testdata


def _paid(runtime, platform, client, cents=5000, card=testdata.CARD_SUCCEEDS):
    payer = Payer(client, platform)
    p = payer.pay(card, cents).json()
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["status"] == "succeeded"
    return payer, p


def _refund(client, platform, staff, payment_id, cents, reason="goodwill", headers=None, **extra):
    return client.post(
        url(platform, f"/payments/{payment_id}/refunds"),
        json={"amount": cents, "reason": reason, "rules": ["CONSULT-CHARGEBACK-1"], **extra},
        headers={**staff, **(headers or key())},
    )


# --- pre-authorisations --------------------------------------------------------------------------


def test_preauth_partial_capture_posts_only_the_captured_amount(runtime, platform, client):
    payer = Payer(client, platform)
    staff = staff_headers(client, runtime, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 8000, path="/me/preauthorizations").json()
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["status"] == "authorized"
    assert payer.credit(runtime) == 0  # a reservation on the card posts nothing
    r = client.post(
        url(platform, f"/payments/{p['id']}/capture"), json={"amount": 8001}, headers={**staff, **key()}
    )
    assert r.status_code == 422 and "amount" in r.text
    k = key()
    r = client.post(
        url(platform, f"/payments/{p['id']}/capture"), json={"amount": 6000}, headers={**staff, **k}
    )
    assert r.status_code == 200 and r.json()["status"] == "capturing"
    assert payer.credit(runtime) == 0
    deliver(runtime, client, platform)
    got = payer.payment(p["id"])
    assert got["status"] == "captured" and got["captured"] == 6000
    assert payer.credit(runtime) == 6000 and clearing(runtime, platform) == -6000
    # the pre-authorisation does not expire any more once captured
    advance(runtime, days=8)
    assert deliver(runtime, client, platform) == 0
    assert payer.payment(p["id"])["status"] == "captured"
    r = client.post(
        url(platform, f"/payments/{p['id']}/capture"), json={"amount": 100}, headers={**staff, **key()}
    )
    assert r.status_code == 409


def test_preauth_cancelled_posts_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    staff = staff_headers(client, runtime, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 3000, path="/me/preauthorizations").json()
    deliver(runtime, client, platform)
    r = client.post(url(platform, f"/payments/{p['id']}/cancel"), headers={**staff, **key()})
    assert r.status_code == 200 and r.json()["status"] == "cancelling"
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["status"] == "cancelled"
    assert payer.credit(runtime) == 0
    r = client.post(
        url(platform, f"/payments/{p['id']}/capture"), json={"amount": 100}, headers={**staff, **key()}
    )
    assert r.status_code == 409


def test_preauth_not_captured_expires(runtime, client):
    platform = platform_with(runtime, {"sandbox": {"preauth_validity_days": 3}})
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 3000, path="/me/preauthorizations").json()
    deliver(runtime, client, platform)
    advance(runtime, days=2)
    assert deliver(runtime, client, platform) == 0
    advance(runtime, days=1, seconds=1)
    assert deliver(runtime, client, platform) == 1
    got = payer.payment(p["id"])
    assert got["status"] == "expired" and payer.credit(runtime) == 0


def test_preauth_with_3ds(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_3DS, 3000, path="/me/preauthorizations").json()
    assert p["status"] == "action_required"
    client.post(p["redirect_url"], data={"decision": "approve"}, follow_redirects=False)
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["status"] == "authorized"


def test_a_client_cannot_capture_or_refund(runtime, platform, client):
    payer, p = _paid(runtime, platform, client)
    r = client.post(
        url(platform, f"/payments/{p['id']}/capture"), json={"amount": 1}, headers={**payer.headers, **key()}
    )
    assert r.status_code == 403
    assert _refund(client, platform, payer.headers, p["id"], 100).status_code == 403


# --- refunds -------------------------------------------------------------------------------------


def test_partial_then_full_refund_never_exceeds_what_was_paid(runtime, platform, client):
    payer, p = _paid(runtime, platform, client, 5000)
    staff = staff_headers(client, runtime, platform)
    r = _refund(client, platform, staff, p["id"], 2000)
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["status"] == "pending" and refund["rules"] == ["CONSULT-CHARGEBACK-1"]
    # the refund is reserved on the credit at once (a hold), posted only when confirmed
    assert payer.credit(runtime) == 5000
    assert payer.payment(p["id"])["refundable"] == 3000
    r = _refund(client, platform, staff, p["id"], 3001)
    assert r.status_code == 409 and r.json()["refundable"] == 3000
    deliver(runtime, client, platform)
    assert payer.credit(runtime) == 3000 and clearing(runtime, platform) == -3000
    assert _refund(client, platform, staff, p["id"], 3000).status_code == 201
    deliver(runtime, client, platform)
    got = payer.payment(p["id"])
    assert got["refunded"] == 5000 and got["refundable"] == 0
    assert payer.credit(runtime) == 0 and clearing(runtime, platform) == 0
    assert _refund(client, platform, staff, p["id"], 1).status_code == 409
    listed = client.get(url(platform, f"/payments/{p['id']}/refunds"), headers=staff).json()
    assert [x["status"] for x in listed] == ["succeeded", "succeeded"]


def test_a_refund_retried_with_the_same_key_refunds_once(runtime, platform, client):
    payer, p = _paid(runtime, platform, client, 5000)
    staff = staff_headers(client, runtime, platform)
    k = key()
    first = _refund(client, platform, staff, p["id"], 1000, headers=k).json()
    again = _refund(client, platform, staff, p["id"], 1000, headers=k).json()
    assert again["id"] == first["id"]
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["refunded"] == 1000 and payer.credit(runtime) == 4000


def test_a_refund_of_spent_credit_is_refused(runtime, platform, client):
    """The money refunded is taken back from the credit: what was spent cannot be refunded."""
    from money_helpers import account

    from entremise.kernel.money import Money
    from entremise.ledger import service as ledger
    from entremise.ledger.domain import AccountType, Transfer

    payer, p = _paid(runtime, platform, client, 5000)
    staff = staff_headers(client, runtime, platform)
    revenue = account(runtime, platform, AccountType.PLATFORM_REVENUE)
    credit = account(runtime, platform, AccountType.CLIENT_CREDIT, payer.id)
    with runtime.sessions() as db, db.begin():
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(credit, revenue, Money(4500))],
            idempotency_key=f"spend-{p['id']}",
            code="test.spend",
            rules=[],
            cause=("test", "x"),
            now=runtime.clock.now(),
        )
    r = _refund(client, platform, staff, p["id"], 1000)
    assert r.status_code == 409 and "does not hold" in r.json()["detail"]
    assert _refund(client, platform, staff, p["id"], 500).status_code == 201
    assert payer.payment(p["id"])["refundable"] == 4500


def test_refund_bad_input_changes_nothing(runtime, platform, client):
    payer, p = _paid(runtime, platform, client, 5000)
    staff = staff_headers(client, runtime, platform)
    assert _refund(client, platform, staff, p["id"], 0).status_code == 422
    assert _refund(client, platform, staff, p["id"], 100, reason="").status_code == 422
    assert _refund(client, platform, staff, p["id"], 100, currency="USD").status_code == 422
    r = _refund(client, platform, staff, p["id"], 100, rules=["not a rule"])
    assert r.status_code == 422 and "rules" in r.text
    assert _refund(client, platform, staff, "no-such-payment", 100).status_code == 404
    got = payer.payment(p["id"])
    assert got["refundable"] == 5000 and got["refunded"] == 0


def test_a_failed_payment_cannot_be_refunded(runtime, platform, client):
    payer = Payer(client, platform)
    staff = staff_headers(client, runtime, platform)
    p = payer.pay(testdata.CARD_DECLINED).json()
    deliver(runtime, client, platform)
    assert _refund(client, platform, staff, p["id"], 100).status_code == 409


# --- SEPA ----------------------------------------------------------------------------------------


def _mandate(client, platform, payer, iban):
    return client.post(
        url(platform, "/me/mandates"),
        json={"iban": iban, "holder_name": "Ada Martin", "return_url": RETURN_URL},
        headers={**payer.headers, **key()},
    )


def test_a_mandate_activates_and_a_debit_credits_on_confirmation(runtime, platform, client):
    payer = Payer(client, platform)
    staff = staff_headers(client, runtime, platform)
    m = _mandate(client, platform, payer, "FR76 3000 6000 0112 3456 7890 189").json()
    assert m["status"] == "pending" and m["iban_last4"] == "0189" and "3000" not in m["fingerprint"]
    r = client.post(
        url(platform, f"/mandates/{m['id']}/debits"), json={"amount": 1500}, headers={**staff, **key()}
    )
    assert r.status_code == 409  # not active yet
    deliver(runtime, client, platform)
    listed = client.get(url(platform, "/me/mandates"), headers=payer.headers).json()
    assert listed[0]["status"] == "active"
    r = client.post(
        url(platform, f"/mandates/{m['id']}/debits"), json={"amount": 1500}, headers={**staff, **key()}
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["kind"] == "debit" and d["status"] == "pending" and d["fingerprint"] == m["fingerprint"]
    assert payer.credit(runtime) == 0
    deliver(runtime, client, platform)
    assert payer.payment(d["id"])["status"] == "succeeded"
    assert payer.credit(runtime) == 1500


def test_a_mandate_that_fails(runtime, platform, client):
    payer = Payer(client, platform)
    m = _mandate(client, platform, payer, testdata.IBAN_MANDATE_FAILS).json()
    deliver(runtime, client, platform)
    got = client.get(url(platform, "/me/mandates"), headers=payer.headers).json()[0]
    assert got["id"] == m["id"] and got["status"] == "failed" and got["failure_reason"] == "mandate_refused"


def test_a_debit_that_bounces_posts_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    staff = staff_headers(client, runtime, platform)
    m = _mandate(client, platform, payer, testdata.IBAN_DEBIT_FAILS).json()
    deliver(runtime, client, platform)
    d = client.post(
        url(platform, f"/mandates/{m['id']}/debits"), json={"amount": 900}, headers={**staff, **key()}
    ).json()
    deliver(runtime, client, platform)
    got = payer.payment(d["id"])
    assert got["status"] == "failed" and got["failure_reason"] == "insufficient_funds"
    assert payer.credit(runtime) == 0


def test_an_invalid_iban_is_refused(runtime, platform, client):
    payer = Payer(client, platform)
    r = _mandate(client, platform, payer, "FR7630006000011234567890188")
    assert r.status_code == 422 and "iban" in r.text
    assert client.get(url(platform, "/me/mandates"), headers=payer.headers).json() == []
