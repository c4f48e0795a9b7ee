"""The export of everything held about a user (COMMON-PRIVACY-1, GDPR arts. 15 and 20): every
registered module's section, through the HTTP API, own data only."""

from __future__ import annotations

import json
from datetime import timedelta

import booking_processes  # noqa: F401 (registers test-trip, whose parties are client_id and provider_id)
import pytest
from accounts_helpers import PASSWORD, auth, login, staff_token, url, user_session
from privacy_helpers import queue_marketing

from conftest import make_platform
from entremise.booking import service as booking
from entremise.booking.service import ProcessActor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.privacy import registry
from entremise.privacy.export import FORMAT


def _export(client, platform, token, fmt: str = "json"):  # type: ignore[no-untyped-def]
    return client.get(url(platform, f"/me/export?format={fmt}"), headers=auth(token))


def _money(runtime, platform, user_id: str) -> None:
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        psp = ledger.open_account(db, platform_id=platform.id, type=AccountType.PSP_CLEARING, now=now)
        credit = ledger.open_account(
            db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, owner_id=user_id, now=now
        )
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(psp.id, credit.id, Money(3_000))],
            idempotency_key=f"payin-{user_id}",
            code="payin",
            rules=["CONSULT-CREDIT-1"],
            cause=("payin", "pi-1"),
            now=now,
            reason="a 30 € pack",
        )


def test_COMMON_PRIVACY_1_export_holds_every_section_about_me(client, runtime, platform):
    user_id, ident, token = user_session(
        client,
        platform,
        first_name="Inès",
        phone="0612121212",
        marketing={"email": True},
        headers={"X-Device-Id": "phone-1"},
    )
    login(client, platform, ident, "wrong password, typed fast")
    _money(runtime, platform, user_id)
    with runtime.sessions() as db, db.begin():
        trip = booking.start(
            db,
            platform.id,
            "test-trip",
            ProcessActor("client", user_id),
            {"client_id": user_id, "provider_id": "someone-else", "starts_at": "2026-12-10T08:00:00+00:00"},
            runtime.clock.now(),
        )
    queue_marketing(runtime, platform, user_id)
    client.post(url(platform, "/me/privacy-requests"), json={"kind": "access"}, headers=auth(token))
    r = _export(client, platform, token)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith('attachment; filename="personal-data-')
    assert r.headers["cache-control"] == "no-store"
    archive = r.json()
    assert (
        archive["format"] == FORMAT
        and archive["user_id"] == user_id
        and archive["rules"] == ["COMMON-PRIVACY-1"]
    )
    sections = archive["sections"]
    assert set(sections) >= {"accounts", "terms", "audit", "messages", "ledger", "processes", "privacy"}
    account = sections["accounts"]
    assert account["account"]["email"] == ident and account["account"]["first_name"] == "Inès"
    assert account["account"]["phone"] == "+33612121212"
    assert len(account["sessions"]) == 1 and set(account["sessions"][0]) == {
        "id",
        "created_at",
        "expires_at",
        "revoked_at",
        "ip",
        "user_agent",
    }
    assert len(account["devices"]) == 1
    assert [a["succeeded"] for a in account["login_attempts"]] == [True, False]
    [ledger_account] = sections["ledger"]
    assert ledger_account["type"] == "client_credit" and ledger_account["balance"] == 3000
    assert ledger_account["entries"][0]["rules"] == ["CONSULT-CREDIT-1"]
    assert [p["id"] for p in sections["processes"]] == [trip.id]
    [mail] = [m for m in sections["messages"] if m["template"] == "marketing.announcement"]
    assert mail["category"] == "marketing" and mail["payload"]["unsubscribe_url"] == "[redacted]"
    assert "user.registered" in [e["action"] for e in sections["audit"]]
    assert sections["privacy"]["marketing_consents"][0] == {
        "channel": "email",
        "granted": True,
        "updated_at": "2026-11-23T09:00:00+00:00",
    }
    assert [q["kind"] for q in sections["privacy"]["requests"]] == ["access"]
    text = r.text
    for secret in ("password_hash", "token_hash", "$argon2", PASSWORD):
        assert secret not in text


def test_COMMON_PRIVACY_1_export_shows_nothing_of_another_user(client, runtime, platform):
    a_id, a_ident, a_token = user_session(client, platform, last_name="Aubert")
    b_id, b_ident, b_token = user_session(client, platform, last_name="Berthier")
    _money(runtime, platform, b_id)
    client.post(url(platform, "/me/privacy-requests"), json={"kind": "access"}, headers=auth(b_token))
    text = _export(client, platform, a_token).text
    assert a_id in text and a_ident in text
    for theirs in (b_id, b_ident, "Berthier"):
        assert theirs not in text
    assert json.loads(text)["sections"]["ledger"] == []


def test_COMMON_PRIVACY_1_html_summary_is_readable_and_escaped(client, runtime, platform):
    _user_id, _ident, token = user_session(client, platform, address="<script>alert(1)</script>")
    r = _export(client, platform, token, "html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Vos données personnelles" in r.text and "Compte, profil, sessions et appareils" in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    bad = _export(client, platform, token, "pdf")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format"


def test_COMMON_PRIVACY_1_only_staff_export_another_user_and_only_on_their_platform(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    _other_id, _io, other_token = user_session(client, platform)
    path = url(platform, f"/staff/privacy/users/{user_id}/export")
    assert client.get(path, headers=auth(other_token)).status_code == 403  # another user: not theirs
    assert client.get(path).status_code == 401
    staff = auth(staff_token(client, runtime, platform))
    r = client.get(path, headers=staff)
    assert r.status_code == 200 and r.json()["user_id"] == user_id
    other = make_platform(runtime)
    other_staff = auth(staff_token(client, runtime, other))
    assert (
        client.get(url(other, f"/staff/privacy/users/{user_id}/export"), headers=other_staff).status_code
        == 404
    )
    assert client.get(url(platform, "/staff/privacy/users/nobody/export"), headers=staff).status_code == 404
    assert client.get(url(other, "/me/export"), headers=auth(token)).status_code == 401


def test_the_export_is_in_the_audit_trail(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    _export(client, platform, token)
    staff = auth(staff_token(client, runtime, platform))
    entries = client.get(url(platform, f"/audit?object_id={user_id}"), headers=staff).json()["items"]
    [entry] = [e for e in entries if e["action"] == "privacy.exported"]
    assert entry["actor_id"] == user_id and entry["rules"] == ["COMMON-PRIVACY-1"]
    assert "accounts" in entry["data"]["sections"]


def test_a_later_module_adds_its_section_by_registering_an_exporter(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    registry.register_exporter("loyalty", lambda db, p, uid: {"points": 120, "user": uid})
    try:
        sections = _export(client, platform, token).json()["sections"]
        assert sections["loyalty"] == {"points": 120, "user": user_id}
        with pytest.raises(ValueError):
            registry.register_exporter("loyalty", lambda db, p, uid: {})
    finally:
        registry.EXPORTERS.pop("loyalty")


def test_an_exporter_returning_what_json_cannot_hold_fails_loudly(client, runtime, platform):
    _user_id, _ident, token = user_session(client, platform)
    registry.register_exporter("broken", lambda db, p, uid: {"when": timedelta(days=1)})
    try:
        assert _export(client, platform, token).status_code == 500
    finally:
        registry.EXPORTERS.pop("broken")
