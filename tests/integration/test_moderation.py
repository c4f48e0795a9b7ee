"""Notices, the moderation queue, statements of reasons and internal complaints, over HTTP.

LAW-DSA-16, COMMON-NOTICE-1, COMMON-MODERATION-1, LAW-DSA-17, LAW-DSA-20.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from accounts_helpers import auth, staff_token, url, user_session
from moderation_helpers import decide, make_platform, messages, notice_body, notify
from sqlalchemy import func, select

from entremise.moderation import registry
from entremise.moderation import service as moderation
from entremise.moderation.models import ModerationItem, Notice
from entremise.notify.dispatch import deliver_due


def _count(runtime, model, platform) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return int(
            db.scalar(select(func.count()).select_from(model).where(model.platform_id == platform.id)) or 0
        )


def _hidden(runtime, platform, user_id: str) -> bool:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return moderation.is_hidden(db, platform_id=platform.id, kind="profile", content_id=user_id)


def test_LAW_DSA_16_COMMON_NOTICE_1_the_form_lists_the_fields_and_warns_of_false_notices(
    client, platform
) -> None:
    r = client.get(url(platform, "/moderation/notice-form"))
    assert r.status_code == 200, r.text
    form = r.json()
    for name in ("explanation", "location", "name", "email", "good_faith", "legal_grounds", "notifier_type"):
        assert name in form["required"]
    assert {"profession", "domicile", "nationality", "birth_date", "birth_place"} <= set(
        form["natural_person"]
    )
    assert {"legal_form", "registered_office", "representative"} <= set(form["legal_person"])
    assert "150 000 €" in form["warning"]["fr"] and "imprisonment" in form["warning"]["en"]
    assert "profile" in form["kinds"]


def test_LAW_DSA_16_a_notice_missing_fields_names_each_and_changes_nothing(client, runtime, platform) -> None:
    author, _e, _t = user_session(client, platform)
    r = notify(
        client, platform, author, explanation=None, email="not-an-address", good_faith=False, location=None
    )
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.explanation", "body.email", "body.good_faith", "body.location"} <= fields
    assert "LAW-DSA-16" in r.json()["rules"]
    assert _count(runtime, Notice, platform) == 0 and _count(runtime, ModerationItem, platform) == 0


def test_COMMON_NOTICE_1_lcen_identity_and_letter_to_the_author_are_required(
    client, runtime, platform
) -> None:
    author, _e, _t = user_session(client, platform)
    r = notify(
        client,
        platform,
        author,
        profession=None,
        birth_place=None,
        legal_grounds=None,
        author_unreachable_reason=None,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.profession", "body.birth_place", "body.legal_grounds", "body.author_letter"} <= fields
    r = notify(client, platform, author, notifier_type="legal")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.legal_form", "body.registered_office", "body.representative"} <= fields
    assert _count(runtime, Notice, platform) == 0
    legal = notify(
        client,
        platform,
        author,
        notifier_type="legal",
        name="Association Exemple",
        legal_form="association loi 1901",
        registered_office="1 place de la Mairie, 69001 Lyon",
        representative="sa présidente, Mme Martin",
        author_letter="Madame, Monsieur, nous vous demandons de retirer ...",
    )
    assert legal.status_code == 201, legal.text


def test_COMMON_NOTICE_1_a_platform_may_ask_only_what_the_dsa_asks(client, runtime) -> None:
    platform = make_platform(runtime, {"moderation": {"require_lcen_fields": False}})
    author, _e, _t = user_session(client, platform)
    body = {
        k: notice_body(author)[k]
        for k in ("kind", "content_id", "location", "explanation", "name", "email", "good_faith")
    }
    r = client.post(url(platform, "/moderation/notices"), json=body)
    assert r.status_code == 201, r.text


def test_LAW_DSA_16_anyone_notifies_and_receipt_is_acknowledged_by_email(
    client, runtime, platform, settings, clock
) -> None:
    author, _e, _t = user_session(client, platform)
    r = notify(client, platform, author, email="Someone@Example.fr")
    assert r.status_code == 201, r.text
    notice = r.json()
    assert "150 000 €" in notice["warning"] and notice["rules"] == ["LAW-DSA-16", "COMMON-NOTICE-1"]
    [ack] = messages(runtime, platform, "moderation.notice_received")
    assert ack.recipient == "someone@example.fr"
    deliver_due(runtime, clock.now(), platform_id=platform.id)
    [path] = Path(settings.mail_dir).glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert notice["id"] in body and "bien reçu" in body and "150 000 €" in body
    # two notices about the same content share one queue item
    again = notify(client, platform, author, email="other@example.fr")
    assert again.json()["item_id"] == notice["item_id"]


def test_LAW_DSA_16_a_notice_about_absent_content_is_refused(client, runtime, platform) -> None:
    r = notify(client, platform, "0190aaaa-0000-7000-8000-000000000000")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.content_id"
    r = notify(client, platform, "x", kind="spaceship")
    assert r.status_code == 422 and "body.kind" in {e["field"] for e in r.json()["errors"]}
    assert _count(runtime, Notice, platform) == 0


def test_the_public_notice_form_has_abuse_limits(client, runtime) -> None:
    platform = make_platform(runtime, {"moderation": {"notices_per_ip_per_hour": 2}})
    author, _e, _t = user_session(client, platform)
    for i in range(2):
        assert notify(client, platform, author, email=f"n{i}@example.fr").status_code == 201
    r = notify(client, platform, author, email="n9@example.fr")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600"
    assert _count(runtime, Notice, platform) == 2


def test_LAW_DSA_17_a_removal_sends_the_author_a_statement_of_reasons(client, runtime, platform) -> None:
    author, author_email, author_token = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    staff = staff_token(client, runtime, platform)
    queue = client.get(url(platform, "/staff/moderation/items"), headers=auth(staff)).json()["items"]
    assert [i["id"] for i in queue] == [item_id] and queue[0]["author_id"] == author
    r = decide(client, platform, staff, item_id, "remove")
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["status"] == "decided" and "COMMON-MODERATION-1" in item["rules"]
    assert item["notices"][0]["outcome"] == "remove"
    assert _hidden(runtime, platform, author)
    [st] = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    assert st["action"] == "profile removed"
    assert st["facts"] == "the profile text calls another member a thief by name"
    assert st["automated_detection"] is False and st["automated_decision"] is False
    assert st["ground_kind"] == "terms" and st["ground"] == "terms §10: no insult of other members"
    assert "LAW-DSA-17" in st["rules"] and "COMMON-MODERATION-1" in st["rules"]
    assert "LAW-DSA-20" in st["redress"] and "contest" in st["redress"]
    assert st["contest_until"].startswith("2027-05-23")
    [mail] = messages(runtime, platform, "moderation.statement_of_reasons", author_email)
    assert mail.payload["facts"] == st["facts"] and mail.payload["contest_token"]
    [told] = messages(runtime, platform, "moderation.notice_outcome", "notifier@example.fr")
    assert told.payload["outcome"] == "remove"
    again = decide(client, platform, staff, item_id, "keep")
    assert again.status_code == 409


def test_COMMON_MODERATION_1_keeping_content_sends_no_statement_but_tells_the_notifier(
    client, runtime, platform
) -> None:
    author, _email, _t = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    staff = staff_token(client, runtime, platform)
    assert (
        decide(client, platform, staff, item_id, "keep", facts="the text is a fair criticism").status_code
        == 200
    )
    assert not _hidden(runtime, platform, author)
    assert messages(runtime, platform, "moderation.statement_of_reasons") == []
    [told] = messages(runtime, platform, "moderation.notice_outcome")
    assert told.payload["outcome"] == "keep" and told.payload["reasons"] == "the text is a fair criticism"


def test_COMMON_MODERATION_1_held_content_waits_for_a_person_and_automated_means_are_disclosed(
    client, runtime, platform, clock
) -> None:
    author, _e, author_token = user_session(client, platform)
    with runtime.sessions() as db, db.begin():
        item_id = moderation.submit_for_review(
            db,
            platform_id=platform.id,
            kind="profile",
            content_id=author,
            author_id=author,
            source="content_filter",
            automated=True,
            evidence={"hits": [{"term": "connard", "at": 12}]},
            now=clock.now(),
        )
    staff = staff_token(client, runtime, platform)
    item = client.get(url(platform, f"/staff/moderation/items/{item_id}"), headers=auth(staff)).json()
    assert item["held"] is True and item["automated"] is True and item["source"] == "content_filter"
    assert item["evidence"]["content_filter"]["hits"][0]["term"] == "connard"
    assert decide(client, platform, staff, item_id, "restrict").status_code == 200
    [st] = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    assert st["automated_detection"] is True and st["automated_decision"] is False
    assert st["action"] == "profile visibility restricted"


def test_LAW_DSA_20_a_complaint_is_answered_by_another_staff_member_and_reverses_an_unfounded_decision(
    client, runtime, platform
) -> None:
    author, author_email, author_token = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    first = staff_token(client, runtime, platform)
    second = staff_token(client, runtime, platform)
    decide(client, platform, first, item_id, "remove")
    [st] = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    r = client.post(
        url(platform, f"/me/statements/{st['id']}/complaints"),
        json={"text": "I named nobody"},
        headers=auth(author_token),
    )
    assert r.status_code == 201, r.text
    complaint = r.json()
    assert complaint["complainant"] == "addressee" and complaint["status"] == "open"
    dup = client.post(
        url(platform, f"/me/statements/{st['id']}/complaints"),
        json={"text": "again"},
        headers=auth(author_token),
    )
    assert dup.status_code == 409
    answer = {"outcome": "reversed", "reasons": "the name quoted is the author's own"}
    same = client.post(
        url(platform, f"/staff/moderation/complaints/{complaint['id']}/answer"),
        json=answer,
        headers=auth(first),
    )
    assert same.status_code == 403 and "LAW-DSA-20" in same.json()["rules"]
    assert _hidden(runtime, platform, author)
    r = client.post(
        url(platform, f"/staff/moderation/complaints/{complaint['id']}/answer"),
        json=answer,
        headers=auth(second),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reversed" and r.json()["answer"] == answer["reasons"]
    assert not _hidden(runtime, platform, author)
    item = client.get(url(platform, f"/staff/moderation/items/{item_id}"), headers=auth(second)).json()
    assert item["status"] == "reversed"
    [mail] = messages(runtime, platform, "moderation.complaint_answered", author_email)
    assert mail.payload["outcome"] == "reversed"


def test_LAW_DSA_20_a_decision_cannot_be_contested_after_six_months(client, runtime, platform, clock) -> None:
    author, _e, author_token = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    staff = staff_token(client, runtime, platform)
    decide(client, platform, staff, item_id, "remove")
    [st] = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    [mail] = messages(runtime, platform, "moderation.statement_of_reasons")
    token = mail.payload["contest_token"]
    clock.advance(timedelta(days=180))  # to 23 May 2027 08:59, the last minute of the six months
    clock.advance(timedelta(hours=23, minutes=59))
    assert (
        client.post(url(platform, "/moderation/complaints"), json={"token": token, "text": "t"}).status_code
        == 201
    )
    staff2 = staff_token(client, runtime, platform)
    pending = client.get(url(platform, "/staff/moderation/complaints"), headers=auth(staff2)).json()["items"]
    assert len(pending) == 1
    clock.advance(timedelta(minutes=1))  # 23 May 2027 09:00: six months have passed
    r = client.post(url(platform, "/moderation/complaints"), json={"token": token, "text": "late again"})
    assert r.status_code == 409 and "LAW-DSA-20" in r.json()["rules"]
    assert st["contest_until"].startswith("2027-05-23")


def test_LAW_DSA_20_the_notifier_contests_a_refusal_to_act_and_a_reversal_removes_the_content(
    client, runtime, platform
) -> None:
    author, _e, author_token = user_session(client, platform)
    with runtime.sessions() as db, db.begin():
        notice, token = moderation.submit_notice(
            db, platform=platform, fields=notice_body(author), ip="203.0.113.9", now=runtime.clock.now()
        )
    early = client.post(url(platform, "/moderation/complaints"), json={"token": token, "text": "too slow"})
    assert early.status_code == 409
    first = staff_token(client, runtime, platform)
    second = staff_token(client, runtime, platform)
    decide(client, platform, first, notice.item_id, "keep", facts="no insult found")
    forged = client.post(url(platform, "/moderation/complaints"), json={"token": "x" * 43, "text": "please"})
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "body.token"
    r = client.post(
        url(platform, "/moderation/complaints"),
        json={"token": token, "text": "the insult is in the second line"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["complainant"] == "notifier"
    r = client.post(
        url(platform, f"/staff/moderation/complaints/{r.json()['id']}/answer"),
        json={"outcome": "reversed", "reasons": "the second line is an insult"},
        headers=auth(second),
    )
    assert r.status_code == 200, r.text
    assert _hidden(runtime, platform, author)
    sts = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    assert [s["action"] for s in sts] == ["profile removed after a complaint"]


def test_another_platforms_staff_and_other_users_see_and_do_nothing(client, runtime, platform) -> None:
    author, _e, author_token = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    other = make_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert (
        client.get(url(other, f"/staff/moderation/items/{item_id}"), headers=auth(other_staff)).status_code
        == 404
    )
    assert decide(client, other, other_staff, item_id, "remove").status_code == 404
    assert client.get(url(other, "/staff/moderation/items"), headers=auth(other_staff)).json()["items"] == []
    # a staff token of the other platform is not a session here
    assert decide(client, platform, other_staff, item_id, "remove").status_code == 401
    # a member is not staff
    assert client.get(url(platform, "/staff/moderation/items"), headers=auth(author_token)).status_code == 403
    staff = staff_token(client, runtime, platform)
    decide(client, platform, staff, item_id, "remove")
    [st] = client.get(url(platform, "/me/statements"), headers=auth(author_token)).json()["items"]
    _u, _e2, intruder = user_session(client, platform)
    assert client.get(url(platform, f"/me/statements/{st['id']}"), headers=auth(intruder)).status_code == 404
    r = client.post(
        url(platform, f"/me/statements/{st['id']}/complaints"), json={"text": "mine"}, headers=auth(intruder)
    )
    assert r.status_code == 404
    assert _hidden(runtime, platform, author)


def test_LAW_DSA_17_a_decision_without_facts_ground_or_rules_is_refused(client, runtime, platform) -> None:
    author, _e, _t = user_session(client, platform)
    item_id = notify(client, platform, author).json()["item_id"]
    staff = staff_token(client, runtime, platform)
    r = decide(client, platform, staff, item_id, "remove", rules=["not a rule"], ground="   ", facts=" ")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.rules", "body.ground", "body.facts"} <= fields
    r = decide(client, platform, staff, item_id, "delete")
    assert r.status_code == 422
    item = client.get(url(platform, f"/staff/moderation/items/{item_id}"), headers=auth(staff)).json()
    assert item["status"] == "pending" and not _hidden(runtime, platform, author)


def test_a_content_kind_registered_with_a_dict_locator_is_moderated(client, runtime, platform, clock) -> None:
    """The reviews module's locator returns a dict; the queue accepts it and applies decisions."""
    author, _e, _t = user_session(client, platform)
    applied: list[tuple[str, str]] = []
    registry.register_content_kind(
        "test_note",
        locate=lambda db, pid, cid: {"author_id": author, "excerpt": "a note"} if cid == "n1" else None,
        apply=lambda db, pid, cid, action, now: applied.append((cid, action)),
    )
    r = notify(client, platform, "n1", kind="test_note")
    assert r.status_code == 201, r.text
    staff = staff_token(client, runtime, platform)
    item = decide(client, platform, staff, r.json()["item_id"], "restrict").json()
    assert item["excerpt"] == "a note" and applied == [("n1", "restrict")]


def test_COMMON_MODERATION_1_a_restricted_profile_disappears_from_its_public_page(
    client, runtime, platform
) -> None:
    provider, _e, token = user_session(
        client, platform, role="provider", first_name="Zoé", last_name="Durand"
    )
    slug = client.get(url(platform, "/growth/me/links"), headers=auth(token)).json()["slug"]
    assert client.get(url(platform, f"/links/consultation/{slug}")).status_code == 200
    item_id = notify(client, platform, provider).json()["item_id"]
    staff = staff_token(client, runtime, platform)
    assert decide(client, platform, staff, item_id, "restrict").status_code == 200
    assert client.get(url(platform, f"/links/consultation/{slug}")).status_code == 404
    with runtime.sessions() as db, db.begin():
        moderation.set_hidden(
            db,
            platform_id=platform.id,
            kind="profile",
            content_id=provider,
            state=None,
            now=runtime.clock.now(),
        )
    assert client.get(url(platform, f"/links/consultation/{slug}")).status_code == 200
