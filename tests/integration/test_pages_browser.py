"""The pages a person opens in a browser, driven by a real Chromium: the one-click unsubscribe page
of a marketing e-mail (COMMON-PRIVACY-2) and the readable summary of a data export
(COMMON-PRIVACY-1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from accounts_helpers import auth, url, user_session
from privacy_helpers import consents, outbox_row, queue_marketing


def test_COMMON_PRIVACY_2_unsubscribe_page_in_a_browser_asks_then_stops_marketing(
    client, runtime, platform, live_server, page
):
    user_id, _ident, _token = user_session(client, platform, marketing={"email": True})
    queued = queue_marketing(runtime, platform, user_id)
    link = outbox_row(runtime, queued.outbox_id).payload["unsubscribe_url"]
    address = live_server + urlsplit(link).path

    page.goto(address)
    assert platform.name in page.locator("h1").inner_text()
    # opening the page changes nothing: only the button does
    assert consents(runtime, platform, user_id)["email"] is True
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form").count() == 0
    assert consents(runtime, platform, user_id)["email"] is False

    # the same link opened again says it is already done, and offers no button
    page.goto(address)
    assert page.locator("button").count() == 0
    assert consents(runtime, platform, user_id)["email"] is False


def test_COMMON_PRIVACY_1_export_summary_renders_in_a_browser_without_running_user_content(
    client, platform, live_server, page
):
    _user_id, _ident, token = user_session(client, platform, first_name="<img src=x onerror=alert(1)>")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_extra_http_headers({**auth(token), "Accept": "text/html"})
    response = page.goto(live_server + url(platform, "/me/export?format=html"))
    assert response is not None and response.status == 200
    # the name is shown as text, never run as markup
    assert "<img src=x onerror=alert(1)>" in page.locator("body").inner_text()
    assert dialogs == []
    assert page.locator("img").count() == 0
