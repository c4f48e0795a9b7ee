"""Claims under concurrency, on SQLite and PostgreSQL: threads with their own sessions race to answer
and refund; the money moves once and never beyond what the subject cost; a timer and an answer
racing at the deadline never deadlock."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from claims_helpers import balance, file, make_subject, person, settings_with
from test_ledger_concurrency import race

from conftest import make_platform
from entremise.claims import service
from entremise.claims.models import Claim
from entremise.kernel.errors import Conflict, InvalidInput
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.platforms import service as platforms
from entremise.worker.jobs import run_due_timers

THREADS = 8


def answer_in_thread(runtime, platform_id, claim_id, user_id, role, cents):
    with runtime.sessions() as db, db.begin():
        platform = platforms.get(db, platform_id)
        return service.answer(
            db,
            platform=platform,
            claim_id=claim_id,
            user_id=user_id,
            role=role,
            decision="accepted",
            reasons="remboursement",
            remedy=None,
            refund=Money(cents),
            now=runtime.clock.now(),
        )


def test_EXPERT_CLAIM_1_one_claim_answered_by_many_threads_refunds_once(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("test_consultation", {"preset": "expert-consultation"})))
    alice, bob = person(client, platform), person(client, platform, "provider")
    subject = make_subject(runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now())
    claim = file(client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="x").json()

    outcomes = race(
        THREADS, lambda _i: answer_in_thread(runtime, platform.id, claim["id"], bob.id, "provider", 2000)
    )
    counts = Counter(type(o).__name__ for o in outcomes)
    assert counts == {"ClaimView": 1, "Conflict": THREADS - 1}, outcomes
    assert balance(runtime, platform, subject.receiver) == 1000
    assert balance(runtime, platform, subject.client_credit) == 2000
    with runtime.sessions() as db, db.begin():
        assert ledger.verify(db, platform_id=platform.id) == []


def test_CARPOOL_CONTEST_1_refunds_racing_on_one_subject_stay_within_what_it_cost(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("test_trip", {"preset": "carpool-trip"})))
    passenger, driver = person(client, platform), person(client, platform, "provider")
    others = [person(client, platform) for _ in range(THREADS - 2)]
    trip = make_subject(
        runtime,
        platform,
        client_id=passenger.id,
        provider_id=driver.id,
        ended_at=clock.now(),
        paid=1000,
        others=tuple(o.id for o in others),
    )
    claimants = [passenger, driver, *others]
    claims = [
        file(client, platform, c, kind="test_trip", subject_id=trip.id, comment="contesté").json()
        for c in claimants
    ]
    from accounts_helpers import make_staff

    staff_email = make_staff(runtime, platform)
    with runtime.sessions() as db, db.begin():
        from sqlalchemy import select

        from entremise.accounts.models import User

        staff_id = db.scalar(
            select(User.id).where(User.platform_id == platform.id, User.email == staff_email)
        )

    outcomes = race(
        THREADS, lambda i: answer_in_thread(runtime, platform.id, claims[i]["id"], staff_id, "staff", 300)
    )
    counts = Counter(type(o).__name__ for o in outcomes)
    assert counts == {"ClaimView": 3, "InvalidInput": THREADS - 3}, outcomes
    assert all(isinstance(o, service.ClaimView | InvalidInput) for o in outcomes)
    assert balance(runtime, platform, trip.receiver) == 100
    assert balance(runtime, platform, trip.client_credit) == 900
    with runtime.sessions() as db, db.begin():
        assert ledger.verify(db, platform_id=platform.id) == []
        states = Counter(db.get(Claim, c["id"]).state for c in claims)
    assert states == {"answered": 3, "acknowledged": THREADS - 3}


def test_the_deadline_timer_and_a_late_answer_racing_never_deadlock(client, runtime, clock):
    platform = make_platform(runtime, settings_with(("test_consultation", {"preset": "expert-consultation"})))
    alice, bob = person(client, platform), person(client, platform, "provider")
    claims = []
    for _ in range(4):
        subject = make_subject(
            runtime, platform, client_id=alice.id, provider_id=bob.id, ended_at=clock.now()
        )
        claims.append(
            file(client, platform, alice, kind="test_consultation", subject_id=subject.id, comment="x").json()
        )
    clock.advance(timedelta(days=15))  # every deadline has passed: the lapse timers are due

    def act(i):
        if i == 0:
            return run_due_timers(runtime, runtime.clock.now())
        return answer_in_thread(runtime, platform.id, claims[i - 1]["id"], bob.id, "provider", 100)

    outcomes = race(5, act)
    assert not any(isinstance(o, Exception) and not isinstance(o, Conflict) for o in outcomes), outcomes
    assert all(isinstance(o, service.ClaimView) for o in outcomes[1:]), outcomes
    run_due_timers(runtime, runtime.clock.now())
    with runtime.sessions() as db, db.begin():
        assert {db.get(Claim, c["id"]).state for c in claims[:4]} == {"answered"}
        assert ledger.verify(db, platform_id=platform.id) == []
