"""Accounts through the real HTTP app: registration, sessions, passwords, closure, staff tools."""

from __future__ import annotations

import logging
from datetime import timedelta

from accounts_helpers import (
    CARPOOL_SETTINGS,
    PASSWORD,
    auth,
    email,
    login,
    make_staff,
    problem_body,
    register,
    staff_token,
    url,
    user_session,
)
from sqlalchemy import func, select

from conftest import make_platform
from entremise.accounts.models import AuthSession, FraudSignal, User
from entremise.audit.models import AuditEntry
from entremise.notify.outbox import messages_for


def _count_users(runtime, platform) -> int:
    with runtime.sessions() as db, db.begin():
        return int(db.scalar(select(func.count()).select_from(User).where(User.platform_id == platform.id)))


def _outbox(runtime, platform, template, user_id=None):
    with runtime.sessions() as db, db.begin():
        return messages_for(db, platform_id=platform.id, template=template, user_id=user_id)


# --- registration --------------------------------------------------------------------------------


def test_COMMON_ACCOUNT_1_registration_normalises_email_and_phone(client, runtime, platform):
    r = register(
        client, platform, email="  Jeanne.Dupont@Example.FR ", phone="06 12 34 56 78", first_name="Jeanne"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "jeanne.dupont@example.fr"
    assert body["phone"] == "+33612345678"
    assert body["role"] == "client" and body["status"] == "active" and not body["must_change_password"]
    assert PASSWORD not in r.text and "password_hash" not in r.text
    with runtime.sessions() as db, db.begin():
        user = db.get(User, body["id"])
        assert user.password_hash.startswith("$argon2id$")
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == body["id"])).all()
    assert "user.registered" in actions


def test_COMMON_ACCOUNT_1_duplicate_email_or_phone_is_refused(client, runtime, platform):
    assert register(client, platform, email="dup@example.fr", phone="0611223344").status_code == 201
    before = _count_users(runtime, platform)
    r = register(client, platform, email=" DUP@Example.fr")
    assert r.status_code == 409 and r.json()["fields"] == ["email"]
    assert r.json()["rules"] == ["COMMON-ACCOUNT-1"]
    r = register(client, platform, phone="+33 6 11 22 33 44")
    assert r.status_code == 409 and r.json()["fields"] == ["phone"]
    assert _count_users(runtime, platform) == before


def test_COMMON_ACCOUNT_1_same_email_on_another_platform_is_a_different_account(client, runtime, platform):
    other = make_platform(runtime)
    assert register(client, platform, email="same@example.fr").status_code == 201
    assert register(client, other, email="same@example.fr").status_code == 201


def test_bad_registration_input_is_refused_and_changes_nothing(client, runtime, platform):
    cases = [
        ({"email": "not-an-email"}, "body.email"),
        ({"phone": "12"}, "body.phone"),
        ({"password": "short"}, "body.password"),
        ({"password": "QWERTY123456"}, "body.password"),  # COMMON-ACCOUNT-2: common, case-insensitive
        ({"nickname": "x"}, "body.nickname"),
        ({"birth_date": "2020-13-40"}, "body.birth_date"),
        ({"role": "admin"}, "body.role"),
        ({"first_name": "a\x00b"}, "body.first_name"),
    ]
    for extra, field in cases:
        r = register(client, platform, **extra)
        assert r.status_code == 422, (extra, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], (extra, r.json())
    r = client.post(
        url(platform, "/accounts"), content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert _count_users(runtime, platform) == 0


def test_COMMON_ACCOUNT_2_weak_password_cites_the_rule(client, platform):
    r = register(client, platform, password="password1234")
    assert r.status_code == 422 and r.json()["rules"] == ["COMMON-ACCOUNT-2"]


def test_EXPERT_SIGNUP_1_2_required_fields_are_each_named(client, runtime):
    settings = {
        "roles": {
            "client": {"audience": "client", "required_fields": ["last_name", "first_name"]},
            "provider": {
                "audience": "provider",
                "min_age": 18,
                "required_fields": [
                    "status",
                    "last_name",
                    "first_name",
                    "birth_date",
                    "civility",
                    "address",
                    "landline",
                    "phone",
                    "category",
                ],
            },
            "staff": {"audience": "provider", "self_service": False},
        }
    }
    expert = make_platform(runtime, settings)
    r = register(client, expert, role="client", first_name="Ana")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.last_name"]
    assert "EXPERT-SIGNUP-2" in r.json()["rules"]
    r = register(client, expert, role="provider", last_name="Roy")
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {
        "body.status",
        "body.first_name",
        "body.birth_date",
        "body.civility",
        "body.address",
        "body.landline",
        "body.phone",
        "body.category",
    }
    complete = {
        "status": "individual",
        "last_name": "Roy",
        "first_name": "Luc",
        "civility": "M.",
        "address": "1 rue de la Paix, 75002 Paris",
        "landline": "01 42 68 53 00",
        "phone": "06 98 76 54 32",
        "category": "astrology",
    }
    # EXPERT-SIGNUP-1: adults only (the test clock is 23 November 2026)
    r = register(client, expert, role="provider", birth_date="2008-11-24", **complete)
    assert r.status_code == 422 and "EXPERT-SIGNUP-1" in r.json()["rules"]
    assert _count_users(runtime, expert) == 0
    r = register(client, expert, role="provider", birth_date="2008-11-23", **complete)
    assert r.status_code == 201, r.text
    assert r.json()["profile"]["landline"] == "+33142685300"


def test_COMMON_ACCOUNT_1_role_without_self_service_is_created_by_staff(client, runtime):
    consult = make_platform(
        runtime,
        {
            "roles": {
                "client": {},
                "provider": {"audience": "provider", "self_service": False},
                "staff": {"audience": "provider", "self_service": False},
            }
        },
    )
    r = register(client, consult, role="provider")
    assert r.status_code == 403
    assert register(client, consult, role="staff").status_code == 403
    token = staff_token(client, runtime, consult)
    r = client.post(
        url(consult, "/staff/users"),
        json={"role": "provider", "email": email(), "password": PASSWORD, "first_name": "Marie"},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    assert r.json()["must_change_password"] is True


def test_CARPOOL_ACCOUNT_1_phone_required_and_usable_as_login(client, runtime):
    carpool = make_platform(runtime, CARPOOL_SETTINGS)
    r = register(client, carpool, email=None)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.phone"]
    assert "CARPOOL-ACCOUNT-1" in r.json()["rules"]
    r = register(client, carpool, email=None, phone="01 42 68 53 00")  # a landline cannot be the login
    assert r.status_code == 422 and "CARPOOL-ACCOUNT-1" in r.json()["rules"]
    r = register(client, carpool, email=None, phone="06 23 45 67 89")
    assert r.status_code == 201, r.text
    assert r.json()["email"] is None
    r = login(client, carpool, "+33623456789")
    assert r.status_code == 201
    assert login(client, carpool, "06 23 45 67 89").status_code == 201


# --- login, sessions -----------------------------------------------------------------------------


def test_COMMON_ACCOUNT_2_login_returns_an_opaque_token_stored_hashed(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    me = client.get(url(platform, "/me"), headers=auth(token))
    assert me.status_code == 200 and me.json()["id"] == user_id
    with runtime.sessions() as db, db.begin():
        rows = db.scalars(select(AuthSession).where(AuthSession.user_id == user_id)).all()
    assert len(rows) == 1 and rows[0].token_hash != token and len(rows[0].token_hash) == 64


def test_wrong_password_and_unknown_account_get_the_same_401(client, platform):
    _uid, ident, _ = user_session(client, platform)
    wrong = login(client, platform, ident, "not the right password")
    unknown = login(client, platform, "nobody@example.fr", "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    assert problem_body(wrong) == problem_body(unknown)


def test_missing_forged_expired_or_foreign_token_is_401(client, runtime, clock, platform):
    _uid, _ident, token = user_session(client, platform)
    assert client.get(url(platform, "/me")).status_code == 401
    assert client.get(url(platform, "/me"), headers=auth("forged-" + token[7:])).status_code == 401
    assert client.get(url(platform, "/me"), headers={"Authorization": "Basic abc"}).status_code == 401
    other = make_platform(runtime)
    r = client.get(url(other, "/me"), headers=auth(token))
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    clock.advance(timedelta(hours=runtime.settings.session_ttl_hours, seconds=1))
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401


def test_COMMON_ACCOUNT_2_brute_force_refused_with_retry_after(client, clock, platform):
    _uid, ident, _ = user_session(client, platform)
    for _ in range(5):
        assert login(client, platform, ident, "wrong password here").status_code == 401
    r = login(client, platform, ident)  # even the right password is refused now
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 900
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])
    # the same for an account that does not exist
    for _ in range(5):
        assert login(client, platform, "ghost@example.fr", "wrong password here").status_code == 401
    ghost = login(client, platform, "ghost@example.fr", "wrong password here")
    assert ghost.status_code == 429 and "Retry-After" in ghost.headers
    assert problem_body(ghost) == problem_body(r)
    clock.advance(timedelta(minutes=15))
    assert login(client, platform, ident).status_code == 201


def test_COMMON_ACCOUNT_2_brute_force_limit_per_address(client, platform):
    _uid, ident, _ = user_session(client, platform)
    for i in range(20):
        assert login(client, platform, f"probe{i}@example.fr", "wrong password here").status_code == 401
    r = login(client, platform, ident)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_logout_and_logout_everywhere(client, platform):
    _uid, ident, t1 = user_session(client, platform)
    t2 = login(client, platform, ident).json()["token"]
    t3 = login(client, platform, ident).json()["token"]
    assert client.delete(url(platform, "/sessions/current"), headers=auth(t1)).status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(t1)).status_code == 401
    assert client.get(url(platform, "/me"), headers=auth(t2)).status_code == 200
    assert client.delete(url(platform, "/sessions"), headers=auth(t2)).status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(t2)).status_code == 401
    assert client.get(url(platform, "/me"), headers=auth(t3)).status_code == 401


# --- passwords -----------------------------------------------------------------------------------

NEW_PASSWORD = "another long passphrase 77"


def test_COMMON_ACCOUNT_2_password_change_needs_current_and_revokes_other_sessions(client, runtime, platform):
    user_id, ident, t1 = user_session(client, platform)
    t2 = login(client, platform, ident).json()["token"]
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": "wrong password!!", "new_password": NEW_PASSWORD},
        headers=auth(t1),
    )
    assert r.status_code == 422
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=auth(t1),
    )
    assert r.status_code == 422
    assert login(client, platform, ident).status_code == 201  # unchanged
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth(t1),
    )
    assert r.status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(t1)).status_code == 200
    assert client.get(url(platform, "/me"), headers=auth(t2)).status_code == 401
    assert login(client, platform, ident).status_code == 401
    assert login(client, platform, ident, NEW_PASSWORD).status_code == 201
    sent = _outbox(runtime, platform, "accounts.password_changed", user_id)
    assert len(sent) == 1 and sent[0].payload == {"platform_name": platform.name}


def test_password_reset_is_single_use_and_expires(client, runtime, clock, platform):
    user_id, ident, token = user_session(client, platform)
    assert (
        client.post(url(platform, "/password-resets"), json={"identifier": "nobody@example.fr"}).status_code
        == 202
    )
    assert (
        client.post(url(platform, "/password-resets"), json={"identifier": ident.upper()}).status_code == 202
    )
    [msg] = _outbox(runtime, platform, "accounts.password_reset", user_id)
    assert msg.recipient == ident and msg.payload["expires_minutes"] == 60
    assert msg.payload["reset_url"].startswith(f"{runtime.settings.base_url}/reset-password?token=")
    reset = msg.payload["reset_url"].split("token=")[1]
    r = client.post(url(platform, "/password-resets/confirm"), json={"token": reset, "new_password": "short"})
    assert r.status_code == 422
    r = client.post(
        url(platform, "/password-resets/confirm"), json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401  # sessions revoked
    assert login(client, platform, ident, NEW_PASSWORD).status_code == 201
    again = client.post(
        url(platform, "/password-resets/confirm"), json={"token": reset, "new_password": PASSWORD + "x"}
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "body.token"
    # a second link expires after one hour
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    second = (
        _outbox(runtime, platform, "accounts.password_reset", user_id)[-1]
        .payload["reset_url"]
        .split("token=")[1]
    )
    clock.advance(timedelta(minutes=61))
    r = client.post(
        url(platform, "/password-resets/confirm"), json={"token": second, "new_password": PASSWORD + "y"}
    )
    assert r.status_code == 422
    assert login(client, platform, ident, NEW_PASSWORD).status_code == 201


def test_COMMON_ACCOUNT_3_staff_forces_a_credential_change(client, runtime, platform):
    user_id, ident, token = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    r = client.post(
        url(platform, f"/staff/users/{user_id}/credential-reset"),
        json={"reason": "leaked"},
        headers=auth(token),
    )
    assert r.status_code == 403  # not staff
    r = client.post(
        url(platform, f"/staff/users/{user_id}/credential-reset"),
        json={"reason": "leaked"},
        headers=auth(staff),
    )
    assert r.status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401
    [msg] = _outbox(runtime, platform, "accounts.credentials_reset_by_staff", user_id)
    assert msg.payload == {"platform_name": platform.name, "reason": "leaked"}
    r = login(client, platform, ident)
    assert r.status_code == 201 and r.json()["must_change_password"] is True
    limited = r.json()["token"]
    blocked = client.post(url(platform, "/me/compromise"), json={}, headers=auth(limited))
    assert blocked.status_code == 403 and blocked.json()["type"].endswith("password-change-required")
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth(limited),
    )
    assert r.status_code == 204
    assert client.get(url(platform, "/me"), headers=auth(limited)).json()["must_change_password"] is False
    with runtime.sessions() as db, db.begin():
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == user_id, AuditEntry.action == "user.credentials_reset_by_staff"
            )
        ).one()
    assert entry.rules == ["COMMON-ACCOUNT-3"] and entry.actor_type == "staff"


def test_COMMON_ACCOUNT_3_user_reports_a_compromise(client, platform):
    _uid, ident, token = user_session(client, platform)
    assert (
        client.post(
            url(platform, "/me/compromise"), json={"details": "phished"}, headers=auth(token)
        ).status_code
        == 204
    )
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401
    assert login(client, platform, ident).json()["must_change_password"] is True


def test_passwords_never_reach_the_logs(client, runtime, platform, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "unique secret passphrase 9137"
    user_id, ident, _token = user_session(client, platform, password=secret)
    login(client, platform, ident, secret + "x")
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    reset = (
        _outbox(runtime, platform, "accounts.password_reset", user_id)[0]
        .payload["reset_url"]
        .split("token=")[1]
    )
    new_secret = "another unique passphrase 5521"
    client.post(url(platform, "/password-resets/confirm"), json={"token": reset, "new_password": new_secret})
    login(client, platform, ident, new_secret)
    assert caplog.records  # logging was captured at DEBUG
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records) + caplog.text
    assert secret not in text and new_secret not in text


# --- devices, fraud signals ----------------------------------------------------------------------


def test_COMMON_ACCOUNT_1_shared_device_opens_a_fraud_signal_for_staff(client, runtime, platform):
    first = register(client, platform, headers={"X-Device-Id": "device-abc"})
    second = register(client, platform, headers={"X-Device-Id": "device-abc"})
    assert first.status_code == second.status_code == 201
    register(client, platform, headers={"X-Device-Id": "device-other"})
    staff = staff_token(client, runtime, platform)
    r = client.get(url(platform, "/staff/fraud-signals"), headers=auth(staff))
    assert r.status_code == 200
    [signal] = r.json()["items"]
    assert signal["kind"] == "shared_device" and signal["status"] == "open"
    assert signal["user_ids"] == [first.json()["id"], second.json()["id"]]
    _uid, _i, user_token = user_session(client, platform)
    assert client.get(url(platform, "/staff/fraud-signals"), headers=auth(user_token)).status_code == 403
    other = make_platform(runtime)
    register(client, other, headers={"X-Device-Id": "device-abc"})  # another platform: no link
    with runtime.sessions() as db, db.begin():
        assert (
            db.scalar(
                select(func.count()).select_from(FraudSignal).where(FraudSignal.platform_id == other.id)
            )
            == 0
        )


# --- closure -------------------------------------------------------------------------------------


def test_COMMON_ACCOUNT_4_closure_erases_data_revokes_sessions_and_confirms(client, runtime, platform):
    user_id, ident, token = user_session(
        client, platform, phone="0655443322", first_name="Zoé", last_name="Martin", address="2 rue X"
    )
    r = client.post(url(platform, "/me/closure"), json={"password": "wrong password!!"}, headers=auth(token))
    assert r.status_code == 422
    r = client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "closed" and body["email"] is None and body["phone"] is None
    assert body["first_name"] is None and body["profile"] == {}
    assert body["retention_holds"] == [
        {"field": "email_digest", "rule": "COMMON-PRIVACY-3", "kind": "account", "until": "2027-11-23"}
    ]
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401
    assert login(client, platform, ident).status_code == 401
    [msg] = _outbox(runtime, platform, "accounts.account_closed", user_id)
    assert msg.recipient == ident and set(msg.payload) == {"platform_name", "closed_at"}
    with runtime.sessions() as db, db.begin():
        row = db.get(User, user_id)
        assert row.password_hash is None and row.email_digest and row.closure_reason == "user_request"
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.object_id == user_id, AuditEntry.action == "user.closed")
        ).one()
        assert entry.rules == ["COMMON-ACCOUNT-4"]
    # the e-mail and phone are free again
    assert register(client, platform, email=ident, phone="0655443322").status_code == 201


# --- organisations -------------------------------------------------------------------------------


def test_org_admin_creates_organisation_and_its_users(client, runtime, platform):
    r = register(client, platform, role="org_admin")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.organisation_name"
    _admin_id, _ident, token = user_session(client, platform, role="org_admin", organisation_name="Acme SAS")
    org_id = client.get(url(platform, "/me"), headers=auth(token)).json()["organisation_id"]
    assert org_id
    r = client.post(
        url(platform, "/organisation/users"),
        json={"email": email(), "password": PASSWORD},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    assert r.json()["organisation_id"] == org_id and r.json()["role"] == "org_user"
    assert register(client, platform, role="org_user").status_code == 403
    _c, _ci, client_token = user_session(client, platform)
    r = client.post(
        url(platform, "/organisation/users"),
        json={"email": email(), "password": PASSWORD},
        headers=auth(client_token),
    )
    assert r.status_code == 403


# --- staff and isolation -------------------------------------------------------------------------


def test_staff_lists_users_with_cursor_pagination_and_only_its_platform(client, runtime, platform):
    for _ in range(3):
        register(client, platform)
    other = make_platform(runtime)
    register(client, other)
    staff = staff_token(client, runtime, platform)
    page1 = client.get(url(platform, "/staff/users?limit=2"), headers=auth(staff)).json()
    page2 = client.get(
        url(platform, f"/staff/users?limit=2&cursor={page1['next_cursor']}"), headers=auth(staff)
    ).json()
    assert len(page1["items"]) == 2 and len(page2["items"]) == 2 and page2["next_cursor"] is None  # 3 + staff
    assert client.get(url(platform, "/staff/users?cursor=%%%"), headers=auth(staff)).status_code == 422
    # staff of one platform cannot read another's
    assert client.get(url(other, "/staff/users"), headers=auth(staff)).status_code == 401
    _uid, _i, user_token = user_session(client, platform)
    assert client.get(url(platform, "/staff/users"), headers=auth(user_token)).status_code == 403


def test_a_user_of_platform_a_cannot_touch_platform_b(client, runtime, platform):
    other = make_platform(runtime)
    b_id, _bi, _bt = user_session(client, other)
    staff_b = make_staff(runtime, other)
    _a, _ai, a_token = user_session(client, platform)
    staff_a = staff_token(client, runtime, platform)
    for method, path in (
        ("get", "/me"),
        ("delete", "/sessions"),
        ("post", "/me/compromise"),
        ("get", "/staff/users"),
        ("get", "/audit"),
    ):
        r = getattr(client, method)(
            url(other, path), headers=auth(a_token), **({"json": {}} if method == "post" else {})
        )
        assert r.status_code == 401, (path, r.status_code)
    # nothing changed for A's user either: its session still works and no change is forced
    assert client.get(url(platform, "/me"), headers=auth(a_token)).json()["must_change_password"] is False
    # platform A's staff cannot force a change on a user of B through A's URL either
    r = client.post(
        url(platform, f"/staff/users/{b_id}/credential-reset"), json={"reason": "x"}, headers=auth(staff_a)
    )
    assert r.status_code == 404
    assert login(client, other, staff_b).json()["must_change_password"] is False
    with runtime.sessions() as db, db.begin():
        assert db.get(User, b_id).must_change_password is False


def test_every_sign_up_problem_is_reported_at_once(client, runtime, platform):
    r = register(client, platform, email="bad", phone="12", password="short")
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.email", "body.phone", "body.password"}
    assert "COMMON-ACCOUNT-2" in r.json()["rules"]
    assert _count_users(runtime, platform) == 0


def test_EXPERT_SIGNUP_1_a_minimum_age_requires_the_birth_date(client, runtime):
    adults = make_platform(runtime, {"roles": {"client": {"min_age": 18}}})
    r = register(client, adults)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.birth_date"]
    assert register(client, adults, birth_date="1990-05-01").status_code == 201
