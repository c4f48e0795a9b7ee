"""Filing claims through the HTTP app on a real database: windows, required fields, subjects, who may
file, acknowledgment, and who may see a claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from accounts_helpers import problem_body, url
from claims_helpers import file, make_subject, person, settings_with

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.booking import service as processes
from entremise.claims.models import Claim
from entremise.notify.outbox import messages_for

EXPERT = settings_with(("test_consultation", {"preset": "expert-consultation"}))


def claims_of(runtime, platform):
    with runtime.sessions() as db, db.begin():
        from sqlalchemy import select

        return list(db.scalars(select(Claim).where(Claim.platform_id == platform.id)))


@pytest.fixture
def expert(runtime):
    return make_platform(runtime, EXPERT, prefix="expert")


def test_EXPERT_CLAIM_1_a_client_files_within_7_days_and_gets_an_acknowledgment(
    client, runtime, expert, clock
):
    alice, bob = person(client, expert), person(client, expert, "provider")
    ended = clock.now() - timedelta(days=6)
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=ended)

    r = file(
        client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="la voyance a coupé"
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["state"] == "acknowledged" and claim["reference"].startswith("R-")
    assert claim["rules"] == ["EXPERT-CLAIM-1"]
    assert claim["respondent"] == "provider" and claim["respondent_id"] == bob.id
    assert claim["my_capacities"] == ["claimant"] and claim["allowed_actions"] == ["add_evidence", "close"]
    # filed on Monday 23 November 2026: the provider has 14 days, until the end of 7 December (Paris)
    assert claim["answer_due"]["last_day"] == "2026-12-07"
    assert claim["answer_due"]["local"] == "2026-12-08T00:00:00+01:00"
    assert claim["filing_deadline"]["last_day"] == "2026-11-24"

    with runtime.sessions() as db, db.begin():
        acks = messages_for(db, platform_id=expert.id, template="claims.acknowledged")
        received = messages_for(db, platform_id=expert.id, template="claims.received")
        audit = list_entries(db, platform_id=expert.id, object_type="claim", object_id=claim["id"])
        row = db.get(Claim, claim["id"])
        timers = processes.list_timers(db, expert.id, row.watch_id)
    assert [m.recipient for m in acks] == [alice.email] and acks[0].payload["answer_due_day"] == "2026-12-07"
    assert [m.recipient for m in received] == [bob.email]
    assert [e.action for e in audit] == ["claim.filed", "claim.acknowledged"]
    assert all(e.rules == ["EXPERT-CLAIM-1"] for e in audit)
    assert {t.transition: t.status for t in timers} == {"remind": "pending", "lapse": "pending"}
    lapse = next(t for t in timers if t.transition == "lapse")
    assert lapse.due_at == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


def test_EXPERT_CLAIM_1_a_late_claim_is_refused_with_the_deadline_that_passed(client, runtime, expert, clock):
    alice, bob = person(client, expert), person(client, expert, "provider")
    ended = datetime(2026, 11, 13, 20, 0, tzinfo=UTC)  # Friday 13 November, 21:00 in Paris
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=ended)

    r = file(client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="trop tard ?")
    assert r.status_code == 409, r.text
    body = problem_body(r)
    assert body["type"] == "https://entremise.dev/problems/claim-window-closed"
    assert body["rules"] == ["EXPERT-CLAIM-1"]
    assert body["deadline"] == "2026-11-20T23:00:00+00:00"
    assert body["deadline_local"] == "2026-11-21T00:00:00+01:00"
    assert body["timezone"] == "Europe/Paris" and body["last_day"] == "2026-11-20"
    assert body["window"] == "7 calendar days, a last day off moving to the next business day"
    assert "too late" in body["detail"]
    assert claims_of(runtime, expert) == []
    with runtime.sessions() as db, db.begin():
        assert messages_for(db, platform_id=expert.id, template="claims.acknowledged") == []


def test_EXPERT_CLAIM_1_the_comment_is_mandatory_and_only_the_clients_space_files(
    client, runtime, expert, clock
):
    alice, bob = person(client, expert), person(client, expert, "provider")
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    r = file(client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="   ")
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "body.comment", "reason": "required for this kind of claim (EXPERT-CLAIM-1)"}
    ]
    r = file(client, expert, bob, kind="test_consultation", subject_id=subject.id, comment="moi aussi")
    assert r.status_code == 403 and r.json()["rules"] == ["EXPERT-CLAIM-1"]
    assert claims_of(runtime, expert) == []


def test_CONSULT_CLAIM_1_name_contact_pseudonym_and_object_are_all_named_at_once(client, runtime, clock):
    consult = make_platform(runtime, settings_with(("test_consultation", {"preset": "consult-claim"})))
    alice = person(client, consult)
    subject = make_subject(
        runtime, consult, client_id=alice.id, provider_id=None, ended_at=clock.now(), to="platform"
    )
    r = file(client, consult, alice, kind="test_consultation", subject_id=subject.id, name="Alice Martin")
    assert r.status_code == 422
    body = r.json()
    assert [e["field"] for e in body["errors"]] == ["body.contact", "body.pseudonym", "body.object"]
    assert body["rules"] == ["CONSULT-CLAIM-1"]
    assert claims_of(runtime, consult) == []

    r = file(
        client,
        consult,
        alice,
        kind="test_consultation",
        subject_id=subject.id,
        name="Alice Martin",
        contact="alice@example.fr, 06 12 34 56 78",
        pseudonym="Étoile75",
        object="appel interrompu après 2 minutes",
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["respondent"] == "platform" and claim["respondent_id"] is None
    # 30 business days from Monday 23 November 2026: Christmas and New Year's Day do not count
    assert claim["answer_due"]["last_day"] == "2027-01-06"
    assert claim["filing_deadline"] is None


def test_KIDRIDE_CLAIM_1_evidence_is_required_and_kept(client, runtime, clock):
    kidride = make_platform(runtime, settings_with(("test_ride", {"preset": "kidride-ride"})))
    parent = person(client, kidride)
    ride = make_subject(
        runtime, kidride, client_id=parent.id, provider_id=None, ended_at=clock.now(), to="platform"
    )
    r = file(client, kidride, parent, kind="test_ride", subject_id=ride.id, comment="chauffeur en retard")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.evidence"]
    r = file(
        client,
        kidride,
        parent,
        kind="test_ride",
        subject_id=ride.id,
        comment="chauffeur en retard de 40 minutes",
        evidence=[{"text": "SMS du chauffeur à 8 h 40"}, {"reference": "course 2026-1123-17"}],
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert [(e["kind"], e["added_as"]) for e in claim["evidence"]] == [
        ("text", "claimant"),
        ("reference", "claimant"),
    ]
    assert claim["answer_due"]["last_day"] == "2026-11-30" and claim["rules"] == ["KIDRIDE-CLAIM-1"]


def test_CARPOOL_CONTEST_1_within_48_hours_after_the_day_of_the_trip(client, runtime, clock):
    carpool = make_platform(runtime, settings_with(("test_trip", {"preset": "carpool-trip"})))
    passenger, driver = person(client, carpool), person(client, carpool, "provider")
    # a trip on Friday 20 November at 18:00 Paris: contestable until the end of Sunday 22 November
    late_trip = make_subject(
        runtime,
        carpool,
        client_id=passenger.id,
        provider_id=driver.id,
        ended_at=datetime(2026, 11, 20, 17, 0, tzinfo=UTC),
    )
    r = file(
        client, carpool, passenger, kind="test_trip", subject_id=late_trip.id, comment="je n'étais pas à bord"
    )
    assert r.status_code == 409
    assert (
        r.json()["rules"] == ["CARPOOL-CONTEST-1"]
        and r.json()["deadline_local"] == "2026-11-23T00:00:00+01:00"
    )
    # a trip on Saturday 21 November: contestable until the end of Monday 23 November; the driver may contest too
    trip = make_subject(
        runtime,
        carpool,
        client_id=passenger.id,
        provider_id=driver.id,
        ended_at=datetime(2026, 11, 21, 7, 0, tzinfo=UTC),
    )
    r = file(client, carpool, driver, kind="test_trip", subject_id=trip.id, comment="passager absent")
    assert r.status_code == 201, r.text
    assert r.json()["filing_deadline"]["local"] == "2026-11-24T00:00:00+01:00"


def test_EXPERT_CLAIM_2_a_technology_claim_states_when_it_occurred(client, runtime, clock):
    expert = make_platform(runtime, settings_with(("technology", {"preset": "expert-technology"})))
    alice = person(client, expert)
    r = file(client, expert, alice, kind="technology", comment="la vidéo ne démarre pas")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.occurred_at"]
    r = file(client, expert, alice, kind="technology", comment="x", occurred_at="2026-11-24T09:00:00+01:00")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.occurred_at"  # in the future
    r = file(
        client,
        expert,
        alice,
        kind="technology",
        comment="x",
        subject_id="abc",
        occurred_at="2026-11-20T09:00:00+01:00",
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.subject_id"
    r = file(client, expert, alice, kind="technology", comment="x", occurred_at="2026-11-13T09:00:00+01:00")
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-CLAIM-2"]  # past 7 days: no claim accepted
    r = file(
        client,
        expert,
        alice,
        kind="technology",
        comment="la vidéo ne démarre pas",
        occurred_at="2026-11-20T09:00:00+01:00",
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["respondent"] == "platform" and claim["subject_id"] is None
    assert claim["answer_due"]["last_day"] == "2027-01-07"  # 45 days from 23 November 2026


def test_unknown_kind_unknown_subject_and_someone_elses_subject_are_refused_alike(
    client, runtime, expert, clock
):
    alice, mallory, bob = person(client, expert), person(client, expert), person(client, expert, "provider")
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    r = file(client, expert, alice, kind="test_parcel", subject_id=subject.id, comment="x")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.kind"
    unknown = file(client, expert, alice, kind="test_consultation", subject_id="no-such-thing", comment="x")
    not_party = file(client, expert, mallory, kind="test_consultation", subject_id=subject.id, comment="x")
    assert unknown.status_code == not_party.status_code == 422
    assert (
        unknown.json()["errors"]
        == not_party.json()["errors"]
        == [{"field": "body.subject_id", "reason": "no test_consultation of yours has this id"}]
    )
    missing = file(client, expert, alice, kind="test_consultation", comment="x")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.subject_id"
    assert claims_of(runtime, expert) == []


def test_a_second_open_claim_about_the_same_subject_is_refused(client, runtime, expert, clock):
    alice, bob = person(client, expert), person(client, expert, "provider")
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    first = file(client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="un")
    assert first.status_code == 201
    again = file(client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="deux")
    assert again.status_code == 409 and again.json()["claim_id"] == first.json()["id"]
    assert len(claims_of(runtime, expert)) == 1


def test_bad_bodies_are_refused_naming_the_field(client, runtime, expert):
    alice = person(client, expert)
    cases = [
        ({"kind": "test_consultation", "colour": "red"}, "body.colour"),
        ({"kind": "Not A Kind"}, "body.kind"),
        ({"kind": "test_consultation", "subject_id": 12}, "body.subject_id"),
        ({"kind": "test_consultation", "occurred_at": "2026-11-20T09:00:00"}, "body.occurred_at"),
        ({"kind": "test_consultation", "evidence": [{}]}, "body.evidence.0"),
        ({"kind": "test_consultation", "evidence": [{"text": "x"}] * 21}, "body.evidence"),
        ({"kind": "test_consultation", "comment": "a\u0000b"}, "body.comment"),
        ({"kind": "test_consultation", "object": "x" * 201}, "body.object"),
    ]
    for body, field in cases:
        r = client.post(url(expert, "/claims"), json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
        assert any(e["field"].startswith(field) for e in r.json()["errors"]), (field, r.json())
    assert client.post(url(expert, "/claims"), json={"kind": "test_consultation"}).status_code == 401
    assert claims_of(runtime, expert) == []


def test_only_the_claimant_the_respondent_and_staff_see_a_claim_also_across_platforms(
    client, runtime, expert, clock
):
    from accounts_helpers import auth, staff_token

    alice, bob = person(client, expert), person(client, expert, "provider")
    mallory, eve = person(client, expert), person(client, expert, "provider")
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    claim = file(client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="x").json()
    path = url(expert, f"/claims/{claim['id']}")

    assert client.get(path, headers=alice.headers).status_code == 200
    seen = client.get(path, headers=bob.headers).json()
    assert seen["my_capacities"] == ["respondent"] and seen["allowed_actions"] == ["answer", "add_evidence"]
    staff = client.get(path, headers=auth(staff_token(client, runtime, expert))).json()
    assert staff["my_capacities"] == ["staff"]
    for stranger in (mallory, eve):
        r = client.get(path, headers=stranger.headers)
        assert r.status_code == 404 and r.json()["detail"] == "no such claim"
    assert (
        client.get(
            url(expert, "/claims/00000000-0000-7000-8000-000000000000"), headers=alice.headers
        ).status_code
        == 404
    )

    other = make_platform(runtime, EXPERT, prefix="other")
    outsider = person(client, other)
    assert client.get(url(other, f"/claims/{claim['id']}"), headers=outsider.headers).status_code == 404
    assert client.get(path, headers=outsider.headers).status_code == 401  # a session is bound to its platform
    assert (
        client.get(
            url(other, f"/claims/{claim['id']}"), headers=auth(staff_token(client, runtime, other))
        ).status_code
        == 404
    )

    mine = client.get(url(expert, "/claims"), headers=alice.headers).json()
    assert [c["id"] for c in mine["items"]] == [claim["id"]] and mine["items"][0]["evidence"] is None
    assert client.get(url(expert, "/claims"), headers=mallory.headers).json()["items"] == []
    to_answer = client.get(url(expert, "/claims?as=respondent"), headers=bob.headers).json()
    assert [c["id"] for c in to_answer["items"]] == [claim["id"]]
    assert client.get(url(expert, "/claims?as=respondent"), headers=eve.headers).json()["items"] == []
    assert client.get(url(expert, "/claims?as=judge"), headers=bob.headers).status_code == 422
    assert client.get(url(expert, "/staff/claims"), headers=alice.headers).status_code == 403


def test_claims_list_pages_with_cursors(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("technology", {"preset": "expert-technology"})))
    alice = person(client, platform)
    ids = []
    for i in range(3):
        r = file(
            client,
            platform,
            alice,
            kind="technology",
            comment=f"panne {i}",
            occurred_at="2026-11-22T10:00:00+01:00",
        )
        ids.append(r.json()["id"])
    first = client.get(url(platform, "/claims?limit=2"), headers=alice.headers).json()
    rest = client.get(
        url(platform, f"/claims?limit=2&cursor={first['next_cursor']}"), headers=alice.headers
    ).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == sorted(ids) and rest["next_cursor"] is None
    assert client.get(url(platform, "/claims?cursor=%%%"), headers=alice.headers).status_code == 422


def test_claim_kinds_are_listed_with_their_figures(client, runtime):
    platform = make_platform(
        runtime,
        settings_with(
            ("test_consultation", {"preset": "expert-consultation"}),
            ("technology", {"preset": "expert-technology"}),
            ("parcel", {"preset": "kidride-ride"}),
        ),
    )
    kinds = {k["kind"]: k for k in client.get(url(platform, "/claim-kinds")).json()}
    assert (
        kinds["test_consultation"]["filing_window"]["description"]
        == "7 calendar days, a last day off moving to the next business day"
    )
    assert kinds["test_consultation"]["answer_within"]["count"] == 14
    assert kinds["test_consultation"]["available"] and kinds["technology"]["available"]
    assert not kinds["parcel"]["available"]  # no module registered parcels
    assert kinds["technology"]["required_fields"] == ["comment", "occurred_at"]


def test_a_member_who_has_not_accepted_the_terms_in_force_cannot_file(client, runtime, expert, clock):
    from accounts_helpers import auth, staff_token

    alice = person(client, expert)
    staff = auth(staff_token(client, runtime, expert))
    r = client.post(
        url(expert, "/staff/terms/client"),
        json={"version": "v1", "text": "Conditions.", "effective_at": clock.now().isoformat()},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    r = file(client, expert, alice, kind="test_consultation", subject_id="x", comment="x")
    assert r.status_code == 403 and r.json()["rules"] == ["COMMON-TERMS-2"]


def test_CONSULT_CLAIM_1_the_master_does_not_see_a_claim_the_platform_answers(client, runtime, clock):
    consult = make_platform(runtime, settings_with(("test_consultation", {"preset": "consult-claim"})))
    alice, master = person(client, consult), person(client, consult, "provider")
    subject = make_subject(
        runtime, consult, client_id=alice.id, provider_id=master.id, ended_at=clock.now(), to="platform"
    )
    fields = {"name": "Alice", "contact": "alice@example.fr", "pseudonym": "Lune", "object": "appel coupé"}
    claim = file(client, consult, alice, kind="test_consultation", subject_id=subject.id, **fields).json()
    assert claim["respondent"] == "platform" and claim["provider_id"] == master.id
    assert client.get(url(consult, f"/claims/{claim['id']}"), headers=master.headers).status_code == 404
    assert client.get(url(consult, "/claims?as=respondent"), headers=master.headers).json()["items"] == []


def test_malformed_ids_in_the_path_are_refused(client, runtime, expert):
    alice = person(client, expert)
    for path in ("/claims/NOT-AN-ID", "/claims/" + "a" * 37, "/providers/zz/mediator"):
        r = client.get(url(expert, path), headers=alice.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("path."), path
