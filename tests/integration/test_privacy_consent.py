"""Marketing consent (COMMON-PRIVACY-2): opt-in at registration, per channel with proof, the signed
one-click unsubscribe link (RFC 8058) through a real SMTP server, opt-out effective at once,
restriction and objection (COMMON-PRIVACY-1) consulted before marketing and profiling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from accounts_helpers import PASSWORD, auth, email, login, register, url, user_session
from privacy_helpers import consents, count, outbox_of, outbox_row, queue_marketing
from test_notify_delivery import SmtpServer, free_port, with_smtp

from conftest import make_platform
from entremise.accounts.models import User
from entremise.audit.service import list_entries
from entremise.notify import dispatch
from entremise.notify.dispatch import deliver_due
from entremise.privacy import service as privacy
from entremise.privacy.models import ConsentEvent

UA = {"User-Agent": "Firefox/140 test"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def _unsubscribe_path(unsubscribe_url: str) -> str:
    return urlsplit(unsubscribe_url).path


# --- opt-in at registration ------------------------------------------------------------------------


def test_COMMON_PRIVACY_2_opt_in_at_registration_is_stored_per_channel_with_its_proof(
    client, runtime, platform
):
    user_id, _ident, token = user_session(
        client, platform, marketing={"email": True, "sms": False}, headers=UA
    )
    assert consents(runtime, platform, user_id) == {"email": True, "sms": False, "phone": False}
    body = client.get(url(platform, "/me/marketing-consents"), headers=auth(token)).json()
    proof = {e["channel"]: e for e in body["history"]}
    assert proof["email"]["granted"] is True and proof["email"]["source"] == "registration"
    assert proof["email"]["ip"] == "testclient" and proof["email"]["user_agent"] == "Firefox/140 test"
    assert proof["email"]["at"] == "2026-11-23T09:00:00Z"
    assert body["rules"] == ["COMMON-PRIVACY-2"]


def test_COMMON_PRIVACY_2_no_marketing_field_at_registration_means_no_consent(client, runtime, platform):
    user_id, _ident, _token = user_session(client, platform)
    assert consents(runtime, platform, user_id) == {"email": False, "sms": False, "phone": False}
    assert count(runtime, ConsentEvent, user_id=user_id) == 0
    assert queue_marketing(runtime, platform, user_id).outbox_id is None


def test_COMMON_PRIVACY_2_an_unknown_channel_at_registration_is_refused_and_nothing_is_created(
    client, runtime, platform
):
    before = count(runtime, User, platform_id=platform.id)
    r = register(client, platform, marketing={"email": True, "fax": True})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.marketing.fax"]
    r = register(client, platform, marketing={"email": "yes"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.marketing.email"
    assert count(runtime, User, platform_id=platform.id) == before


# --- changing consent --------------------------------------------------------------------------------


def test_COMMON_PRIVACY_2_consent_changes_at_any_time_and_each_change_is_kept(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    r = client.put(
        url(platform, "/me/marketing-consents/sms"), json={"granted": True}, headers={**auth(token), **UA}
    )
    assert r.status_code == 200 and r.json()["granted"] is True
    runtime.clock.advance(timedelta(minutes=5))
    r = client.put(url(platform, "/me/marketing-consents/sms"), json={"granted": False}, headers=auth(token))
    assert r.json()["granted"] is False
    r = client.put(url(platform, "/me/marketing-consents/sms"), json={"granted": False}, headers=auth(token))
    assert r.status_code == 200  # the same choice again: nothing new to prove
    history = client.get(url(platform, "/me/marketing-consents"), headers=auth(token)).json()["history"]
    assert [(e["channel"], e["granted"], e["source"]) for e in history] == [
        ("sms", True, "settings"),
        ("sms", False, "settings"),
    ]
    with runtime.sessions() as db:
        actions = [e.action for e in list_entries(db, platform_id=platform.id, object_id=user_id)]
    assert (
        actions.count("marketing_consent.granted") == 1 and actions.count("marketing_consent.withdrawn") == 1
    )


@pytest.mark.rule("LAW-CANVASS-1")
def test_phone_canvassing_consent_is_stored_with_proof_and_can_be_withdrawn(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform, marketing={"phone": True}, headers=UA)
    with runtime.sessions() as db, db.begin():
        assert privacy.may_send_marketing(
            db, platform_id=platform.id, user_id=user_id, channel="phone"
        ).allowed
        [entry] = [
            e
            for e in list_entries(db, platform_id=platform.id, object_id=user_id)
            if e.action == "marketing_consent.granted"
        ]
        assert entry.rules == ["COMMON-PRIVACY-2", "LAW-CANVASS-1"] and entry.data["ip"] == "testclient"
    client.put(url(platform, "/me/marketing-consents/phone"), json={"granted": False}, headers=auth(token))
    with runtime.sessions() as db, db.begin():
        assert not privacy.may_send_marketing(
            db, platform_id=platform.id, user_id=user_id, channel="phone"
        ).allowed


def test_unknown_channel_or_bad_body_is_a_clear_problem_and_changes_nothing(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    r = client.put(url(platform, "/me/marketing-consents/fax"), json={"granted": True}, headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.channel"
    assert "email, sms, phone" in r.json()["errors"][0]["reason"]
    r = client.put(
        url(platform, "/me/marketing-consents/email"), json={"granted": "true"}, headers=auth(token)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.granted"
    r = client.put(
        url(platform, "/me/marketing-consents/email"),
        json={"granted": True, "user_id": "x"},
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.user_id"
    assert (
        client.put(url(platform, "/me/marketing-consents/email"), json={"granted": True}).status_code == 401
    )
    assert count(runtime, ConsentEvent, user_id=user_id) == 0


def test_consents_are_per_user_and_per_platform(client, runtime, platform):
    a_id, _a, a_token = user_session(client, platform)
    b_id, _b, _b_token = user_session(client, platform, marketing={"email": True})
    client.put(url(platform, "/me/marketing-consents/email"), json={"granted": True}, headers=auth(a_token))
    client.put(url(platform, "/me/marketing-consents/email"), json={"granted": False}, headers=auth(a_token))
    assert consents(runtime, platform, b_id)["email"] is True
    other = make_platform(runtime)
    r = client.put(url(other, "/me/marketing-consents/email"), json={"granted": True}, headers=auth(a_token))
    assert r.status_code == 401  # a session of one platform means nothing on another
    assert consents(runtime, platform, a_id)["email"] is False


# --- unsubscribe links and delivery ----------------------------------------------------------------


def test_COMMON_PRIVACY_2_marketing_email_carries_rfc8058_headers_through_real_smtp_and_one_click_works(
    client, runtime, platform, smtp
):
    user_id, ident, _token = user_session(client, platform, marketing={"email": True})
    queued = queue_marketing(runtime, platform, user_id)
    assert queued.verdict.allowed and queued.outbox_id is not None
    assert deliver_due(with_smtp(runtime, smtp.port), runtime.clock.now(), platform_id=platform.id) == 1
    [mail] = smtp.handler.to(ident)
    header = str(mail["List-Unsubscribe"])
    assert header.startswith("<http://127.0.0.1:8000/api/v1/platforms/") and header.endswith(">")
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    link = header[1:-1]
    assert link in mail.get_body(preferencelist=("plain",)).get_content()
    assert b"=?utf-8?" not in smtp.handler.raw[-1].split(b"List-Unsubscribe:")[1].split(b"\n")[0]
    # what a mail client does on "unsubscribe": POST the URL, no cookie, no session
    r = client.post(
        _unsubscribe_path(link),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["subscribed"] is False and r.json()["channel"] == "email"
    assert consents(runtime, platform, user_id)["email"] is False
    [event] = [e for e in _events(runtime, user_id) if e.source == "unsubscribe_link"]
    assert event.granted is False and event.ip == "testclient"


def _events(runtime, user_id: str) -> list[ConsentEvent]:
    from sqlalchemy import select

    with runtime.sessions() as db:
        return list(db.scalars(select(ConsentEvent).where(ConsentEvent.user_id == user_id)))


def test_transactional_email_carries_no_unsubscribe_header(client, runtime, platform, smtp):
    _user_id, ident, _token = user_session(client, platform, marketing={"email": True})
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    deliver_due(with_smtp(runtime, smtp.port), runtime.clock.now(), platform_id=platform.id)
    [mail] = smtp.handler.to(ident)
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None


def test_COMMON_PRIVACY_2_an_opt_out_stops_a_message_queued_before_it(client, runtime, platform, smtp):
    """The terms allow 48 hours; the opt-out here is effective for the very next delivery."""
    user_id, ident, token = user_session(client, platform, marketing={"email": True})
    queued = queue_marketing(runtime, platform, user_id)
    r = client.put(
        url(platform, "/me/marketing-consents/email"), json={"granted": False}, headers=auth(token)
    )
    assert r.status_code == 200
    assert deliver_due(with_smtp(runtime, smtp.port), runtime.clock.now(), platform_id=platform.id) == 1
    assert smtp.handler.to(ident) == []
    row = outbox_row(runtime, queued.outbox_id)
    assert row.status == "suppressed" and row.sent_at is None and "no marketing consent" in row.last_error
    with runtime.sessions() as db:
        [entry] = [
            e
            for e in list_entries(db, platform_id=platform.id, object_type="outbox_message")
            if e.action == "notification.suppressed"
        ]
    assert entry.rules == ["COMMON-PRIVACY-2"]


def test_COMMON_PRIVACY_2_one_click_stops_a_queued_sms_too(client, runtime, platform):
    user_id, _ident, _token = user_session(client, platform, phone="0611223344", marketing={"sms": True})
    queued = queue_marketing(runtime, platform, user_id, channel="sms")
    link = outbox_row(runtime, queued.outbox_id).payload["unsubscribe_url"]
    assert client.post(_unsubscribe_path(link)).status_code == 200
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    assert outbox_row(runtime, queued.outbox_id).status == "suppressed"


def test_COMMON_PRIVACY_2_transactional_messages_are_not_blocked_by_an_opt_out(
    client, runtime, platform, smtp
):
    _user_id, ident, token = user_session(client, platform, marketing={"email": True})
    client.put(url(platform, "/me/marketing-consents/email"), json={"granted": False}, headers=auth(token))
    assert client.post(url(platform, "/password-resets"), json={"identifier": ident}).status_code == 202
    deliver_due(with_smtp(runtime, smtp.port), runtime.clock.now(), platform_id=platform.id)
    [mail] = smtp.handler.to(ident)
    assert "reset-password?token=" in mail.get_body(preferencelist=("plain",)).get_content()


def test_COMMON_PRIVACY_2_get_on_the_link_shows_a_confirmation_and_changes_nothing(client, runtime, platform):
    user_id, _ident, _token = user_session(client, platform, marketing={"email": True})
    link = _unsubscribe_path(
        outbox_row(runtime, queue_marketing(runtime, platform, user_id).outbox_id).payload["unsubscribe_url"]
    )
    r = client.get(link)
    assert r.status_code == 200 and r.json() == {
        "channel": "email",
        "subscribed": True,
        "detail": "POST to this address to stop marketing by email",
        "rules": ["COMMON-PRIVACY-2"],
    }
    page = client.get(link, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "Me désinscrire" in page.text
    assert consents(runtime, platform, user_id)["email"] is True
    done = client.post(link, data={"List-Unsubscribe": "One-Click"}, headers={"Accept": "text/html"})
    assert "vous ne recevrez plus" in done.text
    assert consents(runtime, platform, user_id)["email"] is False
    again = client.post(link)  # a second click changes nothing and says so
    assert again.status_code == 200 and again.json()["subscribed"] is False
    assert len([e for e in _events(runtime, user_id) if e.source == "unsubscribe_link"]) == 1


@pytest.mark.rule("COMMON-PRIVACY-2")
def test_a_forged_tampered_or_foreign_unsubscribe_link_is_refused_and_changes_nothing(
    client, runtime, platform
):
    user_id, _ident, _token = user_session(client, platform, marketing={"email": True})
    other_id, _o, _t = user_session(client, platform, marketing={"email": True})
    link = _unsubscribe_path(
        outbox_row(runtime, queue_marketing(runtime, platform, user_id).outbox_id).payload["unsubscribe_url"]
    )
    token = link.rsplit("/", 1)[1]
    uid, channel, mac = token.split(".")
    forged = [
        f"{uid}.{channel}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}",
        f"{other_id}.{channel}.{mac}",  # someone else's account with this signature
        f"{uid}.sms.{mac}",
        f"{uid}.{channel}",
        "not-a-token",
    ]
    for bad in forged:
        for method in (client.get, client.post):
            r = method(url(platform, f"/unsubscribe/{bad}"))
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["errors"][0]["field"] == "path.token"
    other_platform = make_platform(runtime)
    r = client.post(url(other_platform, f"/unsubscribe/{token}"))
    assert r.status_code == 422  # signed for another platform
    assert consents(runtime, platform, user_id)["email"] is True
    assert consents(runtime, platform, other_id)["email"] is True


# --- restriction, objection, closure ---------------------------------------------------------------


def test_COMMON_PRIVACY_1_an_objection_to_marketing_blocks_it_despite_consent(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform, marketing={"email": True})
    queued_before = queue_marketing(runtime, platform, user_id)
    r = client.post(
        url(platform, "/me/privacy-requests"),
        json={"kind": "objection", "purposes": ["marketing"], "details": "no more offers"},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    refused = queue_marketing(runtime, platform, user_id)
    assert refused.outbox_id is None and "objection" in refused.verdict.reason
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    assert outbox_row(runtime, queued_before.outbox_id).status == "suppressed"
    with runtime.sessions() as db, db.begin():
        assert privacy.processing_allowed(
            db, platform_id=platform.id, user_id=user_id, purpose="profiling"
        ).allowed
    limits = client.get(url(platform, "/me/processing-limits"), headers=auth(token)).json()
    assert [(x["purpose"], x["basis"]) for x in limits] == [("marketing", "objection")]
    # the user lifts it: marketing may go again
    r = client.delete(url(platform, "/me/processing-limits/marketing"), headers=auth(token))
    assert r.status_code == 200 and r.json() == []
    assert queue_marketing(runtime, platform, user_id).outbox_id is not None
    assert (
        client.delete(url(platform, "/me/processing-limits/marketing"), headers=auth(token)).status_code
        == 404
    )
    r = client.delete(url(platform, "/me/processing-limits/dancing"), headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.purpose"


def test_COMMON_PRIVACY_1_a_restriction_stops_profiling_and_ranking_reads_it(client, runtime, platform):
    a_id, _a, a_token = user_session(client, platform)
    b_id, _b, _b_token = user_session(client, platform)
    r = client.post(
        url(platform, "/me/privacy-requests"), json={"kind": "restriction"}, headers=auth(a_token)
    )
    assert r.status_code == 201 and r.json()["purposes"] == ["marketing", "profiling"]
    with runtime.sessions() as db, db.begin():
        verdict = privacy.processing_allowed(db, platform_id=platform.id, user_id=a_id, purpose="profiling")
        assert not verdict.allowed and verdict.rules == ("COMMON-PRIVACY-1",)
        assert privacy.excluded_from(
            db, platform_id=platform.id, purpose="profiling", user_ids=[a_id, b_id]
        ) == {a_id}


def test_COMMON_ACCOUNT_4_closure_withdraws_every_consent_and_stops_queued_marketing(
    client, runtime, platform
):
    user_id, _ident, token = user_session(
        client, platform, marketing={"email": True, "sms": True}, phone="0611223355"
    )
    queued = queue_marketing(runtime, platform, user_id)
    r = client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    assert r.status_code == 200
    assert consents(runtime, platform, user_id) == {"email": False, "sms": False, "phone": False}
    closure = sorted((e.channel, e.granted) for e in _events(runtime, user_id) if e.source == "closure")
    assert closure == [("email", False), ("sms", False)]
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    assert outbox_row(runtime, queued.outbox_id).status == "suppressed"
    [closed_mail] = outbox_of(runtime, platform, user_id, "accounts.account_closed")
    assert closed_mail.status == "sent"  # transactional: the closure is still confirmed


def test_COMMON_PRIVACY_2_without_a_consent_check_marketing_is_never_sent(
    client, runtime, platform, monkeypatch
):
    user_id, _ident, _token = user_session(client, platform, marketing={"email": True})
    queued = queue_marketing(runtime, platform, user_id)
    monkeypatch.setattr(dispatch, "MARKETING_GATES", [])
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    row = outbox_row(runtime, queued.outbox_id)
    assert row.status == "suppressed" and "no consent check" in row.last_error


def test_a_marketing_message_without_its_link_is_never_sent(runtime, platform):
    from entremise.notify.outbox import enqueue

    with runtime.sessions() as db, db.begin(), pytest.raises(ValueError):
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="marketing.announcement",
            recipient=email(),
            payload={"platform_name": "X", "title": "t", "body": "b"},
            now=runtime.clock.now(),
            user_id="u",
            category="marketing",
        )


def test_login_still_works_for_a_user_who_opted_out(client, runtime, platform):
    _user_id, ident, token = user_session(client, platform, marketing={"email": True})
    client.put(url(platform, "/me/marketing-consents/email"), json={"granted": False}, headers=auth(token))
    assert login(client, platform, ident).status_code == 201


@pytest.mark.rule("COMMON-PRIVACY-2")
def test_two_simultaneous_first_choices_on_a_channel_leave_one_consent_row(client, runtime, platform):
    import itertools
    import threading

    from entremise.privacy.models import MarketingConsent

    user_id, _ident, _token = user_session(client, platform)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def choose(granted: bool) -> None:
        try:
            barrier.wait()
            with runtime.sessions() as db, db.begin():
                privacy.set_consent(
                    db,
                    platform_id=platform.id,
                    user_id=user_id,
                    channel="email",
                    granted=granted,
                    source="settings",
                    now=runtime.clock.now(),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=choose, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(runtime, MarketingConsent, user_id=user_id) == 1
    # every recorded change alternates with the one before it: no change is lost or invented
    states = [e.granted for e in sorted(_events(runtime, user_id), key=lambda e: e.id)]
    assert states and all(a != b for a, b in itertools.pairwise(states))
    assert consents(runtime, platform, user_id)["email"] == states[-1]
