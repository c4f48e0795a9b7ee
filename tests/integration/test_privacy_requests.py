"""Data-protection requests (COMMON-PRIVACY-1) through the HTTP API: deadlines, extension, staff
answers with reasoned refusals, the outcome told with the right to complain to the CNIL, erasure with
retention holds (COMMON-ACCOUNT-4), rectification, restriction and objection; and post-mortem
directives (Loi Informatique et Libertés art. 85)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_helpers import auth, email, staff_token, url, user_session
from privacy_helpers import count, outbox_of
from sqlalchemy import select

from conftest import make_platform
from entremise.accounts import service as accounts
from entremise.accounts.models import User
from entremise.audit.models import AuditEntry
from entremise.notify.render import render
from entremise.privacy.models import PrivacyRequest, ProcessingLimit

REFUSAL = {
    "outcome": "refused",
    "message": "A dispute about your last ride is still open; we must keep your data until it ends.",
    "grounds": ["legal_claims"],
}


def _file(client, platform, token, **body):  # type: ignore[no-untyped-def]
    return client.post(url(platform, "/me/privacy-requests"), json=body, headers=auth(token))


def _staff(client, runtime, platform):  # type: ignore[no-untyped-def]
    return auth(staff_token(client, runtime, platform))


def _rendered(runtime, message) -> str:  # type: ignore[no-untyped-def]
    return render(message.template, "email", message.locale, message.payload).text


# --- filing ----------------------------------------------------------------------------------------


def test_COMMON_PRIVACY_1_a_request_gets_its_one_month_deadline_and_an_acknowledgement(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    r = _file(client, platform, token, kind="access", details="everything you hold, please")
    assert r.status_code == 201, r.text
    body = r.json()
    # received 23 November 2026: one month later is 23 December 2026, a Wednesday
    assert body["due_on"] == "2026-12-23" and body["first_due_on"] == "2026-12-23"
    assert body["status"] == "open" and body["overdue"] is False and body["rules"] == ["COMMON-PRIVACY-1"]
    assert body["user_notified"] is True
    [ack] = outbox_of(runtime, platform, user_id, "privacy.request_received")
    text = _rendered(runtime, ack)
    assert "23 décembre 2026" in text and body["id"] in text
    mine = client.get(url(platform, "/me/privacy-requests"), headers=auth(token)).json()
    assert [x["id"] for x in mine["items"]] == [body["id"]]
    assert client.get(url(platform, f"/me/privacy-requests/{body['id']}"), headers=auth(token)).json() == body


def test_COMMON_PRIVACY_1_requests_of_another_user_or_platform_are_not_found(client, runtime, platform):
    _a, _ia, a_token = user_session(client, platform)
    _b, _ib, b_token = user_session(client, platform)
    request_id = _file(client, platform, a_token, kind="access").json()["id"]
    assert (
        client.get(url(platform, f"/me/privacy-requests/{request_id}"), headers=auth(b_token)).status_code
        == 404
    )
    assert client.get(url(platform, "/me/privacy-requests"), headers=auth(b_token)).json()["items"] == []
    other = make_platform(runtime)
    other_staff = _staff(client, runtime, other)
    assert (
        client.get(url(other, f"/staff/privacy-requests/{request_id}"), headers=other_staff).status_code
        == 404
    )
    r = client.post(
        url(other, f"/staff/privacy-requests/{request_id}/answer"), json=REFUSAL, headers=other_staff
    )
    assert r.status_code == 404
    assert client.get(url(platform, "/staff/privacy-requests"), headers=auth(a_token)).status_code == 403


@pytest.mark.rule("COMMON-PRIVACY-1")
def test_bad_requests_are_clear_problems_and_change_nothing(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    other_id, _io, _to = user_session(client, platform)
    cases = [
        ({"kind": "deletion"}, "body.kind"),
        ({"kind": "access", "purposes": ["marketing"]}, "body.purposes"),
        ({"kind": "objection", "purposes": ["weather"]}, "body.purposes.0"),
        ({"kind": "rectification"}, "body.changes"),
        ({"kind": "rectification", "changes": {"password_hash": "x"}}, "body.changes.password_hash"),
        ({"kind": "erasure", "user_id": other_id}, "body.user_id"),  # erasure asked for another user
        ({"kind": "access", "details": "x" * 4001}, "body.details"),
    ]
    for body, field in cases:
        r = _file(client, platform, token, **body)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    assert count(runtime, PrivacyRequest, platform_id=platform.id) == 0
    assert count(runtime, ProcessingLimit, platform_id=platform.id) == 0
    assert _file(client, platform, token, kind="access").status_code == 201
    again = _file(client, platform, token, kind="access")
    assert again.status_code == 409 and again.json()["request_id"]
    assert count(runtime, PrivacyRequest, user_id=user_id) == 1


# --- extension and overdue list ------------------------------------------------------------------


def test_COMMON_PRIVACY_1_staff_extend_once_within_the_first_month_and_the_user_is_told_why(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    request_id = _file(client, platform, token, kind="portability").json()["id"]
    staff = _staff(client, runtime, platform)
    path = url(platform, f"/staff/privacy-requests/{request_id}/extension")
    r = client.post(path, json={"months": 3, "reason": "many years of history"}, headers=staff)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.months"
    r = client.post(path, json={"months": 2, "reason": "short"}, headers=staff)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.reason"
    reason = "eight years of consultations to gather from the archive"
    r = client.post(path, json={"months": 2, "reason": reason}, headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["due_on"] == "2027-02-23" and r.json()["first_due_on"] == "2026-12-23"
    assert r.json()["extension_reason"] == reason
    [notice] = outbox_of(runtime, platform, user_id, "privacy.request_extended")
    assert reason in _rendered(runtime, notice) and "23 février 2027" in _rendered(runtime, notice)
    again = client.post(path, json={"months": 1, "reason": reason}, headers=staff)
    assert again.status_code == 409 and again.json()["rules"] == ["COMMON-PRIVACY-1"]


def test_COMMON_PRIVACY_1_no_extension_after_the_first_month_and_overdue_requests_are_listed(
    client, runtime, platform
):
    _user_id, _ident, token = user_session(client, platform)
    late = _file(client, platform, token, kind="access").json()["id"]
    runtime.clock.advance(timedelta(days=20))
    _other, _io, fresh = user_session(client, platform)  # the first session has expired by now
    recent = _file(client, platform, fresh, kind="portability").json()["id"]
    staff = _staff(client, runtime, platform)
    overdue = url(platform, "/staff/privacy-requests/overdue")
    assert client.get(overdue, headers=staff).json()["items"] == []
    runtime.clock.advance(timedelta(days=11))  # 24 December: the access request was due the 23rd
    items = client.get(overdue, headers=staff).json()["items"]
    assert [x["id"] for x in items] == [late] and items[0]["overdue"] is True
    queue = client.get(url(platform, "/staff/privacy-requests"), headers=staff).json()["items"]
    assert [x["id"] for x in queue] == [late, recent]  # by due date
    r = client.post(
        url(platform, f"/staff/privacy-requests/{late}/extension"),
        json={"months": 2, "reason": "far more work than expected"},
        headers=staff,
    )
    assert r.status_code == 409 and "first month" in r.json()["detail"]
    assert client.get(overdue, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_staff_queue_pages_by_due_date(client, runtime, platform):
    staff = _staff(client, runtime, platform)
    ids = []
    for _ in range(3):
        _u, _i, token = user_session(client, platform)
        ids.append(_file(client, platform, token, kind="access").json()["id"])
        runtime.clock.advance(timedelta(days=1))
    first = client.get(url(platform, "/staff/privacy-requests?limit=2"), headers=staff).json()
    second = client.get(
        url(platform, f"/staff/privacy-requests?limit=2&cursor={first['next_cursor']}"), headers=staff
    ).json()
    assert [x["id"] for x in first["items"] + second["items"]] == ids and second["next_cursor"] is None
    r = client.get(url(platform, "/staff/privacy-requests?cursor=MTIz"), headers=staff)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"


# --- answers -------------------------------------------------------------------------------------


def test_COMMON_PRIVACY_1_a_refusal_gives_its_reasons_and_tells_the_user_of_the_cnil(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    request_id = _file(client, platform, token, kind="erasure").json()["id"]
    staff = _staff(client, runtime, platform)
    path = url(platform, f"/staff/privacy-requests/{request_id}/answer")
    r = client.post(path, json={**REFUSAL, "grounds": []}, headers=staff)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.grounds"
    r = client.post(path, json={**REFUSAL, "grounds": ["rights_of_others"]}, headers=staff)
    assert r.status_code == 422 and "does not apply to erasure" in r.json()["errors"][0]["reason"]
    assert count(runtime, PrivacyRequest, id=request_id, status="open") == 1
    r = client.post(path, json=REFUSAL, headers=staff)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "answered" and body["outcome"] == "refused"
    assert body["grounds"] == [
        {
            "code": "legal_claims",
            "article": "GDPR arts. 17(3)(e), 18(2), 21(1)",
            "label": "the data are needed to establish, exercise or defend legal claims",
        }
    ]
    [answer] = outbox_of(runtime, platform, user_id, "privacy.request_answered")
    text = _rendered(runtime, answer)
    assert "refusée" in text and REFUSAL["message"] in text and "CNIL" in text and "legal claims" in text
    with runtime.sessions() as db:
        assert db.get(User, user_id).status == "active"  # refused: nothing erased
    # an answered request is closed: answering again is refused and changes nothing
    again = client.post(path, json={**REFUSAL, "outcome": "granted", "grounds": []}, headers=staff)
    assert again.status_code == 409
    with runtime.sessions() as db:
        assert db.get(PrivacyRequest, request_id).outcome == "refused"
        assert db.get(User, user_id).status == "active"


def test_COMMON_ACCOUNT_4_erasure_granted_closes_the_account_and_says_what_is_kept_and_until_when(
    client, runtime, platform
):
    def took_part(db, platform_id, user_id):  # type: ignore[no-untyped-def]
        return True

    accounts.register_activity_check(took_part)
    try:
        user_id, ident, token = user_session(client, platform, first_name="Léa", last_name="Roux")
        request_id = _file(client, platform, token, kind="erasure", details="close and erase").json()["id"]
        r = client.post(
            url(platform, f"/staff/privacy-requests/{request_id}/answer"),
            json={"outcome": "granted", "message": "Your account is closed and your data erased."},
            headers=_staff(client, runtime, platform),
        )
    finally:
        accounts.ACTIVITY_CHECKS.remove(took_part)
    assert r.status_code == 200, r.text
    kept = r.json()["effects"]["kept"]
    assert {(k["field"], k["until"]) for k in kept} == {
        ("first_name", "2031-11-22"),
        ("last_name", "2031-11-22"),
        ("birth_date", "2031-11-22"),
        ("email_digest", "2027-11-23"),
    }
    with runtime.sessions() as db:
        user = db.get(User, user_id)
        assert user.status == "closed" and user.email is None and user.closure_reason == "erasure_request"
        assert user.first_name == "Léa"  # held: civil identity, COMMON-PRIVACY-3
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.object_id == user_id, AuditEntry.action == "user.closed")
        ).one()
        assert (
            entry.rules == ["COMMON-PRIVACY-1", "COMMON-ACCOUNT-4"] and entry.data["request_id"] == request_id
        )
    [answer] = outbox_of(runtime, platform, user_id, "privacy.request_answered")
    assert answer.recipient == ident  # told at the address held before the erasure
    text = _rendered(runtime, answer)
    assert "email_digest : jusqu'au 23 novembre 2027 (COMMON-PRIVACY-3)" in text
    assert client.get(url(platform, "/me"), headers=auth(token)).status_code == 401


def test_COMMON_PRIVACY_1_rectification_is_self_service_for_safe_fields_and_by_request_for_the_others(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform, first_name="Jon", address="1 rue A")
    r = client.patch(
        url(platform, "/me/profile"), json={"address": "2 rue B", "occupation": None}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["address"] == "2 rue B"
    r = client.patch(url(platform, "/me/profile"), json={"first_name": "John"}, headers=auth(token))
    assert r.status_code == 422 and "rectification request" in r.json()["errors"][0]["reason"]
    r = client.patch(url(platform, "/me/profile"), json={"address": "x" * 201}, headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.address"
    r = client.patch(url(platform, "/me/profile"), json={"password_hash": "x"}, headers=auth(token))
    assert r.status_code == 422
    request = _file(client, platform, token, kind="rectification", changes={"first_name": "John"}).json()
    staff = _staff(client, runtime, platform)
    path = url(platform, f"/staff/privacy-requests/{request['id']}/answer")
    r = client.post(
        path,
        json={
            "outcome": "granted",
            "message": "Your first name is corrected.",
            "changes": {"birth_date": "nope"},
        },
        headers=staff,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.changes.birth_date"
    r = client.post(
        path, json={"outcome": "granted", "message": "Your first name is corrected."}, headers=staff
    )
    assert r.status_code == 200, r.text
    assert r.json()["effects"]["fields_changed"] == ["first_name"]
    assert client.get(url(platform, "/me"), headers=auth(token)).json()["first_name"] == "John"
    with runtime.sessions() as db:
        entries = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_id == user_id, AuditEntry.action == "user.profile_updated")
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.actor_type, e.data["fields"]) for e in entries] == [
        ("user", ["address"]),
        ("staff", ["first_name"]),
    ]
    assert "John" not in str([e.data for e in entries])  # the audit names fields, never values


def test_rectification_cannot_take_another_accounts_email(client, runtime, platform):
    _a, a_email, _ta = user_session(client, platform)
    _b, _ib, b_token = user_session(client, platform)
    request = _file(client, platform, b_token, kind="rectification", changes={"email": a_email}).json()
    r = client.post(
        url(platform, f"/staff/privacy-requests/{request['id']}/answer"),
        json={"outcome": "granted", "message": "Your e-mail is changed as asked."},
        headers=_staff(client, runtime, platform),
    )
    assert r.status_code == 409 and r.json()["fields"] == ["email"]
    assert count(runtime, PrivacyRequest, id=request["id"], status="open") == 1


def test_COMMON_PRIVACY_1_a_restriction_applies_at_once_and_a_refusal_with_reasons_lifts_it(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    request_id = _file(client, platform, token, kind="restriction", purposes=["profiling"]).json()["id"]
    assert count(runtime, ProcessingLimit, user_id=user_id, active=True) == 1
    staff = _staff(client, runtime, platform)
    r = client.post(
        url(platform, f"/staff/privacy-requests/{request_id}/answer"),
        json={
            "outcome": "refused",
            "message": "We checked your data: they are accurate.",
            "grounds": ["data_accurate"],
        },
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["effects"] == {"limits_started": ["profiling"], "limits_ended": ["profiling"]}
    assert count(runtime, ProcessingLimit, user_id=user_id, active=True) == 0


def test_COMMON_PRIVACY_1_an_objection_to_marketing_cannot_be_refused(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    request_id = _file(client, platform, token, kind="objection").json()["id"]
    r = client.post(
        url(platform, f"/staff/privacy-requests/{request_id}/answer"),
        json={
            "outcome": "refused",
            "message": "We need your data for our offers.",
            "grounds": ["compelling_legitimate_grounds"],
        },
        headers=_staff(client, runtime, platform),
    )
    assert r.status_code == 422 and "21(3)" in r.json()["errors"][0]["reason"]
    assert count(runtime, ProcessingLimit, user_id=user_id, active=True) == 2


def test_staff_record_a_request_received_by_letter_with_its_date_of_receipt(client, runtime, platform):
    user_id, _ident, _token = user_session(client, platform)
    staff = _staff(client, runtime, platform)
    body = {
        "user_id": user_id,
        "kind": "access",
        "details": "letter of 20 November",
        "received_on": "2026-11-20",
    }
    r = client.post(url(platform, "/staff/privacy-requests"), json=body, headers=staff)
    assert r.status_code == 201, r.text
    assert r.json()["due_on"] == "2026-12-21" and r.json()["received_via"] == "staff"  # the 20th is a Sunday
    future = client.post(
        url(platform, "/staff/privacy-requests"),
        json={**body, "kind": "portability", "received_on": "2026-12-01"},
        headers=staff,
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.received_on"
    other = make_platform(runtime)
    other_user = user_session(client, other)[0]
    r = client.post(
        url(platform, "/staff/privacy-requests"), json={**body, "user_id": other_user}, headers=staff
    )
    assert r.status_code == 404


# --- post-mortem directives ------------------------------------------------------------------------


@pytest.mark.rule("COMMON-PRIVACY-1")
def test_post_mortem_directives_are_stored_shown_back_changed_and_revoked(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    path = url(platform, "/me/post-mortem-directives")
    assert client.get(path, headers=auth(token)).status_code == 404
    bad = client.put(path, json={"data_fate": "communicate"}, headers=auth(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.trusted_person_name"
    bad = client.put(path, json={"data_fate": "burn"}, headers=auth(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.data_fate"
    directive = {
        "data_fate": "communicate",
        "instructions": "Send my booking history to my sister, then erase everything.",
        "trusted_person_name": "Anne Roux",
        "trusted_person_contact": email(),
    }
    r = client.put(path, json=directive, headers=auth(token))
    assert r.status_code == 200, r.text
    shown = client.get(path, headers=auth(token)).json()
    assert {k: shown[k] for k in directive} == directive
    staff = _staff(client, runtime, platform)
    staff_path = url(platform, f"/staff/privacy/users/{user_id}/post-mortem-directives")
    assert client.get(staff_path, headers=staff).json()["trusted_person_name"] == "Anne Roux"
    other = make_platform(runtime)
    other_staff = _staff(client, runtime, other)
    assert (
        client.get(
            url(other, f"/staff/privacy/users/{user_id}/post-mortem-directives"), headers=other_staff
        ).status_code
        == 404
    )
    r = client.put(path, json={"data_fate": "erase"}, headers=auth(token))
    assert r.json()["trusted_person_name"] is None and r.json()["created_at"] == shown["created_at"]
    assert client.delete(path, headers=auth(token)).status_code == 204
    assert client.get(path, headers=auth(token)).status_code == 404
    assert client.delete(path, headers=auth(token)).status_code == 404
