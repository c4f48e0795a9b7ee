"""The sandbox's 3-D Secure page in a real Chromium: the payer approves or fails the step, is sent
back to the shop, and the outcome arrives by webhook."""

from __future__ import annotations

from payments_helpers import Payer, deliver

from entremise.payments import testdata


def _start(client, platform, live_server):
    payer = Payer(client, platform)
    r = payer.pay(testdata.CARD_3DS, 1990, return_url=live_server + "/healthz")
    assert r.status_code == 201, r.text
    return payer, r.json()


def test_3ds_page_approved_in_a_browser(client, runtime, platform, live_server, page):
    payer, p = _start(client, platform, live_server)
    page.goto(live_server + p["redirect_url"])
    assert "19.90 EUR" in page.locator("#amount").inner_text()
    assert "3220" in page.locator("body").inner_text()
    page.locator("#approve").click()
    page.wait_for_load_state()
    assert page.url == live_server + "/healthz"
    deliver(runtime, client, platform)
    assert payer.payment(p["id"])["status"] == "succeeded"
    assert payer.credit(runtime) == 1990
    page.goto(live_server + p["redirect_url"])
    assert page.locator("button").count() == 0  # the step is complete


def test_3ds_page_failed_in_a_browser(client, runtime, platform, live_server, page):
    payer, p = _start(client, platform, live_server)
    page.goto(live_server + p["redirect_url"])
    page.locator("#fail").click()
    page.wait_for_load_state()
    deliver(runtime, client, platform)
    got = payer.payment(p["id"])
    assert got["status"] == "failed" and got["failure_reason"] == "3ds_failed"
    assert payer.credit(runtime) == 0
