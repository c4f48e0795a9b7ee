"""Answering claims through the HTTP app: who may answer, decisions with reasons, refunds through the
ledger (credit back, never above what was paid, frozen or empty wallets refused), escalation,
closure and evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_helpers import auth, login, staff_token, url
from claims_helpers import Person, balance, file, make_subject, person, settings_with

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.booking import service as processes
from entremise.claims.models import Claim
from entremise.claims.refunds import RefundRequest, RefundResult, register_refund_method
from entremise.ledger import service as ledger
from entremise.notify.outbox import messages_for

EXPERT = settings_with(("test_consultation", {"preset": "expert-consultation"}))


@pytest.fixture
def expert(runtime):
    return make_platform(runtime, EXPERT, prefix="expert")


@pytest.fixture
def case(client, runtime, expert, clock):
    """A client's claim about a 30 € consultation paid into the provider's wallet."""
    alice, bob = person(client, expert), person(client, expert, "provider")
    subject = make_subject(runtime, expert, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    claim = file(
        client, expert, alice, kind="test_consultation", subject_id=subject.id, comment="coupure"
    ).json()
    return alice, bob, subject, claim


def answer(client, platform, who_headers, claim_id, **body):
    return client.post(url(platform, f"/claims/{claim_id}/answer"), json=body, headers=who_headers)


def relogin(client, platform, who):
    r = login(client, platform, who.email)
    assert r.status_code == 201, r.text
    return Person(who.id, who.email, r.json()["token"])


def claim_row(runtime, claim_id):
    with runtime.sessions() as db, db.begin():
        row = db.get(Claim, claim_id)
        db.expunge(row)
        return row


def test_EXPERT_CLAIM_1_the_provider_answers_and_refunds_part_through_the_ledger(
    client, runtime, expert, case
):
    alice, bob, subject, claim = case
    r = answer(
        client,
        expert,
        bob.headers,
        claim["id"],
        decision="partly_accepted",
        reasons="la communication a été coupée après 10 minutes",
        refund={"amount": 1200, "currency": "EUR"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "answered" and out["decision"] == "partly_accepted"
    assert out["answers"][0]["on_time"] is True and out["answers"][0]["author_as"] == "provider"
    assert out["refunds"][0]["amount"] == {"amount": 1200, "currency": "EUR"}
    assert out["refunds"][0]["method"] == "credit_back" and out["refunds"][0]["rules"] == ["EXPERT-CLAIM-1"]
    assert balance(runtime, expert, subject.receiver) == 1800
    assert balance(runtime, expert, subject.client_credit) == 1200
    with runtime.sessions() as db, db.begin():
        txs = ledger.transactions_for(db, platform_id=expert.id, cause=("claim", claim["id"]))
        answered = messages_for(db, platform_id=expert.id, template="claims.answered")
        row = db.get(Claim, claim["id"])
        timers = processes.list_timers(db, expert.id, row.watch_id)
        actions = [
            e.action
            for e in list_entries(db, platform_id=expert.id, object_type="claim", object_id=claim["id"])
        ]
    assert [(t.code, t.rules) for t in txs] == [("claim.refund", ("EXPERT-CLAIM-1",))]
    assert txs[0].id == out["refunds"][0]["external_ref"]
    assert [m.recipient for m in answered] == [alice.email]
    payload = answered[0].payload
    assert payload["refund"] == "12.00 EUR" and payload["mediation"] is True and payload["mediator"]["name"]
    assert {t.status for t in timers} == {"cancelled"}  # answered: the deadline watch stopped
    assert actions[-2:] == ["claim.refunded", "claim.answered"]
    seen = client.get(url(expert, f"/claims/{claim['id']}"), headers=alice.headers).json()
    assert seen["mediation_open"] is True and seen["allowed_actions"] == ["add_evidence", "close"]


def test_only_the_respondent_may_answer_and_a_refused_answer_changes_nothing(client, runtime, expert, case):
    alice, _bob, subject, claim = case
    eve = person(client, expert, "provider")
    staff = auth(staff_token(client, runtime, expert))
    body = {"decision": "accepted", "reasons": "d'accord", "refund": {"amount": 100}}
    by_claimant = answer(client, expert, alice.headers, claim["id"], **body)
    assert by_claimant.status_code == 403 and by_claimant.json()["allowed_actions"] == [
        "add_evidence",
        "close",
    ]
    assert by_claimant.json()["rules"] == ["EXPERT-CLAIM-1"]
    assert (
        answer(client, expert, staff, claim["id"], **body).status_code == 403
    )  # the provider answers, not staff
    assert answer(client, expert, eve.headers, claim["id"], **body).status_code == 404
    other = make_platform(runtime, EXPERT)
    assert (
        answer(client, other, person(client, other, "provider").headers, claim["id"], **body).status_code
        == 404
    )
    row = claim_row(runtime, claim["id"])
    assert row.state == "acknowledged" and row.decision is None
    assert balance(runtime, expert, subject.receiver) == 3000


def test_answers_are_checked_field_by_field_and_a_refused_one_changes_nothing(client, runtime, expert, case):
    _alice, bob, subject, claim = case
    cases = [
        ({"decision": "maybe", "reasons": "x"}, "body.decision"),
        ({"decision": "accepted"}, "body.reasons"),
        ({"decision": "accepted", "reasons": ""}, "body.reasons"),
        ({"decision": "refused", "reasons": "non", "refund": {"amount": 100}}, "body.refund"),
        ({"decision": "accepted", "reasons": "oui", "refund": {"amount": "100"}}, "body.refund.amount"),
        ({"decision": "accepted", "reasons": "oui", "refund": {"amount": 0}}, "body.refund.amount"),
        (
            {"decision": "accepted", "reasons": "oui", "refund": {"amount": 100, "currency": "eur"}},
            "body.refund.currency",
        ),
        (
            {"decision": "accepted", "reasons": "oui", "refund": {"amount": 100, "currency": "XXX"}},
            "body.refund.currency",
        ),
        (
            {"decision": "accepted", "reasons": "oui", "refund": {"amount": 100, "currency": "GBP"}},
            "body.refund.currency",
        ),
        ({"decision": "accepted", "reasons": "oui", "refund": {"amount": 3001}}, "body.refund.amount"),
        ({"decision": "accepted", "reasons": "oui", "tip": 1}, "body.tip"),
    ]
    for body, field in cases:
        r = answer(client, expert, bob.headers, claim["id"], **body)
        assert r.status_code == 422, (body, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], (body, r.json())
    over = answer(
        client, expert, bob.headers, claim["id"], decision="accepted", reasons="oui", refund={"amount": 3001}
    )
    assert "at most 30.00 EUR" in over.json()["errors"][0]["reason"] and over.json()["rules"] == [
        "EXPERT-CLAIM-1"
    ]
    row = claim_row(runtime, claim["id"])
    assert row.state == "acknowledged" and balance(runtime, expert, subject.receiver) == 3000


def test_a_claim_is_answered_once_and_refunded_once(client, runtime, expert, case):
    _alice, bob, subject, claim = case
    body = {"decision": "accepted", "reasons": "remboursé", "refund": {"amount": 3000}}
    key = {"Idempotency-Key": "answer-once", **bob.headers}
    first = client.post(url(expert, f"/claims/{claim['id']}/answer"), json=body, headers=key)
    replay = client.post(url(expert, f"/claims/{claim['id']}/answer"), json=body, headers=key)
    assert first.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    again = answer(client, expert, bob.headers, claim["id"], **body)
    assert again.status_code == 409 and again.json()["state"] == "answered"
    assert balance(runtime, expert, subject.receiver) == 0
    assert balance(runtime, expert, subject.client_credit) == 3000


def test_refunds_of_one_subject_never_exceed_what_it_cost_across_claims(client, runtime, clock):
    carpool = make_platform(runtime, settings_with(("test_trip", {"preset": "carpool-trip"})))
    passenger, driver = person(client, carpool), person(client, carpool, "provider")
    staff = auth(staff_token(client, runtime, carpool))
    trip = make_subject(
        runtime, carpool, client_id=passenger.id, provider_id=driver.id, ended_at=clock.now(), paid=800
    )
    by_passenger = file(
        client, carpool, passenger, kind="test_trip", subject_id=trip.id, comment="retard"
    ).json()
    by_driver = file(client, carpool, driver, kind="test_trip", subject_id=trip.id, comment="détour").json()
    ok = answer(
        client,
        carpool,
        staff,
        by_passenger["id"],
        decision="partly_accepted",
        reasons="retard",
        refund={"amount": 500},
    )
    assert ok.status_code == 200, ok.text
    over = answer(
        client, carpool, staff, by_driver["id"], decision="accepted", reasons="oui", refund={"amount": 301}
    )
    assert over.status_code == 422 and "at most 3.00 EUR" in over.json()["errors"][0]["reason"]
    assert over.json()["rules"] == ["CARPOOL-CONTEST-1"]
    assert claim_row(runtime, by_driver["id"]).state == "acknowledged"
    assert (
        answer(
            client,
            carpool,
            staff,
            by_driver["id"],
            decision="accepted",
            reasons="oui",
            refund={"amount": 300},
        ).status_code
        == 200
    )
    assert (
        balance(runtime, carpool, trip.receiver) == 0 and balance(runtime, carpool, trip.client_credit) == 800
    )


def test_a_frozen_wallet_refuses_the_refund_clearly_and_nothing_is_kept(client, runtime, expert, case, clock):
    _alice, bob, subject, claim = case
    with runtime.sessions() as db, db.begin():
        ledger.freeze(
            db,
            platform_id=expert.id,
            account_id=subject.receiver,
            rules=["EXPERT-SANCTION-1"],
            reason="fraude",
            now=clock.now(),
        )
    r = answer(
        client, expert, bob.headers, claim["id"], decision="accepted", reasons="oui", refund={"amount": 1000}
    )
    assert r.status_code == 409
    assert r.json()["detail"] == "the refund cannot be taken from the provider's wallet: it is frozen"
    assert "EXPERT-CLAIM-1" in r.json()["rules"]
    row = claim_row(runtime, claim["id"])
    assert row.state == "acknowledged" and row.answered_at is None
    with runtime.sessions() as db, db.begin():
        assert ledger.transactions_for(db, platform_id=expert.id, cause=("claim", claim["id"])) == []


def test_an_emptied_wallet_refuses_the_refund(client, runtime, expert, case, clock):
    from entremise.kernel.money import Money
    from entremise.ledger.domain import AccountType, Transfer

    _alice, bob, subject, claim = case
    with runtime.sessions() as db, db.begin():
        payout = ledger.get_or_open_account(
            db, platform_id=expert.id, type=AccountType.PAYOUTS_IN_TRANSIT, now=clock.now()
        )
        ledger.post_transaction(
            db,
            platform_id=expert.id,
            transfers=[Transfer(subject.receiver, payout.id, Money(2500))],
            idempotency_key="payout",
            code="payout.ordered",
            rules=["EXPERT-WALLET-2"],
            cause=("payout", "p1"),
            now=clock.now(),
        )
    r = answer(
        client, expert, bob.headers, claim["id"], decision="accepted", reasons="oui", refund={"amount": 1000}
    )
    assert r.status_code == 409 and "does not hold 10.00 EUR" in r.json()["detail"]
    assert claim_row(runtime, claim["id"]).state == "acknowledged"
    assert balance(runtime, expert, subject.receiver) == 500


def test_KIDRIDE_CLAIM_1_a_proven_defect_is_refunded_or_put_right(client, runtime, clock):
    kidride = make_platform(runtime, settings_with(("test_ride", {"preset": "kidride-ride"})))
    parent = person(client, kidride)
    staff = auth(staff_token(client, runtime, kidride))
    ride = make_subject(
        runtime,
        kidride,
        client_id=parent.id,
        provider_id=None,
        ended_at=clock.now(),
        to="platform",
        paid=4500,
    )
    claim = file(
        client,
        kidride,
        parent,
        kind="test_ride",
        subject_id=ride.id,
        comment="siège auto absent",
        evidence=[{"text": "photo décrite"}],
    ).json()
    bare = answer(client, kidride, staff, claim["id"], decision="accepted", reasons="défaut avéré")
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "body.remedy"
    assert "KIDRIDE-CLAIM-1" in bare.json()["errors"][0]["reason"]
    ok = answer(
        client,
        kidride,
        staff,
        claim["id"],
        decision="accepted",
        reasons="défaut avéré",
        refund={"amount": 4500},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["answers"][0]["author_as"] == "staff"
    assert (
        balance(runtime, kidride, ride.receiver) == 0
        and balance(runtime, kidride, ride.client_credit) == 4500
    )


def test_a_kind_that_does_not_refund_and_a_subject_without_payment_refuse_a_refund(client, runtime, clock):
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
        client,
        platform,
        alice,
        kind="technology",
        comment="écran noir",
        occurred_at="2026-11-22T10:00:00+01:00",
    ).json()
    r = answer(
        client, platform, staff, tech["id"], decision="accepted", reasons="corrigé", refund={"amount": 100}
    )
    assert (
        r.status_code == 422
        and r.json()["errors"][0]["reason"] == "resolutions of this kind of claim do not refund"
    )
    free = make_subject(
        runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now(), paid=0
    )
    claim = file(
        client, platform, alice, kind="test_consultation", subject_id=free.id, comment="offerte mais ratée"
    ).json()
    r = answer(
        client, platform, bob.headers, claim["id"], decision="accepted", reasons="oui", refund={"amount": 100}
    )
    assert (
        r.status_code == 422
        and r.json()["errors"][0]["reason"] == "nothing was paid for what this claim is about"
    )


PENDING: list[RefundRequest] = []


def test_card(db, request: RefundRequest) -> RefundResult:
    """A refund method behind the payment-provider port, as the payments module will register one."""
    PENDING.append(request)
    return RefundResult("pending", f"psp-refund-{len(PENDING)}")


register_refund_method("test_card", test_card)
test_card.__test__ = False  # type: ignore[attr-defined]


def test_a_pack_switches_a_kind_to_another_refund_method(client, runtime, clock):
    platform = make_platform(
        runtime, settings_with(("test_ride", {"preset": "kidride-ride", "refund_method": "test_card"}))
    )
    parent = person(client, platform)
    staff = auth(staff_token(client, runtime, platform))
    ride = make_subject(
        runtime, platform, client_id=parent.id, provider_id=None, ended_at=clock.now(), to="platform"
    )
    claim = file(
        client, platform, parent, kind="test_ride", subject_id=ride.id, comment="x", evidence=[{"text": "y"}]
    ).json()
    r = answer(
        client, platform, staff, claim["id"], decision="accepted", reasons="oui", refund={"amount": 1000}
    )
    assert r.status_code == 200, r.text
    refund = r.json()["refunds"][0]
    assert (
        refund["method"] == "test_card"
        and refund["status"] == "pending"
        and refund["external_ref"].startswith("psp-refund-")
    )
    assert PENDING[-1].idempotency_key == f"claim:{claim['id']}:answer:1:refund"
    assert balance(runtime, platform, ride.receiver) == 3000  # the card method moves money its own way

    unknown = make_platform(
        runtime, settings_with(("test_ride", {"preset": "kidride-ride", "refund_method": "cheque"}))
    )
    parent2 = person(client, unknown)
    ride2 = make_subject(
        runtime, unknown, client_id=parent2.id, provider_id=None, ended_at=clock.now(), to="platform"
    )
    claim2 = file(
        client, unknown, parent2, kind="test_ride", subject_id=ride2.id, comment="x", evidence=[{"text": "y"}]
    ).json()
    r = answer(
        client,
        unknown,
        auth(staff_token(client, runtime, unknown)),
        claim2["id"],
        decision="accepted",
        reasons="oui",
        refund={"amount": 100},
    )
    assert r.status_code == 409 and r.json()["refund_method"] == "cheque"
    assert claim_row(runtime, claim2["id"]).state == "acknowledged"


def test_staff_escalate_a_claim_then_answer_it_within_a_new_deadline(client, runtime, expert, case, clock):
    alice, bob, _subject, claim = case
    staff = auth(staff_token(client, runtime, expert))
    path = url(expert, f"/staff/claims/{claim['id']}/escalation")
    assert client.post(path, json={"reason": "x"}, headers=bob.headers).status_code == 403
    assert client.post(path, json={"reason": "x"}, headers=alice.headers).status_code == 403
    assert client.post(path, json={}, headers=staff).status_code == 422
    old_watch = claim_row(runtime, claim["id"]).watch_id
    clock.advance(timedelta(days=20))  # the provider let the deadline pass (sessions expired meanwhile)
    staff = auth(staff_token(client, runtime, expert))
    bob = relogin(client, expert, bob)
    r = client.post(path, json={"reason": "le prestataire ne répond pas"}, headers=staff)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "escalated" and out["respondent"] == "platform" and out["respondent_id"] is None
    assert out["answer_due"]["last_day"] == "2026-12-27"  # 14 days counted afresh from 13 December
    assert out["my_capacities"] == ["respondent", "staff"] and "answer" in out["allowed_actions"]
    with runtime.sessions() as db, db.begin():
        assert {t.status for t in processes.list_timers(db, expert.id, old_watch)} == {"cancelled"}
        new_watch = db.get(Claim, claim["id"]).watch_id
        assert {
            t.transition for t in processes.list_timers(db, expert.id, new_watch) if t.status == "pending"
        } == {"remind", "lapse"}
        assert [
            m.recipient for m in messages_for(db, platform_id=expert.id, template="claims.escalated")
        ] == [alice.email]
    # the provider still follows the claim and may add evidence, but no longer answers it
    assert (
        answer(client, expert, bob.headers, claim["id"], decision="refused", reasons="non").status_code == 403
    )
    followed = client.get(url(expert, f"/claims/{claim['id']}"), headers=bob.headers).json()
    assert followed["my_capacities"] == ["provider"] and followed["allowed_actions"] == ["add_evidence"]
    listed = client.get(url(expert, "/claims?as=respondent"), headers=bob.headers).json()["items"]
    assert [c["id"] for c in listed] == [claim["id"]]
    r = answer(
        client,
        expert,
        staff,
        claim["id"],
        decision="accepted",
        reasons="geste commercial",
        remedy="une consultation offerte",
    )
    assert r.status_code == 200 and r.json()["answers"][0]["remedy"] == "une consultation offerte"
    assert (
        client.post(path, json={"reason": "encore"}, headers=staff).status_code == 200
    )  # the claimant disputes the answer


def test_closing_a_claim(client, runtime, expert, case):
    alice, bob, _subject, claim = case
    staff = auth(staff_token(client, runtime, expert))
    close = url(expert, f"/claims/{claim['id']}/closure")
    assert (
        client.post(close, json={}, headers=staff).status_code == 409
    )  # staff never close an unanswered claim
    assert client.post(close, json={}, headers=bob.headers).status_code == 403
    assert client.post(close, json={"reason": ""}, headers=alice.headers).status_code == 422
    r = client.post(close, json={"reason": "réglé à l'amiable"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_by"] == "claimant"
    assert r.json()["allowed_actions"] == []
    assert client.post(close, json={}, headers=alice.headers).status_code == 409
    row = claim_row(runtime, claim["id"])
    with runtime.sessions() as db, db.begin():
        assert {t.status for t in processes.list_timers(db, expert.id, row.watch_id)} == {"cancelled"}
        assert messages_for(db, platform_id=expert.id, template="claims.closed") == []


def test_staff_close_an_answered_claim_and_tell_the_claimant(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("technology", {"preset": "expert-technology"})))
    alice = person(client, platform)
    staff = auth(staff_token(client, runtime, platform))
    claim = file(
        client, platform, alice, kind="technology", comment="bug", occurred_at="2026-11-22T10:00:00+01:00"
    ).json()
    answer(client, platform, staff, claim["id"], decision="refused", reasons="aucun incident constaté")
    r = client.post(url(platform, f"/claims/{claim['id']}/closure"), json={}, headers=staff)
    assert r.status_code == 200 and r.json()["closed_by"] == "staff"
    with runtime.sessions() as db, db.begin():
        assert [m.recipient for m in messages_for(db, platform_id=platform.id, template="claims.closed")] == [
            alice.email
        ]


def test_evidence_is_added_by_the_parties_while_the_claim_is_open(client, runtime, expert, case):
    alice, bob, _subject, claim = case
    mallory = person(client, expert)
    path = url(expert, f"/claims/{claim['id']}/evidence")
    r = client.post(path, json={"items": [{"reference": "appel 2026-11-23 10:02"}]}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["evidence"][0]["added_as"] == "claimant"
    r = client.post(path, json={"items": [{"text": "journal d'appel : 11 min"}]}, headers=bob.headers)
    assert r.status_code == 201 and [e["added_as"] for e in r.json()["evidence"]] == [
        "claimant",
        "respondent",
    ]
    assert client.post(path, json={"items": [{"text": "x"}]}, headers=mallory.headers).status_code == 404
    for bad in (
        {"items": []},
        {"items": [{}]},
        {"items": [{"text": ""}]},
        {"items": [{"reference": "r" * 501}]},
        {},
    ):
        assert client.post(path, json=bad, headers=alice.headers).status_code == 422, bad
    client.post(url(expert, f"/claims/{claim['id']}/closure"), json={}, headers=alice.headers)
    assert client.post(path, json={"items": [{"text": "x"}]}, headers=alice.headers).status_code == 409
    seen = client.get(url(expert, f"/claims/{claim['id']}"), headers=alice.headers).json()
    assert len(seen["evidence"]) == 2
