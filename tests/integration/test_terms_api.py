"""Terms, acceptance evidence, the terms guard, notice and termination, withdrawal and waivers."""

from __future__ import annotations

from datetime import timedelta

from accounts_helpers import (
    CARPOOL_SETTINGS,
    auth,
    login,
    register,
    staff_token,
    url,
    user_session,
)
from sqlalchemy import select

from conftest import make_platform
from entremise.accounts.models import User
from entremise.audit.models import AuditEntry
from entremise.notify.outbox import messages_for
from entremise.terms import service as terms
from entremise.terms.models import TermsAcceptance, WithdrawalRight


def _publish(client, platform, token, audience="client", version="v1", effective_at=None, now=None):
    body = {
        "version": version,
        "text": f"Conditions {version}",
        "effective_at": (effective_at or now).isoformat(),
    }
    return client.post(url(platform, f"/staff/terms/{audience}"), json=body, headers=auth(token))


def test_COMMON_TERMS_1_staff_publish_and_anyone_reads(client, runtime, clock, platform):
    staff = staff_token(client, runtime, platform)
    _u, _i, user_token = user_session(client, platform)
    assert client.get(url(platform, "/terms/client")).status_code == 404
    r = _publish(client, platform, user_token, now=clock.now())
    assert r.status_code == 403
    r = _publish(client, platform, staff, now=clock.now())
    assert r.status_code == 201, r.text
    read = client.get(url(platform, "/terms/client"))
    assert read.status_code == 200 and read.json()["version"] == "v1" and read.json()["in_force"]
    assert client.get(url(platform, "/terms/client/v1")).json()["text"] == "Conditions v1"
    assert client.get(url(platform, "/terms/client/v9")).status_code == 404
    assert client.get(url(platform, "/terms/nobody")).status_code == 422
    assert _publish(client, platform, staff, now=clock.now()).status_code == 409  # same label twice
    r = client.post(
        url(platform, "/staff/terms/client"),
        json={"version": "v2", "text": "x", "effective_at": "2026-12-01T00:00:00"},  # naive time refused
        headers=auth(staff),
    )
    assert r.status_code == 422
    other = make_platform(runtime)
    assert client.get(url(other, "/terms/client")).status_code == 404


def test_COMMON_TERMS_1_registration_must_carry_acceptance_recorded_as_evidence(
    client, runtime, clock, platform
):
    staff = staff_token(client, runtime, platform)
    _publish(client, platform, staff, now=clock.now())
    r = register(client, platform)
    assert r.status_code == 422 and r.json()["rules"] == ["COMMON-TERMS-1"]
    r = register(client, platform, terms={"version": "v1", "accepted": False})
    assert r.status_code == 422
    r = register(client, platform, terms={"version": "v0", "accepted": True})
    assert r.status_code == 422
    r = client.post(
        url(platform, "/accounts"),
        json={
            "email": "ok@example.fr",
            "password": "correct horse battery staple",
            "terms": {"version": "v1", "accepted": True},
        },
        headers={"User-Agent": "TestBrowser/1.0"},
    )
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    with runtime.sessions() as db, db.begin():
        [acc] = db.scalars(select(TermsAcceptance).where(TermsAcceptance.user_id == user_id)).all()
        assert acc.user_agent == "TestBrowser/1.0" and acc.ip and acc.accepted_at == clock.now()
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "terms.accepted", AuditEntry.actor_id == user_id)
        ).one()
        assert "COMMON-TERMS-1" in entry.rules and "COMMON-EVIDENCE-1" in entry.rules
    assert login(client, platform, "ok@example.fr").json()["terms_to_accept"] is None


def test_COMMON_TERMS_2_new_version_must_be_accepted_before_any_change(client, runtime, clock, platform):
    staff = staff_token(client, runtime, platform)
    _publish(client, platform, staff, now=clock.now())
    _user_id, ident, token = user_session(
        client,
        platform,
        role="org_admin",
        organisation_name="Acme",
        terms={"version": "v1", "accepted": True},
    )
    assert _publish(client, platform, staff, audience="business", now=clock.now()).status_code == 201
    _publish(client, platform, staff, audience="business", version="v2", now=clock.now())
    new_user = {"email": "member@example.fr", "password": "correct horse battery staple"}
    r = client.post(url(platform, "/organisation/users"), json=new_user, headers=auth(token))
    assert r.status_code == 403
    body = r.json()
    assert body["type"].endswith("terms-acceptance-required") and body["rules"] == ["COMMON-TERMS-2"]
    assert body["version"] == "v2" and body["audience"] == "business"
    assert body["read_url"].endswith(f"/api/v1/platforms/{platform.slug}/terms/business/v2")
    assert body["accept_url"] == body["read_url"] + "/acceptance"
    with runtime.sessions() as db, db.begin():
        assert (
            db.scalar(
                select(User.id).where(User.platform_id == platform.id, User.email == "member@example.fr")
            )
            is None
        )
    login_body = login(client, platform, ident).json()
    assert login_body["terms_to_accept"]["version"] == "v2"
    r = client.post(
        url(platform, "/terms/business/v2/acceptance"), json={"accepted": False}, headers=auth(token)
    )
    assert r.status_code == 422
    r = client.post(
        url(platform, "/terms/client/v1/acceptance"), json={"accepted": True}, headers=auth(token)
    )
    assert r.status_code == 403  # not this account's audience
    r = client.post(
        url(platform, "/terms/business/v2/acceptance"), json={"accepted": True}, headers=auth(token)
    )
    assert r.status_code == 201
    assert (
        client.post(url(platform, "/organisation/users"), json=new_user, headers=auth(token)).status_code
        == 201
    )


def test_COMMON_TERMS_2_carpool_notice_of_fourteen_days(client, runtime, clock):
    carpool = make_platform(runtime, CARPOOL_SETTINGS)
    staff = staff_token(client, runtime, carpool)
    assert (
        _publish(client, carpool, staff, now=clock.now()).status_code == 201
    )  # the first version: no notice
    members = [
        user_session(client, carpool, phone=phone, terms={"version": "v1", "accepted": True})
        for phone in ("0611111111", "0622222222")
    ]
    r = _publish(
        client, carpool, staff, version="v2", effective_at=clock.now() + timedelta(days=13, hours=23)
    )
    assert r.status_code == 422 and r.json()["rules"] == ["COMMON-TERMS-2"]
    assert client.get(url(carpool, "/terms/client/v2")).status_code == 404
    effective = clock.now() + timedelta(days=14)
    r = _publish(client, carpool, staff, version="v2", effective_at=effective)
    assert r.status_code == 201 and r.json()["in_force"] is False
    with runtime.sessions() as db, db.begin():
        sent = messages_for(db, platform_id=carpool.id, template="terms.new_version")
    assert sorted(m.user_id for m in sent) == sorted(m[0] for m in members)
    assert sent[0].payload == {
        "platform_name": carpool.name,
        "audience": "client",
        "version": "v2",
        "effective_at": effective.isoformat(),
        "read_url": f"{runtime.settings.base_url}/api/v1/platforms/{carpool.slug}/terms/client/v2",
        "terminate_until": "2026-12-03",
    }
    # v1 stays in force until v2's date
    assert client.get(url(carpool, "/terms/client")).json()["version"] == "v1"
    clock.advance(timedelta(days=14))
    assert client.get(url(carpool, "/terms/client")).json()["version"] == "v2"


def test_COMMON_TERMS_2_member_may_terminate_within_ten_days(client, runtime, clock):
    carpool = make_platform(runtime, CARPOOL_SETTINGS)
    staff = staff_token(client, runtime, carpool)
    _publish(client, carpool, staff, now=clock.now())
    leaver_id, _l, leaver = user_session(
        client, carpool, phone="0633333333", terms={"version": "v1", "accepted": True}
    )
    _late_id, _lt, late = user_session(
        client, carpool, phone="0644444444", terms={"version": "v1", "accepted": True}
    )
    r = client.post(url(carpool, "/me/terms-termination"), headers=auth(leaver))
    assert r.status_code == 409  # the first version is no change
    _publish(client, carpool, staff, version="v2", effective_at=clock.now() + timedelta(days=14))
    clock.advance(timedelta(days=10))
    r = client.post(url(carpool, "/me/terms-termination"), headers=auth(leaver))
    assert r.status_code == 200 and r.json()["status"] == "closed"
    clock.advance(timedelta(seconds=1))
    r = client.post(url(carpool, "/me/terms-termination"), headers=auth(late))
    assert r.status_code == 409 and r.json()["rules"] == ["COMMON-TERMS-2"]
    with runtime.sessions() as db, db.begin():
        row = db.get(User, leaver_id)
        assert row.status == "closed" and row.closure_reason == "terms_change"
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.object_id == leaver_id, AuditEntry.action == "user.closed")
        ).one()
        assert entry.rules == ["COMMON-TERMS-2", "COMMON-ACCOUNT-4"] and entry.data["terms_version"] == "v2"


def test_COMMON_TERMS_2_termination_refused_without_a_window(client, platform):
    _u, _i, token = user_session(client, platform)
    r = client.post(url(platform, "/me/terms-termination"), headers=auth(token))
    assert r.status_code == 409


# --- withdrawal ----------------------------------------------------------------------------------


def _open_contract(runtime, platform, user_id, object_id="b-1"):
    with runtime.sessions() as db, db.begin():
        return terms.open_withdrawal_right(
            db,
            platform=platform,
            object_type="booking",
            object_id=object_id,
            user_id=user_id,
            concluded_at=runtime.clock.now(),
            now=runtime.clock.now(),
        )


def test_COMMON_WITHDRAW_1_deadline_and_express_waiver(client, runtime, clock, platform):
    user_id, _i, token = user_session(client, platform)
    view = _open_contract(runtime, platform, user_id)
    assert view.deadline.isoformat() == "2026-12-07T22:59:59+00:00"  # Monday 7 December, 23:59:59 Paris
    r = client.get(url(platform, "/withdrawal/booking/b-1"), headers=auth(token))
    assert r.status_code == 200 and r.json()["open"] is True and r.json()["waived_at"] is None
    assert r.json()["rules"] == ["COMMON-WITHDRAW-1"]
    waiver = {
        "waiver_text": "Je demande l'exécution immédiate et renonce à mon droit de rétractation.",
        "accepted": True,
    }
    r = client.post(
        url(platform, "/withdrawal/booking/b-1/waiver"),
        json={**waiver, "accepted": False},
        headers=auth(token),
    )
    assert r.status_code == 422
    r = client.post(
        url(platform, "/withdrawal/booking/b-1/waiver"),
        json=waiver,
        headers={**auth(token), "User-Agent": "UA/2"},
    )
    assert (
        r.status_code == 201
        and r.json()["open"] is False
        and r.json()["waiver_text"] == waiver["waiver_text"]
    )
    with runtime.sessions() as db, db.begin():
        row = db.scalars(select(WithdrawalRight).where(WithdrawalRight.platform_id == platform.id)).one()
        assert row.waiver_user_agent == "UA/2" and row.waiver_ip and row.waived_at == clock.now()
    assert (
        client.post(
            url(platform, "/withdrawal/booking/b-1/waiver"), json=waiver, headers=auth(token)
        ).status_code
        == 409
    )


def test_COMMON_WITHDRAW_1_only_the_consumer_sees_or_waives(client, runtime, platform):
    owner_id, _i, _t = user_session(client, platform)
    _other_id, _oi, other_token = user_session(client, platform)
    _open_contract(runtime, platform, owner_id)
    assert client.get(url(platform, "/withdrawal/booking/b-1"), headers=auth(other_token)).status_code == 404
    r = client.post(
        url(platform, "/withdrawal/booking/b-1/waiver"),
        json={"waiver_text": "x", "accepted": True},
        headers=auth(other_token),
    )
    assert r.status_code == 404
    foreign = make_platform(runtime)
    _f, _fi, foreign_token = user_session(client, foreign)
    assert (
        client.get(url(platform, "/withdrawal/booking/b-1"), headers=auth(foreign_token)).status_code == 401
    )
    with runtime.sessions() as db, db.begin():
        assert (
            db.scalars(
                select(WithdrawalRight.waived_at).where(WithdrawalRight.platform_id == platform.id)
            ).one()
            is None
        )


def test_COMMON_WITHDRAW_1_no_waiver_after_the_period(client, runtime, clock, platform):
    user_id, ident, _t = user_session(client, platform)
    _open_contract(runtime, platform, user_id)
    clock.advance(timedelta(days=15))
    token = login(client, platform, ident).json()["token"]
    assert client.get(url(platform, "/withdrawal/booking/b-1"), headers=auth(token)).json()["open"] is False
    r = client.post(
        url(platform, "/withdrawal/booking/b-1/waiver"),
        json={"waiver_text": "x", "accepted": True},
        headers=auth(token),
    )
    assert r.status_code == 409


# --- audit ---------------------------------------------------------------------------------------


def test_COMMON_EVIDENCE_1_audit_trail_is_for_staff_with_filters_and_cursor(client, runtime, platform):
    user_id, _i, token = user_session(client, platform)
    staff = staff_token(client, runtime, platform)
    assert client.get(url(platform, "/audit"), headers=auth(token)).status_code == 403
    assert client.get(url(platform, "/audit")).status_code == 401
    r = client.get(url(platform, f"/audit?object_type=user&object_id={user_id}"), headers=auth(staff))
    assert r.status_code == 200
    actions = [e["action"] for e in r.json()["items"]]
    assert actions[:2] == ["user.registered", "session.created"]
    page1 = client.get(url(platform, "/audit?limit=1"), headers=auth(staff)).json()
    page2 = client.get(
        url(platform, f"/audit?limit=1&cursor={page1['next_cursor']}"), headers=auth(staff)
    ).json()
    assert page1["items"][0]["id"] < page2["items"][0]["id"]
    mine = client.get(url(platform, f"/audit?actor_id={user_id}"), headers=auth(staff)).json()["items"]
    assert mine and all(e["actor_id"] == user_id for e in mine)
    assert client.get(url(platform, "/audit?cursor=zzzz"), headers=auth(staff)).status_code == 422
    assert client.get(url(platform, "/audit?limit=0"), headers=auth(staff)).status_code == 422
    other = make_platform(runtime)
    assert client.get(url(other, "/audit"), headers=auth(staff)).status_code == 401


def test_COMMON_TERMS_2_first_terms_are_announced_to_existing_members_without_a_termination_window(
    client, runtime, clock
):
    carpool = make_platform(runtime, CARPOOL_SETTINGS)
    member_id, ident, token = user_session(client, carpool, phone="0655555555")
    staff = staff_token(client, runtime, carpool)
    assert _publish(client, carpool, staff, now=clock.now()).status_code == 201
    with runtime.sessions() as db, db.begin():
        [msg] = messages_for(db, platform_id=carpool.id, template="terms.new_version")
    assert msg.user_id == member_id and msg.payload["terminate_until"] is None
    assert login(client, carpool, ident).json()["terms_to_accept"]["version"] == "v1"
    assert client.post(url(carpool, "/me/terms-termination"), headers=auth(token)).status_code == 409
