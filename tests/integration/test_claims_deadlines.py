"""Answer deadlines tracked by timers the worker runs: the reminder, the lapse that tells the claimant
of mediation, the staff's list of overdue claims; mediators per platform and per provider; the EU
ODR link that is no longer shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from accounts_helpers import auth, login, staff_token, url
from claims_helpers import MEDIATOR, Person, file, make_subject, person, settings_with

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.booking import service as processes
from entremise.claims.models import Claim
from entremise.notify.outbox import messages_for
from entremise.worker.runner import run_once


def fresh(client, platform, who: Person) -> Person:
    """Log in again (sessions expire after 14 days; deadlines are longer)."""
    r = login(client, platform, who.email)
    assert r.status_code == 201, r.text
    return Person(who.id, who.email, r.json()["token"])


def sent(runtime, platform, template):
    with runtime.sessions() as db, db.begin():
        return [
            (m.recipient, dict(m.payload))
            for m in messages_for(db, platform_id=platform.id, template=template)
        ]


def test_EXPERT_CLAIM_2_the_platform_has_45_days_then_the_claimant_is_told_of_mediation(
    client, runtime, clock
):
    platform = make_platform(
        runtime,
        settings_with(
            ("technology", {"preset": "expert-technology"}), desk_email="reclamations@expert.example"
        ),
    )
    alice = person(client, platform)
    claim = file(
        client,
        platform,
        alice,
        kind="technology",
        comment="paiement bloqué",
        occurred_at="2026-11-22T10:00:00+01:00",
    ).json()
    assert claim["answer_due"]["last_day"] == "2027-01-07"
    assert sent(runtime, platform, "claims.received")[0][0] == "reclamations@expert.example"

    clock.set(datetime(2027, 1, 5, 23, 0, tzinfo=UTC))  # 48 hours before the deadline
    run_once(runtime)
    reminders = sent(runtime, platform, "claims.reminder")
    assert [r for r, _ in reminders] == ["reclamations@expert.example"]
    assert sent(runtime, platform, "claims.mediation") == []

    clock.set(datetime(2027, 1, 7, 22, 59, tzinfo=UTC))  # the last minute of 7 January in Paris
    run_once(runtime)
    assert sent(runtime, platform, "claims.mediation") == []
    staff = auth(staff_token(client, runtime, platform))
    assert client.get(url(platform, "/staff/claims?overdue=true"), headers=staff).json()["items"] == []

    clock.set(datetime(2027, 1, 7, 23, 0, tzinfo=UTC))  # midnight in Paris: the deadline has passed
    run_once(runtime)
    mediation = sent(runtime, platform, "claims.mediation")
    assert [r for r, _ in mediation] == [alice.email]
    assert mediation[0][1]["mediator"] == MEDIATOR and mediation[0][1]["odr_url"] is None
    assert [r for r, _ in sent(runtime, platform, "claims.overdue")] == ["reclamations@expert.example"]
    overdue = client.get(url(platform, "/staff/claims?overdue=true"), headers=staff).json()["items"]
    assert [c["id"] for c in overdue] == [claim["id"]] and overdue[0]["overdue"] is True
    assert client.get(url(platform, "/staff/claims?overdue=false"), headers=staff).json()["items"] == []
    with runtime.sessions() as db, db.begin():
        entries = list_entries(db, platform_id=platform.id, object_type="claim", object_id=claim["id"])
    lapse = [e for e in entries if e.action == "claim.overdue"]
    assert len(lapse) == 1 and lapse[0].rules == ["EXPERT-CLAIM-2"] and lapse[0].actor_type == "system"

    alice = fresh(client, platform, alice)
    seen = client.get(url(platform, f"/claims/{claim['id']}"), headers=alice.headers).json()
    assert seen["overdue"] is True and seen["mediation_open"] is True
    assert seen["mediation"]["mediator"]["website"] == "https://mediation.example"

    run_once(runtime)  # nothing is sent twice
    assert len(sent(runtime, platform, "claims.mediation")) == 1
    late = client.post(
        url(platform, f"/claims/{claim['id']}/answer"),
        json={"decision": "accepted", "reasons": "corrigé"},
        headers=staff,
    )
    assert late.status_code == 200 and late.json()["answers"][0]["on_time"] is False
    assert client.get(url(platform, "/staff/claims?overdue=true"), headers=staff).json()["items"] == []


def test_an_answer_in_time_stops_the_timers(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("test_consultation", {"preset": "expert-consultation"})))
    alice, bob = person(client, platform), person(client, platform, "provider")
    subject = make_subject(runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    claim = file(client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="x").json()
    clock.advance(timedelta(days=3))
    r = client.post(
        url(platform, f"/claims/{claim['id']}/answer"),
        json={"decision": "refused", "reasons": "durée facturée exacte"},
        headers=bob.headers,
    )
    assert r.status_code == 200
    clock.advance(timedelta(days=30))
    run_once(runtime)
    with runtime.sessions() as db, db.begin():
        watch = db.get(Claim, claim["id"]).watch_id
        assert {t.status for t in processes.list_timers(db, platform.id, watch)} == {"cancelled"}
    assert (
        sent(runtime, platform, "claims.reminder") == [] and sent(runtime, platform, "claims.mediation") == []
    )
    answered = sent(runtime, platform, "claims.answered")
    assert answered[0][1]["mediation"] is True and answered[0][1]["decision"] == "refused"


def test_EXPERT_CLAIM_1_the_provider_is_reminded_and_the_sellers_mediator_is_given(client, runtime, clock):
    settings = settings_with(("test_consultation", {"preset": "expert-consultation"}))
    settings["claims"]["mediation"]["seller"] = "provider"
    platform = make_platform(runtime, settings)
    alice, bob = person(client, platform), person(client, platform, "provider")
    own = {
        "name": "CM2C",
        "address": "14 rue Saint-Jean, 75017 Paris",
        "website": "https://www.cm2c.net",
        "email": None,
    }
    assert client.put(url(platform, "/me/mediator"), json=own, headers=bob.headers).status_code == 200
    subject = make_subject(runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    file(client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="x")

    clock.advance(timedelta(days=12, hours=15))  # 48 h before the end of 7 December
    run_once(runtime)
    assert [r for r, _ in sent(runtime, platform, "claims.reminder")] == [bob.email]
    clock.advance(timedelta(days=3))
    run_once(runtime)
    mediation = sent(runtime, platform, "claims.mediation")
    assert mediation[0][0] == alice.email and mediation[0][1]["mediator"]["name"] == "CM2C"
    assert [r for r, _ in sent(runtime, platform, "claims.overdue")] == [bob.email]


def test_CONSULT_CLAIM_1_business_days_of_a_platform_in_alsace_moselle(client, runtime, clock):
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    kinds = ("test_consultation", {"preset": "consult-claim"})
    fields = {"name": "Alice", "contact": "alice@example.fr", "pseudonym": "Alice67", "object": "appel coupé"}
    due = {}
    for departement in (None, "67"):
        platform = make_platform(runtime, settings_with(kinds, departement=departement))
        alice = person(client, platform)
        subject = make_subject(
            runtime, platform, client_id=alice.id, provider_id=None, ended_at=clock.now(), to="platform"
        )
        r = file(client, platform, alice, kind="test_consultation", subject_id=subject.id, **fields)
        assert r.status_code == 201, r.text
        due[departement] = r.json()["answer_due"]["last_day"]
    # 30 business days from 1 March 2027: Easter Monday (29 March) everywhere, Good Friday (26 March) in Alsace
    assert due == {None: "2027-04-13", "67": "2027-04-14"}


def test_CONSULT_MEDIATION_1_a_providers_page_shows_the_mediators_contact(client, runtime):
    consult = make_platform(runtime, settings_with(("test_consultation", {"preset": "consult-claim"})))
    master, alice = person(client, consult, "provider"), person(client, consult)
    r = client.get(url(consult, f"/providers/{master.id}/mediator"))
    assert r.status_code == 200
    assert r.json() == {"seller": "platform", "mediator": MEDIATOR, "odr_url": None}
    assert client.get(url(consult, "/mediation")).json()["mediator"] == MEDIATOR
    assert (
        client.get(url(consult, f"/providers/{alice.id}/mediator")).status_code == 404
    )  # a client has no page
    assert (
        client.get(url(consult, "/providers/00000000-0000-7000-8000-000000000000/mediator")).status_code
        == 404
    )
    other = make_platform(runtime)
    assert client.get(url(other, f"/providers/{master.id}/mediator")).status_code == 404
    # consult resells every service: its providers do not declare a mediator of their own
    own = {"name": "X", "address": "Y", "website": "https://x.example"}
    assert client.put(url(consult, "/me/mediator"), json=own, headers=master.headers).status_code == 409


def test_a_provider_who_sells_declares_their_mediator(client, runtime):
    settings = settings_with(("test_consultation", {"preset": "expert-consultation"}))
    settings["claims"]["mediation"] = {"seller": "provider"}
    expert = make_platform(runtime, settings)
    bob, alice = person(client, expert, "provider"), person(client, expert)
    page = url(expert, f"/providers/{bob.id}/mediator")
    assert client.get(page).json() == {"seller": "provider", "mediator": None, "odr_url": None}
    own = {
        "name": "Médiateur du conseil",
        "address": "1 quai de Seine, 75019 Paris",
        "website": "https://mediateur.example",
    }
    for bad, field in (
        ({**own, "website": "mediateur.example"}, "body.website"),
        ({**own, "phone": "1"}, "body.phone"),
    ):
        r = client.put(url(expert, "/me/mediator"), json=bad, headers=bob.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    assert client.put(url(expert, "/me/mediator"), json=own, headers=alice.headers).status_code == 403
    assert client.put(url(expert, "/me/mediator"), json=own).status_code == 401
    r = client.put(url(expert, "/me/mediator"), json=own, headers=bob.headers)
    assert r.status_code == 200 and r.json()["mediator"] == {**own, "email": None}
    assert client.get(page).json()["mediator"]["name"] == "Médiateur du conseil"
    changed = {**own, "name": "Médiateur du conseil (Paris)"}
    assert client.put(url(expert, "/me/mediator"), json=changed, headers=bob.headers).status_code == 200
    assert client.get(page).json()["mediator"]["name"] == "Médiateur du conseil (Paris)"


def test_the_eu_odr_link_is_a_date_effective_setting_no_longer_shown(client, runtime, clock):
    platform = make_platform(runtime, settings_with())
    assert client.get(url(platform, "/mediation")).json()["odr_url"] is None  # 1 December 2026
    clock.set(datetime(2025, 7, 19, 21, 59, tzinfo=UTC))  # 23:59 on 19 July 2025 in Paris
    assert client.get(url(platform, "/mediation")).json()["odr_url"] == "https://ec.europa.eu/consumers/odr"
    clock.set(datetime(2025, 7, 19, 22, 0, tzinfo=UTC))  # 20 July 2025 in Paris: the platform is closed
    assert client.get(url(platform, "/mediation")).json()["odr_url"] is None
    moved = make_platform(
        runtime,
        settings_with(mediation={"odr": {"url": "https://odr.example", "shown_before": "2030-01-01"}}),
    )
    assert client.get(url(moved, "/mediation")).json()["odr_url"] == "https://odr.example"


def test_staff_list_claims_by_state_and_kind(client, runtime, clock):
    platform = make_platform(
        runtime,
        settings_with(
            ("technology", {"preset": "expert-technology"}),
            ("test_consultation", {"preset": "expert-consultation"}),
        ),
    )
    alice, bob = person(client, platform), person(client, platform, "provider")
    staff = auth(staff_token(client, runtime, platform))
    tech = file(
        client, platform, alice, kind="technology", comment="x", occurred_at="2026-11-22T10:00:00+01:00"
    ).json()
    subject = make_subject(runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    consult = file(
        client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="y"
    ).json()
    client.post(
        url(platform, f"/claims/{tech['id']}/answer"),
        json={"decision": "refused", "reasons": "non"},
        headers=staff,
    )

    def ids(query):
        page = client.get(url(platform, f"/staff/claims{query}"), headers=staff).json()
        return [c["id"] for c in page["items"]]

    assert ids("") == sorted([tech["id"], consult["id"]])
    assert ids("?state=answered") == [tech["id"]]
    assert ids("?kind=test_consultation") == [consult["id"]]
    assert client.get(url(platform, "/staff/claims?state=lost"), headers=staff).status_code == 422
    assert client.get(url(platform, "/staff/claims?overdue=perhaps"), headers=staff).status_code == 422
    assert client.get(url(platform, "/staff/claims"), headers=bob.headers).status_code == 403
