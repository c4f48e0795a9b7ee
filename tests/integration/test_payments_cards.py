"""Card pay-ins through the HTTP app and the sandbox's webhook job, for every sandbox test card."""

from __future__ import annotations

from accounts_helpers import url
from payments_helpers import RETURN_URL, Payer, clearing, deliver, key

from entremise.payments import testdata


def test_a_card_that_succeeds_credits_the_client_only_once_the_webhook_confirms(runtime, platform, client):
    payer = Payer(client, platform)
    r = payer.pay(testdata.CARD_SUCCEEDS, 2500)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "pending" and p["redirect_url"] is None
    assert p["fingerprint"].startswith("sbxcard_")
    # nothing is posted before the provider confirms
    assert payer.credit(runtime) == 0
    assert deliver(runtime, client, platform) == 1
    p = payer.payment(p["id"])
    assert p["status"] == "succeeded" and p["captured"] == 2500 and p["refundable"] == 2500
    assert payer.credit(runtime) == 2500
    assert clearing(runtime, platform) == -2500  # the provider holds the money for the platform
    assert deliver(runtime, client, platform) == 0  # nothing more is due


def test_a_declined_card_fails_and_posts_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_DECLINED).json()
    assert p["status"] == "pending"
    assert deliver(runtime, client, platform) == 1
    p = payer.payment(p["id"])
    assert p["status"] == "failed" and p["failure_reason"] == "card_declined"
    assert payer.credit(runtime) == 0


def test_an_unknown_card_number_is_declined(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay("5555 5555 5555 4444").json()
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["failure_reason"] == "unknown_test_card"


def test_3ds_approved_on_the_sandbox_page_then_succeeds(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_3DS, 4000).json()
    assert p["status"] == "action_required"
    page = client.get(p["redirect_url"])
    assert page.status_code == 200 and "40.00 EUR" in page.text and 'id="approve"' in page.text
    assert deliver(runtime, client, platform) == 0  # no outcome before the payer answers
    r = client.post(p["redirect_url"], data={"decision": "approve"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == RETURN_URL
    assert payer.credit(runtime) == 0
    assert deliver(runtime, client, platform) == 1
    assert payer.payment(p["id"])["status"] == "succeeded"
    assert payer.credit(runtime) == 4000
    # the page cannot be answered twice
    assert client.post(p["redirect_url"], data={"decision": "fail"}).status_code == 409
    assert "complete" in client.get(p["redirect_url"]).text


def test_3ds_failed_by_the_payer_fails_the_payment(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_3DS).json()
    client.post(p["redirect_url"], data={"decision": "fail"}, follow_redirects=False)
    deliver(runtime, client, platform)
    p = payer.payment(p["id"])
    assert p["status"] == "failed" and p["failure_reason"] == "3ds_failed"
    assert payer.credit(runtime) == 0


def test_a_card_whose_3ds_always_fails(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_3DS_FAILS).json()
    assert p["status"] == "action_required"
    client.post(p["redirect_url"], data={"decision": "approve"}, follow_redirects=False)
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["failure_reason"] == "3ds_failed"
    assert payer.credit(runtime) == 0


def test_the_3ds_page_of_an_unknown_reference_is_404(client):
    assert client.get("/sandbox/psp/3ds/pay_0123abcd").status_code == 404


def test_a_retried_payin_with_the_same_key_returns_the_first_payment(runtime, platform, client):
    payer = Payer(client, platform)
    headers = {"Idempotency-Key": "same-key"}
    first = payer.pay(testdata.CARD_SUCCEEDS, 1000, headers=headers).json()
    again = payer.pay(testdata.CARD_SUCCEEDS, 1000, headers=headers).json()
    assert again["id"] == first["id"]
    assert payer.pay(testdata.CARD_SUCCEEDS, 1500, headers=headers).status_code in (409, 422)
    deliver(runtime, client, platform)
    assert payer.credit(runtime) == 1000


def test_bad_input_is_refused_and_creates_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    for body, field in [
        ({"amount": 0, "card": {"token": testdata.CARD_SUCCEEDS}, "return_url": RETURN_URL}, "amount"),
        ({"amount": -5, "card": {"token": testdata.CARD_SUCCEEDS}, "return_url": RETURN_URL}, "amount"),
        ({"amount": 10.5, "card": {"token": testdata.CARD_SUCCEEDS}, "return_url": RETURN_URL}, "amount"),
        (
            {
                "amount": 100,
                "currency": "XXX",
                "card": {"token": testdata.CARD_SUCCEEDS},
                "return_url": RETURN_URL,
            },
            "currency",
        ),
        ({"amount": 100, "card": {"token": ""}, "return_url": RETURN_URL}, "token"),
        (
            {"amount": 100, "card": {"token": testdata.CARD_SUCCEEDS}, "return_url": "javascript:alert(1)"},
            "return_url",
        ),
    ]:
        r = client.post(url(platform, "/me/card-payins"), json=body, headers={**payer.headers, **key()})
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    r = client.post(
        url(platform, "/me/card-payins"),
        json={"amount": 100, "card": {"token": testdata.CARD_SUCCEEDS}, "return_url": RETURN_URL},
        headers=payer.headers,
    )
    assert r.status_code == 422 and "Idempotency-Key" in r.text
    assert client.get(url(platform, "/me/payments"), headers=payer.headers).json()["items"] == []
    assert deliver(runtime, client, platform) == 0
