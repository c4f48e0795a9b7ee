"""The sanctions ladder over HTTP and through `sanctions.service`.

CONSULT-SANCTION-1, EXPERT-SANCTION-1, CARPOOL-SUSPEND-1, CARPOOL-FRAUD-1, COMMON-ACCOUNT-1,
LAW-DSA-17, LAW-DSA-20.
"""

from __future__ import annotations

from datetime import timedelta

from accounts_helpers import PASSWORD, auth, login, register, staff_token, url, user_session
from moderation_helpers import make_platform, messages

from entremise.accounts import service as accounts
from entremise.audit.service import list_entries
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.moderation import service as moderation
from entremise.sanctions import service as sanctions


def impose(client, platform, token: str, user_id: str, kind: str, **over):  # type: ignore[no-untyped-def]
    body = {
        "user_id": user_id,
        "kind": kind,
        "rules": ["CARPOOL-SUSPEND-1"],
        "facts": "three members report threats",
        **over,
    }
    return client.post(url(platform, "/staff/sanctions"), json=body, headers=auth(token))


def _hidden(runtime, platform, user_id: str) -> bool:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return moderation.is_hidden(db, platform_id=platform.id, kind="profile", content_id=user_id)


def test_CONSULT_SANCTION_1_a_formal_notice_leaves_30_days_to_remedy_with_a_sworn_statement(
    client, runtime, platform, clock
) -> None:
    user, user_email, token = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    r = impose(
        client,
        platform,
        staff,
        user,
        "formal_notice",
        rules=["CONSULT-SANCTION-1"],
        facts="unsolicited messages",
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["cure_until"].startswith("2026-12-23T09:00") and "CONSULT-SANCTION-1" in s["rules"]
    [mail] = messages(runtime, platform, "moderation.statement_of_reasons", user_email)
    assert mail.payload["sanction_kind"] == "formal_notice" and mail.payload["cure_until"].startswith(
        "2026-12-23T09:00"
    )
    # a formal notice does not block the account
    assert login(client, platform, user_email).status_code == 201
    sworn = {"text": "I will send no more unsolicited messages"}
    r = client.post(
        url(platform, f"/me/sanctions/{s['id']}/sworn-statement"), json=sworn, headers=auth(token)
    )
    assert r.status_code == 200 and r.json()["sworn_at"] is not None
    assert (
        client.post(
            url(platform, f"/me/sanctions/{s['id']}/sworn-statement"), json=sworn, headers=auth(token)
        ).status_code
        == 409
    )
    # past the 30 days, a new notice's sworn statement comes too late
    other, other_email, _other_token = user_session(client, platform)
    late = impose(client, platform, staff, other, "formal_notice", rules=["CONSULT-SANCTION-1"]).json()
    clock.advance(timedelta(days=30))
    fresh = login(client, platform, other_email).json()["token"]
    r = client.post(
        url(platform, f"/me/sanctions/{late['id']}/sworn-statement"), json=sworn, headers=auth(fresh)
    )
    assert r.status_code == 409 and "CONSULT-SANCTION-1" in r.json()["rules"]


def test_CARPOOL_SUSPEND_1_a_suspension_is_emailed_refuses_login_and_changes_and_can_be_answered(
    client, runtime, platform
) -> None:
    user, user_email, token = user_session(client, platform)
    first = staff_token(client, runtime, platform)
    second = staff_token(client, runtime, platform)
    r = impose(client, platform, first, user, "suspension")
    assert r.status_code == 201, r.text
    s = r.json()
    [mail] = messages(runtime, platform, "moderation.statement_of_reasons", user_email)
    assert (
        mail.payload["action"] == "account suspended"
        and mail.payload["facts"] == "three members report threats"
    )
    assert "LAW-DSA-17" in mail.payload["rules"] and "CARPOOL-SUSPEND-1" in mail.payload["rules"]
    refused = login(client, platform, user_email)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/account-suspended")
    assert "CARPOOL-SUSPEND-1" in refused.json()["rules"]
    # the session opened before is refused on a state-changing call, still reads
    change = client.post(url(platform, "/me/compromise"), json={"details": "x"}, headers=auth(token))
    assert change.status_code == 403 and change.json()["type"].endswith("/account-suspended")
    assert client.get(url(platform, "/me/sanctions"), headers=auth(token)).status_code == 200
    assert _hidden(runtime, platform, user)
    # the member answers through the e-mail's link; another staff member lifts the suspension
    answer = client.post(
        url(platform, "/moderation/complaints"),
        json={"token": mail.payload["contest_token"], "text": "I threatened nobody"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["source_kind"] == "sanction" and answer.json()["source_id"] == s["id"]
    body = {"outcome": "reversed", "reasons": "the reports concern another member"}
    assert (
        client.post(
            url(platform, f"/staff/moderation/complaints/{answer.json()['id']}/answer"),
            json=body,
            headers=auth(first),
        ).status_code
        == 403
    )
    r = client.post(
        url(platform, f"/staff/moderation/complaints/{answer.json()['id']}/answer"),
        json=body,
        headers=auth(second),
    )
    assert r.status_code == 200, r.text
    lifted = client.get(url(platform, f"/staff/sanctions/{s['id']}"), headers=auth(second)).json()
    assert (
        lifted["status"] == "lifted"
        and lifted["lift_reason"] == body["reasons"]
        and "LAW-DSA-20" not in lifted["rules"]
    )
    assert login(client, platform, user_email).status_code == 201
    assert not _hidden(runtime, platform, user)
    [told] = messages(runtime, platform, "sanctions.lifted", user_email)
    assert told.payload["reason"] == body["reasons"]
    with runtime.sessions() as db:
        actions = [
            e.action
            for e in list_entries(db, platform_id=platform.id, object_type="sanction", object_id=s["id"])
        ]
    assert "sanction.imposed.suspension" in actions and "sanction.lifted.suspension" in actions


def test_EXPERT_SANCTION_1_a_wallet_freeze_blocks_the_wallet_and_lifting_unblocks_it(
    client, runtime, platform, clock
) -> None:
    user, _e, _t = user_session(client, platform)
    with runtime.sessions() as db, db.begin():
        wallet = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id=user, now=clock.now()
        )
    staff = staff_token(client, runtime, platform)
    r = impose(
        client,
        platform,
        staff,
        user,
        "wallet_freeze",
        rules=["EXPERT-SANCTION-1"],
        facts="consultations subcontracted",
    )
    assert r.status_code == 201, r.text
    assert r.json()["effects"]["frozen_accounts"] == [wallet.id]
    with runtime.sessions() as db, db.begin():
        assert ledger.get_account(db, platform_id=platform.id, account_id=wallet.id).frozen
    r = client.post(
        url(platform, f"/staff/sanctions/{r.json()['id']}/lift"),
        json={"reason": "documents received"},
        headers=auth(staff),
    )
    assert r.status_code == 200 and r.json()["status"] == "lifted"
    with runtime.sessions() as db, db.begin():
        assert not ledger.get_account(db, platform_id=platform.id, account_id=wallet.id).frozen
    again = client.post(
        url(platform, f"/staff/sanctions/{r.json()['id']}/lift"),
        json={"reason": "twice"},
        headers=auth(staff),
    )
    assert again.status_code == 409


def test_CARPOOL_FRAUD_1_termination_freezes_payouts_refuses_login_and_re_registration(
    client, runtime, platform, clock
) -> None:
    user, user_email, _t = user_session(
        client, platform, phone="+33612345678", headers={"X-Device-Id": "dev-42"}
    )
    with runtime.sessions() as db, db.begin():
        wallet = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id=user, now=clock.now()
        )
    staff = staff_token(client, runtime, platform)
    r = impose(
        client, platform, staff, user, "termination", rules=["CARPOOL-FRAUD-1"], facts="trips never made"
    )
    assert r.status_code == 201, r.text
    effects = r.json()["effects"]
    assert effects["frozen_accounts"] == [wallet.id] and set(effects["banned_identifiers"]) == {
        "email",
        "phone",
        "device",
    }
    assert login(client, platform, user_email).status_code == 403
    assert register(client, platform, headers={"X-Device-Id": "dev-42"}).status_code == 403
    # once the account is closed its e-mail and phone are free, yet the same person cannot come back:
    # a new account with the same e-mail (other case), the same phone, or from the same device is refused
    with runtime.sessions() as db, db.begin():
        accounts.close_account(db, platform=platform, user_id=user, now=clock.now(), reason="terminated")
    for body in (
        {"email": user_email.upper()},
        {"phone": "06 12 34 56 78"},
        {"headers": {"X-Device-Id": "dev-42"}},
    ):
        r = register(client, platform, **body)
        assert r.status_code == 403, (body, r.text)
        assert r.json()["type"].endswith("/registration-refused") and "COMMON-ACCOUNT-1" in r.json()["rules"]
    assert register(client, platform, headers={"X-Device-Id": "dev-7"}).status_code == 201
    # on another platform, nothing is refused
    other = make_platform(runtime)
    assert register(client, other, email=user_email).status_code == 201


def test_COMMON_ACCOUNT_1_a_registration_ban_refuses_the_same_person_until_lifted(
    client, runtime, platform, clock
) -> None:
    user, user_email, _t = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    s = impose(
        client, platform, staff, user, "registration_ban", rules=["COMMON-ACCOUNT-1"], facts="second account"
    ).json()
    assert s["effects"]["banned_identifiers"] == ["email"]
    # the account itself stays usable; only a new registration is refused
    assert login(client, platform, user_email, PASSWORD).status_code == 201
    with runtime.sessions() as db, db.begin():
        accounts.close_account(db, platform=platform, user_id=user, now=clock.now())
    r = register(client, platform, email=user_email)
    assert r.status_code == 403 and r.json()["type"].endswith("/registration-refused")
    lifted = client.post(
        url(platform, f"/staff/sanctions/{s['id']}/lift"), json={"reason": "error"}, headers=auth(staff)
    )
    assert lifted.status_code == 200
    assert register(client, platform, email=user_email).status_code == 201
    assert (
        client.get(url(platform, "/staff/sanctions?status=active"), headers=auth(staff)).json()["items"] == []
    )


def test_a_restriction_hides_the_profile_until_lifted(client, runtime, platform) -> None:
    user, _e, token = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    s = impose(client, platform, staff, user, "restriction").json()
    assert _hidden(runtime, platform, user)
    with runtime.sessions() as db, db.begin():
        assert sanctions.is_restricted(db, platform_id=platform.id, user_id=user)
        assert sanctions.is_blocked(db, platform_id=platform.id, user_id=user) is None
    assert (
        client.post(
            url(platform, "/me/compromise"), json={"details": "lost phone"}, headers=auth(token)
        ).status_code
        == 204
    )
    assert impose(client, platform, staff, user, "restriction").status_code == 409
    client.post(
        url(platform, f"/staff/sanctions/{s['id']}/lift"), json={"reason": "remedied"}, headers=auth(staff)
    )
    assert not _hidden(runtime, platform, user)


def test_sanctions_refuse_bad_input_other_platforms_and_members(client, runtime, platform) -> None:
    user, _e, token = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    r = impose(client, platform, staff, user, "suspension", rules=["nope"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.rules"
    r = impose(client, platform, staff, user, "banishment")
    assert r.status_code == 422
    assert (
        impose(client, platform, staff, "0190aaaa-0000-7000-8000-000000000000", "suspension").status_code
        == 404
    )
    assert impose(client, platform, token, user, "suspension").status_code == 403
    other = make_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert impose(client, other, other_staff, user, "suspension").status_code == 404
    s = impose(client, platform, staff, user, "restriction").json()
    assert client.get(url(other, f"/staff/sanctions/{s['id']}"), headers=auth(other_staff)).status_code == 404
    assert (
        client.post(
            url(other, f"/staff/sanctions/{s['id']}/lift"), json={"reason": "x"}, headers=auth(other_staff)
        ).status_code
        == 404
    )
    _u2, _e2, intruder = user_session(client, platform)
    assert client.get(url(platform, "/me/sanctions"), headers=auth(intruder)).json() == []
    r = client.post(
        url(platform, f"/me/sanctions/{s['id']}/sworn-statement"), json={"text": "x"}, headers=auth(intruder)
    )
    assert r.status_code == 404
    with runtime.sessions() as db:
        assert [v.kind for v in sanctions.active_sanctions(db, platform_id=platform.id, user_id=user)] == [
            "restriction"
        ]


def test_COMMON_ACCOUNT_1_a_payment_instrument_matcher_plugs_in(client, runtime, platform) -> None:
    banned, _e, _t = user_session(client, platform)
    newcomer, _e2, _t2 = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    impose(client, platform, staff, banned, "registration_ban", rules=["COMMON-ACCOUNT-1"])

    def matcher(db, platform_id: str, user_id: str) -> list[str]:  # type: ignore[no-untyped-def]
        return [banned] if user_id == newcomer else []

    sanctions.register_instrument_matcher(matcher)
    try:
        with runtime.sessions() as db, db.begin():
            assert not sanctions.linked_to_banned(db, platform_id=platform.id, user_id=newcomer).allowed
            assert sanctions.linked_to_banned(db, platform_id=platform.id, user_id=banned).allowed
    finally:
        sanctions.INSTRUMENT_MATCHERS.remove(matcher)
