"""What happens to a booked appointment and its money: cancellations by either side
(EXPERT-CANCEL-1, EXPERT-CANCEL-2), joins reported by metering, the timer that decides who missed
it, settlement, reminders; and no double booking under concurrent requests."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from accounts_helpers import auth, staff_token, url, user_session
from money_helpers import balance, fund, give
from scheduling_helpers import book, fee_platform, funded_client, paris, provider, run_timers
from sqlalchemy import select
from test_ledger_concurrency import race

from entremise.accounts.service import RequestMeta
from entremise.audit.service import list_entries
from entremise.kernel.errors import Conflict
from entremise.kernel.money import Money
from entremise.ledger.domain import AccountType
from entremise.notify.models import OutboxMessage
from entremise.scheduling import service as scheduling
from entremise.scheduling.models import Appointment
from entremise.scheduling.offers import OfferChoice

WEDNESDAY_9 = paris(2026, 11, 25, 9)  # 47 hours after the clock's start
FRIDAY_9 = paris(2026, 11, 27, 9)  # 95 hours after


@pytest.fixture
def fplatform(runtime):
    return fee_platform(runtime)


@pytest.fixture
def parties(client, runtime, fplatform):
    provider_id, provider_token = provider(client, fplatform)
    client_id, client_token = funded_client(client, runtime, fplatform)
    return provider_id, provider_token, client_id, client_token


def cancel(client, platform, token, appointment_id, **body):
    return client.post(
        url(platform, f"/appointments/{appointment_id}/cancellation"), json=body, headers=auth(token)
    )


def credit(runtime, platform, client_id):
    return balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)


def wallet(runtime, platform, provider_id):
    return balance(runtime, platform, AccountType.PROVIDER_WALLET, provider_id)[0]


def fees(runtime, platform):
    return balance(runtime, platform, AccountType.PLATFORM_FEES)[0]


def test_EXPERT_CANCEL_1_cancelling_48_hours_ahead_or_more_is_free(client, runtime, fplatform, parties):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, FRIDAY_9).json()
    r = cancel(client, fplatform, token, appt["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "cancelled_by_client"
    assert body["charged"]["amount"] == 0
    assert body["outcome"]["rules"] == ["EXPERT-CANCEL-1"]
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    # the slot is free again
    assert book(client, fplatform, token, provider_id, FRIDAY_9).status_code == 201


def test_EXPERT_CANCEL_1_per_minute_late_cancellation_costs_ten_minutes_at_the_rate(
    client, runtime, fplatform, parties
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    body = cancel(client, fplatform, token, appt["id"]).json()
    assert body["charged"] == {"amount": 1500, "currency": "EUR"}  # 10 minutes at 1.50 €
    assert body["outcome"]["platform_part"] == 300  # 10 minutes of the 0.30 € fee
    assert body["outcome"]["rules"] == ["EXPERT-CANCEL-1"]
    assert credit(runtime, fplatform, client_id) == (8_500, 8_500)
    assert wallet(runtime, fplatform, provider_id) == 1_200
    assert fees(runtime, fplatform) == 300
    with runtime.sessions() as db, db.begin():
        entries = list_entries(db, platform_id=fplatform.id, object_type="appointment", object_id=appt["id"])
        ended = db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.platform_id == fplatform.id,
                OutboxMessage.template == "scheduling.appointment_ended",
            )
        ).all()
    fee_entry = next(e for e in entries if e.action == "appointment.cancel_by_client")
    assert fee_entry.rules == ["EXPERT-CANCEL-1"] and fee_entry.data["charged"] == 1500
    assert sorted(m.payload["role"] for m in ended) == ["client", "provider"]
    assert {m.payload["charged"] for m in ended} == {"15.00 EUR"}


def test_EXPERT_CANCEL_1_package_late_cancellation_costs_15_percent(client, runtime, fplatform, parties):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9, kind="package", minutes=15).json()
    body = cancel(client, fplatform, token, appt["id"]).json()
    assert body["charged"]["amount"] == 1125  # 15 % of 75 €
    assert body["outcome"]["platform_part"] == 150  # 15 % of the 10 € fee
    assert credit(runtime, fplatform, client_id)[1] == 10_000 - 1125
    assert wallet(runtime, fplatform, provider_id) == 975
    assert fees(runtime, fplatform) == 150


def test_COMMON_WITHDRAW_1_a_late_cancellation_is_free_while_the_withdrawal_right_is_not_waived(
    client, runtime, fplatform, parties
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9, withdrawal_waiver=None).json()
    body = cancel(client, fplatform, token, appt["id"]).json()
    assert body["charged"]["amount"] == 0 and body["outcome"]["rules"] == ["COMMON-WITHDRAW-1"]
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)


def test_EXPERT_CANCEL_2_a_provider_cancelling_late_refunds_the_client_and_pays_the_fee(
    client, runtime, fplatform, parties
):
    provider_id, provider_token, client_id, token = parties
    fund_wallet = 500  # the wallet covers part of the 15 € fee, the rest becomes a debt
    earlier = book(client, fplatform, token, provider_id, FRIDAY_9).json()
    cancel(client, fplatform, token, earlier["id"])  # free
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    _give_wallet(runtime, fplatform, provider_id, fund_wallet)
    r = cancel(client, fplatform, provider_token, appt["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "cancelled_by_provider"
    assert body["charged"]["amount"] == 0 and body["provider_fee"]["amount"] == 1500
    assert body["outcome"]["rules"] == ["EXPERT-CANCEL-2"]
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    assert wallet(runtime, fplatform, provider_id) == 0
    assert balance(runtime, fplatform, AccountType.PENALTIES, provider_id, label="due")[0] == -(
        1500 - fund_wallet
    )
    assert fees(runtime, fplatform) == 1500


def test_EXPERT_CANCEL_2_a_provider_cancelling_early_pays_nothing(client, runtime, fplatform, parties):
    provider_id, provider_token, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, FRIDAY_9).json()
    body = cancel(client, fplatform, provider_token, appt["id"]).json()
    assert body["provider_fee"]["amount"] == 0 and body["outcome"]["rules"] == ["EXPERT-CANCEL-2"]
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    assert fees(runtime, fplatform) == 0


def _give_wallet(runtime, platform, provider_id, cents):
    give(
        runtime,
        platform,
        AccountType.PROVIDER_WALLET,
        provider_id,
        cents,
        source=AccountType.PLATFORM_REVENUE,
    )


def test_cancelling_after_the_start_twice_or_for_others_is_refused(
    client, runtime, fplatform, parties, clock
):
    provider_id, _provider_token, _, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    assert cancel(client, fplatform, token, appt["id"], on_behalf_of="provider").status_code == 403
    staff = staff_token(client, runtime, fplatform)
    assert cancel(client, fplatform, staff, appt["id"]).status_code == 422
    clock.set(WEDNESDAY_9 + timedelta(minutes=1))
    r = cancel(client, fplatform, token, appt["id"])
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-CANCEL-1"]
    clock.set(WEDNESDAY_9 - timedelta(hours=1))
    assert cancel(client, fplatform, staff, appt["id"], on_behalf_of="client").status_code == 200
    r = cancel(client, fplatform, token, appt["id"])
    assert r.status_code == 409 and r.json()["state"] == "cancelled_by_client"


def _joined(runtime, platform, appointment_id, role, at):
    with runtime.sessions() as db, db.begin():
        return scheduling.appointment_joined(db, appointment_id, role, at, platform_id=platform.id)


def _decide(runtime, platform, clock):
    clock.set(WEDNESDAY_9 + timedelta(minutes=30 + 15))  # the end of the slot plus the grace period
    return run_timers(runtime, clock.now(), platform)


def test_EXPERT_CANCEL_2_the_timer_finds_the_provider_missed_it_refunds_and_charges_the_provider(
    client, runtime, fplatform, parties, clock
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    _joined(runtime, fplatform, appt["id"], "client", WEDNESDAY_9 + timedelta(minutes=1))
    counts = _decide(runtime, fplatform, clock)
    assert counts.get("done", 0) >= 1
    seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token)).json()
    assert seen["state"] == "missed_by_provider"
    assert seen["client_joined_at"] is not None and seen["provider_joined_at"] is None
    assert seen["provider_fee"]["amount"] == 1500 and seen["outcome"]["rules"] == ["EXPERT-CANCEL-2"]
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    assert fees(runtime, fplatform) == 1500
    assert balance(runtime, fplatform, AccountType.PENALTIES, provider_id, label="due")[0] == -1500


def test_EXPERT_CANCEL_1_the_timer_finds_the_client_missed_it_and_charges_the_late_fee(
    client, runtime, fplatform, parties, clock
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9, kind="package", minutes=15).json()
    _joined(runtime, fplatform, appt["id"], "provider", WEDNESDAY_9)
    _decide(runtime, fplatform, clock)
    seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token)).json()
    assert seen["state"] == "missed_by_client" and seen["charged"]["amount"] == 1125
    assert credit(runtime, fplatform, client_id) == (10_000 - 1125, 10_000 - 1125)


def test_nobody_joined_the_client_is_refunded_and_nobody_pays(client, runtime, fplatform, parties, clock):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    _decide(runtime, fplatform, clock)
    seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token)).json()
    assert seen["state"] == "missed_by_both"
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    assert fees(runtime, fplatform) == 0
    # every decision timer ran once; the two that did not apply are done with a note
    process = client.get(
        url(fplatform, f"/processes/{appt['process_instance_id']}"), headers=auth(token)
    ).json()
    assert process["timers"] == []


def test_EXPERT_CONSULT_1_both_join_the_consultation_starts_and_metering_settles_it(
    client, runtime, fplatform, parties, clock
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    with pytest.raises(Conflict):
        _joined(runtime, fplatform, appt["id"], "client", WEDNESDAY_9 - timedelta(hours=1))
    _joined(runtime, fplatform, appt["id"], "client", WEDNESDAY_9 - timedelta(minutes=5))
    started = _joined(runtime, fplatform, appt["id"], "provider", WEDNESDAY_9)
    assert started.state == "started"
    _decide(runtime, fplatform, clock)  # the no-show timers belonged to the state left: nothing happens
    with runtime.sessions() as db, db.begin():
        done = scheduling.appointment_settled(
            db,
            platform_id=fplatform.id,
            appointment_id=appt["id"],
            charge=Money(3000),
            platform_fee=Money(600),
            now=clock.now(),
        )
    assert done.state == "completed" and done.charged == Money(3000)
    assert credit(runtime, fplatform, client_id) == (7_000, 7_000)
    assert wallet(runtime, fplatform, provider_id) == 2_400
    assert fees(runtime, fplatform) == 600
    with runtime.sessions() as db, db.begin(), pytest.raises(Conflict):
        scheduling.appointment_settled(
            db,
            platform_id=fplatform.id,
            appointment_id=appt["id"],
            charge=Money(1),
            platform_fee=Money(0),
            now=clock.now(),
        )


def test_a_started_consultation_metering_never_settles_is_closed_giving_the_money_back(
    client, runtime, fplatform, parties, clock
):
    provider_id, _, client_id, token = parties
    appt = book(client, fplatform, token, provider_id, WEDNESDAY_9).json()
    _joined(runtime, fplatform, appt["id"], "client", WEDNESDAY_9)
    _joined(runtime, fplatform, appt["id"], "provider", WEDNESDAY_9)
    with runtime.sessions() as db, db.begin(), pytest.raises(scheduling.InvalidInput):
        scheduling.appointment_settled(  # more than what is held
            db,
            platform_id=fplatform.id,
            appointment_id=appt["id"],
            charge=Money(9000),
            platform_fee=Money(0),
            now=clock.now(),
        )
    clock.set(WEDNESDAY_9 + timedelta(minutes=45, hours=24))
    run_timers(runtime, clock.now(), fplatform)
    seen = client.get(url(fplatform, f"/appointments/{appt['id']}"), headers=auth(token)).json()
    assert seen["state"] == "completed" and seen["charged"]["amount"] == 0
    assert credit(runtime, fplatform, client_id) == (10_000, 10_000)
    with pytest.raises(Conflict):
        _joined(runtime, fplatform, appt["id"], "client", clock.now())


def test_a_reminder_is_sent_a_day_before(client, runtime, fplatform, parties, clock):
    provider_id, _, _, token = parties
    book(client, fplatform, token, provider_id, FRIDAY_9)
    clock.set(FRIDAY_9 - timedelta(hours=24))
    run_timers(runtime, clock.now(), fplatform)
    with runtime.sessions() as db, db.begin():
        reminders = db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.platform_id == fplatform.id,
                OutboxMessage.template == "scheduling.appointment_reminder",
            )
        ).all()
    assert sorted(m.payload["role"] for m in reminders) == ["client", "provider"]


THREADS = 8


@pytest.mark.parametrize("same_start", [True, False])
def test_EXPERT_CONSULT_1_concurrent_bookings_of_one_slot_exactly_one_wins(
    client, runtime, fplatform, same_start
):
    provider_id, _ = provider(client, fplatform)
    clients = []
    for _ in range(THREADS):
        client_id, _, _ = user_session(client, fplatform)
        fund(runtime, fplatform, client_id, 10_000)
        clients.append(client_id)

    def attempt(i):
        start = WEDNESDAY_9 + (timedelta(0) if same_start else timedelta(minutes=15 * (i % 2)))
        with runtime.sessions() as db, db.begin():
            return scheduling.book(
                db,
                platform=fplatform,
                client_id=clients[i],
                provider_id=provider_id,
                starts_at=start,
                choice=OfferChoice("per_minute", 30),
                mode="video",
                phone=None,
                waiver_text=None,
                meta=RequestMeta(),
                now=runtime.clock.now(),
            )

    outcomes = race(THREADS, attempt)
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"AppointmentView": 1, "Conflict": THREADS - 1}, outcomes
    with runtime.sessions() as db, db.begin():
        active = db.scalars(
            select(Appointment).where(Appointment.platform_id == fplatform.id, Appointment.active.is_(True))
        ).all()
    assert len(active) == 1
    held = [credit(runtime, fplatform, c)[1] for c in clients]
    assert sorted(held) == [5_500] + [10_000] * (THREADS - 1)
