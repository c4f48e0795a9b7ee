"""Reviews over HTTP and through the service: eligibility (CONSULT-REVIEW-1, EXPERT-RATING-1,
CARPOOL-RATING-1), dates and order (CONSULT-REVIEW-2), one review per party, the pre-moderation
filter (COMMON-MODERATION-1), double-blind publication, exact aggregates, isolation, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_helpers import auth, staff_token, url, user_session
from reviews_helpers import completed_djob, deal, finish_djob, fresh_token, make_platform
from sqlalchemy import select

from entremise.audit.models import AuditEntry
from entremise.notify.models import OutboxMessage
from entremise.reviews import jobs
from entremise.reviews import service as reviews
from entremise.reviews.models import Review


def post(client, platform, token, **body):  # type: ignore[no-untyped-def]
    return client.post(url(platform, "/reviews"), json=body, headers=auth(token))


def listing(client, platform, about, about_id, **params):  # type: ignore[no-untyped-def]
    r = client.get(url(platform, "/reviews"), params={"about": about, "id": about_id, **params})
    assert r.status_code == 200, r.text
    return r.json()


def count_reviews(runtime, platform) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return len(list(db.scalars(select(Review.id).where(Review.platform_id == platform.id))))


@pytest.fixture
def people(client, platform):  # type: ignore[no-untyped-def]
    provider_id, _, provider = user_session(client, platform, role="provider")
    client_id, _, buyer = user_session(client, platform)
    return provider_id, provider, client_id, buyer


# --- CONSULT-REVIEW-1: completed DJobs, within 21 days ----------------------------------------------


def test_CONSULT_REVIEW_1_the_client_reviews_a_completed_djob_within_21_days(
    client, runtime, platform, clock
):
    provider_id, provider, _client_id, buyer, order, email = completed_djob(client, runtime, platform)
    early = post(client, platform, buyer, subject_kind="djob", transaction_id=order["id"], rating=5)
    assert early.status_code == 409 and early.json()["rules"] == ["CONSULT-REVIEW-1"]
    assert "not completed" in early.json()["detail"]
    finish_djob(client, platform, provider, buyer, order["id"])
    # the provider may not review (only the client reviews a DJob), a stranger sees no such DJob
    r = post(client, platform, provider, subject_kind="djob", transaction_id=order["id"], rating=1)
    assert r.status_code == 409 and "only the client" in r.json()["detail"]
    _, _, stranger = user_session(client, platform)
    assert (
        post(
            client, platform, stranger, subject_kind="djob", transaction_id=order["id"], rating=1
        ).status_code
        == 404
    )
    clock.advance(timedelta(days=20, hours=23))
    buyer = fresh_token(client, platform, email)
    r = post(
        client, platform, buyer, subject_kind="djob", transaction_id=order["id"], rating=4, text="Très bien."
    )
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["status"] == "published" and review["rules"] == ["CONSULT-REVIEW-1"]
    assert review["reviewee_id"] == provider_id and review["offer_id"] == order["offer_id"]
    assert review["published_at"] == review["updated_at"] == review["created_at"]
    about_offer = listing(client, platform, "offer", order["offer_id"])
    assert [i["id"] for i in about_offer["items"]] == [review["id"]]
    assert about_offer["aggregate"]["count"] == 1 and about_offer["aggregate"]["average"] == "4.00"


def test_CONSULT_REVIEW_1_a_djob_completed_21_days_ago_can_no_longer_be_reviewed(
    client, runtime, platform, clock
):
    _provider_id, provider, _client_id, buyer, order, email = completed_djob(client, runtime, platform)
    finish_djob(client, platform, provider, buyer, order["id"])
    clock.advance(timedelta(days=21))
    buyer = fresh_token(client, platform, email)
    r = post(client, platform, buyer, subject_kind="djob", transaction_id=order["id"], rating=2)
    assert r.status_code == 409 and r.json()["rules"] == ["CONSULT-REVIEW-1"]
    assert "within 21 days" in r.json()["detail"]
    assert count_reviews(runtime, platform) == 0


def test_CONSULT_REVIEW_1_the_window_is_a_platform_setting(client, runtime, clock):
    platform = make_platform(runtime, settings={"reviews": {"djob_window_days": 3}})
    _provider_id, provider, _client_id, buyer, order, email = completed_djob(client, runtime, platform)
    finish_djob(client, platform, provider, buyer, order["id"])
    clock.advance(timedelta(days=3))
    buyer = fresh_token(client, platform, email)
    r = post(client, platform, buyer, subject_kind="djob", transaction_id=order["id"], rating=2)
    assert r.status_code == 409 and "within 3 days" in r.json()["detail"]


# --- EXPERT-RATING-1: appointments, the provider cannot oppose ---------------------------------------


def test_EXPERT_RATING_1_the_client_rates_a_completed_appointment_and_the_provider_cannot_stop_it(
    client, runtime, clock
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from reviews_helpers import booked_appointment

    from entremise.kernel.money import Money
    from entremise.scheduling import service as scheduling

    start = datetime(2026, 11, 25, 9, tzinfo=ZoneInfo("Europe/Paris"))
    platform, provider_id, provider_token, _client_id, token, appt, email, provider_email = (
        booked_appointment(client, runtime, start)
    )
    r = post(client, platform, token, subject_kind="appointment", transaction_id=appt["id"], rating=5)
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-RATING-1"]
    with runtime.sessions() as db, db.begin():
        scheduling.appointment_joined(db, appt["id"], "client", start, platform_id=platform.id)
        scheduling.appointment_joined(db, appt["id"], "provider", start, platform_id=platform.id)
        scheduling.appointment_settled(
            db,
            platform_id=platform.id,
            appointment_id=appt["id"],
            charge=Money(3000),
            platform_fee=Money(600),
            now=start,
        )
    clock.set(start + timedelta(days=400))  # no time limit by default
    token = fresh_token(client, platform, email)
    provider_token = fresh_token(client, platform, provider_email)
    r = post(
        client, platform, token, subject_kind="appointment", transaction_id=appt["id"], rating=2, text="Bof."
    )
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["status"] == "published" and review["rules"] == ["EXPERT-RATING-1"]
    # the provider has no way to hide, edit or decide it: it is not theirs, and staff routes are staff's
    assert (
        client.patch(
            url(platform, f"/reviews/{review['id']}"), json={"rating": 5}, headers=auth(provider_token)
        ).status_code
        == 404
    )
    r = client.post(
        url(platform, f"/staff/reviews/{review['id']}/decision"),
        json={"action": "remove", "reason": "je ne suis pas d'accord"},
        headers=auth(provider_token),
    )
    assert r.status_code == 403
    seen = listing(client, platform, "user", provider_id)
    assert [i["id"] for i in seen["items"]] == [review["id"]] and seen["aggregate"]["distribution"]["2"] == 1
    # the provider does not rate the client unless the platform lets them
    r = post(
        client, platform, provider_token, subject_kind="appointment", transaction_id=appt["id"], rating=5
    )
    assert r.status_code == 409


# --- CONSULT-REVIEW-2: dates, newest first, one review per party, edits -------------------------------


def test_CONSULT_REVIEW_2_reviews_show_both_dates_and_list_newest_first(
    client, runtime, platform, people, clock
):
    provider_id, _provider, _client_id, _buyer = people
    others = [user_session(client, platform) for _ in range(3)]
    ids = []
    for n, (uid, _, token) in enumerate(others):
        d = deal(platform, uid, provider_id, clock.now())
        clock.advance(timedelta(minutes=5))
        r = post(client, platform, token, subject_kind="test-deal", transaction_id=d, rating=n + 3)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    seen = listing(client, platform, "user", provider_id)
    assert [i["id"] for i in seen["items"]] == ids[::-1]
    assert [i["id"] for i in listing(client, platform, "user", provider_id, sort="oldest")["items"]] == ids
    assert seen["aggregate"] == {
        "about": "user",
        "id": provider_id,
        "count": 3,
        "average": "4.00",
        "total": 12,
        "distribution": {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1},
    }
    first = listing(client, platform, "user", provider_id, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = listing(client, platform, "user", provider_id, limit=2, cursor=first["next_cursor"])
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert [i["id"] for i in listing(client, platform, "user", provider_id, rating=5)["items"]] == [ids[2]]

    # an edit is the review's last change: published_at stays, updated_at moves, the aggregate follows
    _, _, token = others[0]
    clock.advance(timedelta(hours=2))
    r = client.patch(
        url(platform, f"/reviews/{ids[0]}"),
        json={"rating": 1, "text": "Finalement décevant."},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["rating"] == 1 and edited["updated_at"] > edited["published_at"]
    agg = listing(client, platform, "user", provider_id)["aggregate"]
    assert (
        agg["count"] == 3
        and agg["total"] == 10
        and agg["distribution"]["3"] == 0
        and agg["distribution"]["1"] == 1
    )


def test_CONSULT_REVIEW_2_one_review_per_party_per_transaction(client, runtime, platform, people, clock):
    provider_id, provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    first = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=4).json()
    again = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=1)
    assert again.status_code == 409 and again.json()["review_id"] == first["id"]
    # the other party has a review of their own on the same transaction (CARPOOL-RATING-1: both sides)
    r = post(client, platform, provider, subject_kind="test-deal", transaction_id=d, rating=5)
    assert r.status_code == 201 and r.json()["reviewee_id"] == client_id
    assert count_reviews(runtime, platform) == 2


def test_CARPOOL_RATING_1_only_the_people_of_the_transaction_rate_each_other(
    client, runtime, platform, people, clock
):
    provider_id, _provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    _, _, stranger = user_session(client, platform)
    r = post(client, platform, stranger, subject_kind="test-deal", transaction_id=d, rating=1)
    assert r.status_code == 404
    unfinished = deal(platform, client_id, provider_id, None)
    r = post(client, platform, buyer, subject_kind="test-deal", transaction_id=unfinished, rating=1)
    assert r.status_code == 409 and r.json()["rules"] == ["CARPOOL-RATING-1"]
    assert count_reviews(runtime, platform) == 0


def test_an_edit_after_the_window_is_refused(client, runtime, platform, clock):
    provider_id, _, _ = user_session(client, platform, role="provider")
    client_id, email, buyer = user_session(client, platform)
    d = deal(platform, client_id, provider_id, clock.now())
    review = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=4).json()
    clock.advance(timedelta(days=30))
    buyer = fresh_token(client, platform, email)
    r = client.patch(url(platform, f"/reviews/{review['id']}"), json={"rating": 1}, headers=auth(buyer))
    assert r.status_code == 409 and r.json()["rules"] == ["CARPOOL-RATING-1"]


# --- bad input --------------------------------------------------------------------------------------


def test_bad_reviews_are_refused_naming_the_field_and_nothing_changes(client, runtime, people, clock):
    platform = make_platform(runtime, settings={"reviews": {"text": "required", "text_min_chars": 10}})
    provider_id, _, _provider = user_session(client, platform, role="provider")
    client_id, _, buyer = user_session(client, platform)
    d = deal(platform, client_id, provider_id, clock.now())
    cases = [
        ({"rating": 6, "text": "Un texte assez long."}, "body.rating"),
        ({"rating": 0, "text": "Un texte assez long."}, "body.rating"),
        ({"rating": "5", "text": "Un texte assez long."}, "body.rating"),
        ({"rating": True, "text": "Un texte assez long."}, "body.rating"),
        ({"rating": 4}, "body.text"),
        ({"rating": 4, "text": "   court  "}, "body.text"),
        ({"rating": 4, "text": "nul\u0000"}, "body.text"),
    ]
    for body, field in cases:
        r = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, **body)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    r = post(
        client,
        platform,
        buyer,
        subject_kind="nothing-here",
        transaction_id=d,
        rating=3,
        text="Un texte assez long.",
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.subject_kind"
    assert count_reviews(runtime, platform) == 0
    r = post(
        client,
        platform,
        buyer,
        subject_kind="test-deal",
        transaction_id=d,
        rating=3,
        text="Un texte assez long.",
    )
    assert r.status_code == 201
    r = client.patch(url(platform, f"/reviews/{r.json()['id']}"), json={}, headers=auth(buyer))
    assert r.status_code == 422


# --- isolation ----------------------------------------------------------------------------------------


def test_unpublished_reviews_and_other_platforms_reviews_are_invisible(
    client, runtime, platform, people, clock
):
    provider_id, provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    held = post(
        client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=1, text="Quel connard"
    ).json()
    assert held["status"] == "held"
    # the reviewee and strangers do not see it; its author does
    assert client.get(url(platform, f"/reviews/{held['id']}"), headers=auth(provider)).status_code == 404
    assert client.get(url(platform, f"/reviews/{held['id']}"), headers=auth(buyer)).status_code == 200
    other = make_platform(runtime)
    _, _, outsider = user_session(client, other)
    assert client.get(url(other, f"/reviews/{held['id']}"), headers=auth(outsider)).status_code == 404
    assert listing(client, other, "user", provider_id)["items"] == []
    # another user cannot edit it; another platform's user neither
    assert (
        client.patch(
            url(platform, f"/reviews/{held['id']}"), json={"rating": 5}, headers=auth(provider)
        ).status_code
        == 404
    )
    assert (
        client.patch(
            url(other, f"/reviews/{held['id']}"), json={"rating": 5}, headers=auth(outsider)
        ).status_code
        == 404
    )
    mine = client.get(url(platform, "/me/reviews"), headers=auth(buyer)).json()["items"]
    assert [m["id"] for m in mine] == [held["id"]]
    assert client.get(url(platform, "/me/reviews"), headers=auth(provider)).json()["items"] == []
    assert client.get(url(platform, "/staff/reviews"), headers=auth(buyer)).status_code == 403


# --- the pre-moderation filter ----------------------------------------------------------------------


def test_COMMON_MODERATION_1_a_flagged_review_is_held_for_a_person_and_disclosed_as_automated(
    client, runtime, platform, people, clock
):
    provider_id, _provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    r = post(
        client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=1, text="Un vrai c0nn4rd."
    )
    assert r.status_code == 201
    held = r.json()
    assert held["status"] == "held" and held["automated_flag"] is True and held["published_at"] is None
    seen = listing(client, platform, "user", provider_id)
    assert seen["items"] == [] and seen["aggregate"]["count"] == 0
    with runtime.sessions() as db:
        entry = db.scalar(
            select(AuditEntry).where(AuditEntry.action == "review.held", AuditEntry.object_id == held["id"])
        )
        assert entry is not None and "COMMON-MODERATION-1" in entry.rules and "LAW-DSA-16" in entry.rules
        assert entry.data["automated"] is True and entry.data["hits"][0]["excerpt"] == "c0nn4rd"
    staff = staff_token(client, runtime, platform)
    queue = client.get(url(platform, "/staff/reviews"), headers=auth(staff)).json()["items"]
    assert [q["id"] for q in queue] == [held["id"]]
    # a person decides; the filter did not
    r = client.post(
        url(platform, f"/staff/reviews/{held['id']}/decision"),
        json={"action": "publish", "reason": ""},
        headers=auth(staff),
    )
    assert r.status_code == 422
    r = client.post(
        url(platform, f"/staff/reviews/{held['id']}/decision"),
        json={"action": "publish", "reason": "Critique vive mais sur la prestation."},
        headers=auth(staff),
    )
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert listing(client, platform, "user", provider_id)["aggregate"]["count"] == 1
    r = client.post(
        url(platform, f"/staff/reviews/{held['id']}/decision"),
        json={"action": "remove", "reason": "Insulte (CGU)."},
        headers=auth(staff),
    )
    assert r.json()["status"] == "removed"
    assert listing(client, platform, "user", provider_id)["aggregate"]["count"] == 0
    # the author was told of the hold and of each decision (LAW-DSA-17: reasons, grounds, redress)
    with runtime.sessions() as db:
        sent = list(
            db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.platform_id == platform.id, OutboxMessage.user_id == client_id
                )
            )
        )
    assert sorted(m.template for m in sent) == ["reviews.decided", "reviews.decided", "reviews.held"]
    removal = next(m for m in sent if m.payload.get("action") == "remove")
    assert removal.payload["reason"] == "Insulte (CGU)." and removal.payload["automated"] is True
    r = client.post(
        url(platform, f"/staff/reviews/{held['id']}/decision"),
        json={"action": "restore", "reason": "Décision réformée sur recours."},
        headers=auth(staff),
    )
    assert r.json()["status"] == "published"
    assert listing(client, platform, "user", provider_id)["aggregate"]["count"] == 1


def test_COMMON_MODERATION_1_an_edit_into_an_insult_is_held_and_leaves_the_aggregate(
    client, runtime, platform, people, clock
):
    provider_id, _provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    review = post(
        client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=3, text="Correct."
    ).json()
    assert review["status"] == "published"
    r = client.patch(
        url(platform, f"/reviews/{review['id']}"), json={"text": "Espèce d'ENCULÉ"}, headers=auth(buyer)
    )
    assert r.json()["status"] == "held"
    assert listing(client, platform, "user", provider_id)["aggregate"]["count"] == 0


def test_the_filter_can_be_turned_off_by_the_platform(client, runtime, clock):
    platform = make_platform(runtime, settings={"reviews": {"content_filter": False}})
    provider_id, _, _provider = user_session(client, platform, role="provider")
    client_id, _, buyer = user_session(client, platform)
    d = deal(platform, client_id, provider_id, clock.now())
    assert (
        post(
            client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=1, text="connard"
        ).json()["status"]
        == "published"
    )


# --- double-blind ------------------------------------------------------------------------------------


def test_double_blind_reviews_are_published_together(client, runtime, clock):
    platform = make_platform(runtime, settings={"reviews": {"double_blind": True}})
    provider_id, _, provider = user_session(client, platform, role="provider")
    client_id, _, buyer = user_session(client, platform)
    d = deal(platform, client_id, provider_id, clock.now())
    first = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=5).json()
    assert first["status"] == "blind" and first["blind_until"] is not None
    assert listing(client, platform, "user", provider_id)["items"] == []
    assert client.get(url(platform, f"/reviews/{first['id']}"), headers=auth(provider)).status_code == 404
    clock.advance(timedelta(hours=1))
    second = post(client, platform, provider, subject_kind="test-deal", transaction_id=d, rating=4).json()
    assert second["status"] == "published"
    both = [
        listing(client, platform, "user", provider_id)["items"],
        listing(client, platform, "user", client_id)["items"],
    ]
    assert [b[0]["id"] for b in both] == [first["id"], second["id"]]
    assert both[0][0]["published_at"] == both[1][0]["published_at"] == second["created_at"]


def test_double_blind_reviews_are_published_when_the_window_ends(client, runtime, clock):
    platform = make_platform(runtime, settings={"reviews": {"double_blind": True}})
    provider_id, _, _provider = user_session(client, platform, role="provider")
    client_id, _, buyer = user_session(client, platform)
    d = deal(platform, client_id, provider_id, clock.now())
    only = post(client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=2).json()
    clock.advance(timedelta(days=29))
    jobs.release_blind_reviews(runtime, clock.now())  # not yet due
    assert listing(client, platform, "user", provider_id)["items"] == []
    clock.advance(timedelta(days=1))
    jobs.release_blind_reviews(runtime, clock.now())
    seen = listing(client, platform, "user", provider_id)
    assert [i["id"] for i in seen["items"]] == [only["id"]] and seen["aggregate"]["count"] == 1
    jobs.release_blind_reviews(runtime, clock.now())  # once only
    assert listing(client, platform, "user", provider_id)["aggregate"]["count"] == 1


# --- exact aggregates -------------------------------------------------------------------------------


def test_aggregates_stay_exact_under_concurrent_reviews(client, runtime, platform, people, clock):
    from test_ledger_concurrency import race

    provider_id, _provider, _client_id, _buyer = people
    n = 8
    authors = [user_session(client, platform)[0] for _ in range(n)]
    deals = [deal(platform, a, provider_id, clock.now(), offer_id=provider_id[::-1][:36]) for a in authors]

    def write(i: int) -> str:
        with runtime.sessions() as db, db.begin():
            return reviews.create_review(
                db,
                platform=platform,
                author_id=authors[i],
                subject_kind="test-deal",
                transaction_id=deals[i],
                rating=i % 5 + 1,
                text=None,
                now=clock.now(),
            ).id

    outcomes = race(n, write)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    with runtime.sessions() as db:
        for kind, about in (("user", provider_id), ("offer", provider_id[::-1][:36])):
            stored = reviews.aggregate(db, platform_id=platform.id, about_kind=kind, about_id=about)
            again = reviews.recompute_aggregate(db, platform_id=platform.id, about_kind=kind, about_id=about)
            assert (stored.count, stored.total, stored.distribution) == (
                again.count,
                again.total,
                dict(again.distribution),
            )
            assert stored.count == n


def test_one_party_writing_twice_at_once_gets_one_review(client, runtime, platform, people, clock):
    from test_ledger_concurrency import race

    provider_id, _provider, client_id, _buyer = people
    d = deal(platform, client_id, provider_id, clock.now())

    def write(i: int) -> str:
        with runtime.sessions() as db, db.begin():
            return reviews.create_review(
                db,
                platform=platform,
                author_id=client_id,
                subject_kind="test-deal",
                transaction_id=d,
                rating=5,
                text=None,
                now=clock.now(),
            ).id

    outcomes = race(4, write)
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert count_reviews(runtime, platform) == 1
    with runtime.sessions() as db:
        assert (
            reviews.aggregate(db, platform_id=platform.id, about_kind="user", about_id=provider_id).count == 1
        )


def test_the_privacy_export_holds_the_reviews_written_and_received(client, runtime, platform, people, clock):
    provider_id, _provider, client_id, buyer = people
    d = deal(platform, client_id, provider_id, clock.now())
    review = post(
        client, platform, buyer, subject_kind="test-deal", transaction_id=d, rating=4, text="Bien."
    ).json()
    from entremise.privacy.registry import EXPORTERS, load_module_hooks

    load_module_hooks()
    with runtime.sessions() as db:
        written = EXPORTERS["reviews"](db, platform, client_id)
        received = EXPORTERS["reviews"](db, platform, provider_id)
    assert [w["id"] for w in written["written"]] == [review["id"]] and written["about_me"] == []
    assert [w["id"] for w in received["about_me"]] == [review["id"]] and received["written"] == []
