"""Chargebacks (CONSULT-CHARGEBACK-1: a card payment may be contested within 70 days, only for
fraud): accepted inside the window for an accepted reason, contested otherwise; both recorded with
their rule IDs; the ledger effect of each outcome."""

from __future__ import annotations

from accounts_helpers import url
from payments_helpers import Payer, advance, clearing, deliver, losses, platform_with, staff_headers

from entremise.payments import service, testdata


def _paid(runtime, platform, client, card, cents=5000):
    payer = Payer(client, platform)
    p = payer.pay(card, cents).json()
    deliver(runtime, client, platform)
    assert payer.credit(runtime) == cents
    return payer, p


def _payment(runtime, platform, payment_id):
    """Read directly: the client's session has expired once the clock moved weeks ahead."""
    with runtime.sessions() as db, db.begin():
        return service.get_payment(db, platform_id=platform.id, payment_id=payment_id)


def _chargebacks(runtime, platform, payer):
    with runtime.sessions() as db, db.begin():
        return service.chargebacks_of(db, platform_id=platform.id, user_id=payer.id)


def test_CONSULT_CHARGEBACK_1_fraud_inside_70_days_is_accepted_and_the_money_goes_back(
    runtime, platform, client
):
    payer, p = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_FRAUD)
    advance(runtime, days=29)
    assert deliver(runtime, client, platform) == 0  # due after 30 days
    advance(runtime, days=1, seconds=1)
    assert deliver(runtime, client, platform) == 1
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.decision == "accepted" and cb.status == "accepted" and cb.reason == "fraud"
    assert cb.rules == ("CONSULT-CHARGEBACK-1",) and "70-day" in cb.decision_reason
    # the card holder gets the money back from the credit the payment funded
    assert payer.credit(runtime) == 0 and clearing(runtime, platform) == 0 and losses(runtime, platform) == 0
    got = _payment(runtime, platform, p["id"])
    assert got.charged_back.amount == 5000 and got.refundable.amount == 0
    staff = staff_headers(client, runtime, platform)
    listed = client.get(url(platform, f"/payments/{p['id']}/chargebacks"), headers=staff).json()
    assert listed[0]["decision"] == "accepted" and listed[0]["rules"] == ["CONSULT-CHARGEBACK-1"]
    # no refund is possible any more
    r = client.post(
        url(platform, f"/payments/{p['id']}/refunds"),
        json={"amount": 1, "reason": "x"},
        headers={**staff, "Idempotency-Key": "late-refund"},
    )
    assert r.status_code == 409


def test_CONSULT_CHARGEBACK_1_accepted_chargeback_of_spent_credit_is_a_platform_loss(
    runtime, platform, client
):
    from money_helpers import account

    from entremise.kernel.money import Money
    from entremise.ledger import service as ledger
    from entremise.ledger.domain import AccountType, Transfer

    payer, _ = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_FRAUD)
    revenue = account(runtime, platform, AccountType.PLATFORM_REVENUE)
    credit = account(runtime, platform, AccountType.CLIENT_CREDIT, payer.id)
    with runtime.sessions() as db, db.begin():
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(credit, revenue, Money(3000))],
            idempotency_key=f"spend-{payer.id}",
            code="test.spend",
            rules=[],
            cause=("test", "x"),
            now=runtime.clock.now(),
        )
    advance(runtime, days=31)
    deliver(runtime, client, platform)
    assert payer.credit(runtime) == 0
    assert losses(runtime, platform) == -3000  # what was spent already
    assert clearing(runtime, platform) == 0


def test_CONSULT_CHARGEBACK_1_outside_the_window_is_contested_and_a_won_contest_restores_the_money(
    runtime, platform, client
):
    payer, p = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_LATE)
    advance(runtime, days=80, seconds=1)
    assert deliver(runtime, client, platform) == 1  # chargeback.opened, 80 days after the payment
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.decision == "contested" and cb.status == "contested"
    assert "outside the 70-day window" in cb.decision_reason and cb.rules == ("CONSULT-CHARGEBACK-1",)
    # the provider withdrew the funds during the dispute: the platform bears it, the credit stays
    assert payer.credit(runtime) == 5000 and losses(runtime, platform) == -5000
    assert deliver(runtime, client, platform) == 1  # chargeback.won
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.status == "won" and cb.closed_at is not None
    assert losses(runtime, platform) == 0 and clearing(runtime, platform) == -5000
    assert _payment(runtime, platform, p["id"]).charged_back.amount == 0


def test_CONSULT_CHARGEBACK_1_a_reason_other_than_fraud_is_contested(runtime, platform, client):
    payer, _ = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_OTHER)
    advance(runtime, days=31)
    deliver(runtime, client, platform)
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.decision == "contested" and "product_not_received" in cb.decision_reason
    deliver(runtime, client, platform)
    assert _chargebacks(runtime, platform, payer)[0].status == "won"
    assert payer.credit(runtime) == 5000 and losses(runtime, platform) == 0


def test_CONSULT_CHARGEBACK_1_a_lost_contest_is_a_platform_loss(runtime, client):
    platform = platform_with(runtime, {"chargeback_window_days": 10})
    payer, _ = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_FRAUD)
    advance(runtime, days=31)
    deliver(runtime, client, platform)
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.decision == "contested" and "10-day" in cb.decision_reason
    deliver(runtime, client, platform)
    [cb] = _chargebacks(runtime, platform, payer)
    assert cb.status == "lost"
    assert (
        losses(runtime, platform) == -5000
        and payer.credit(runtime) == 5000
        and clearing(runtime, platform) == 0
    )


def test_a_chargeback_outcome_before_its_opening_is_deferred_then_applied(runtime, platform, client):
    """Out of order: the sandbox retries the deferred event; applied once its opening arrived."""
    from entremise.kernel import signing
    from entremise.payments import sandbox

    payer, p = _paid(runtime, platform, client, testdata.CARD_CHARGEBACK_LATE)
    with runtime.sessions() as db, db.begin():
        opened = next(
            e for e in sandbox.events_of(db, platform_id=platform.id) if e.type == "chargeback.opened"
        )
        won = sandbox.emit(
            db,
            platform_id=platform.id,
            type_=sandbox.EventType.CHARGEBACK_WON,
            provider_ref=opened.provider_ref,
            occurred_at=runtime.clock.now(),
            currency="EUR",
            amount=5000,
            related_ref=p["provider_ref"],
        )
        body = sandbox.event_body(won, 1)
        header = signing.sign(
            sandbox.webhook_secret(db, platform.id, runtime.clock.now()), body, runtime.clock.now()
        )
    r = client.post(sandbox.WEBHOOK_PATH, content=body, headers={signing.HEADER: header})
    assert r.status_code == 409
    assert _chargebacks(runtime, platform, payer) == []
    advance(runtime, days=80, seconds=1)
    deliver(runtime, client, platform, only=[opened.id])
    assert _chargebacks(runtime, platform, payer)[0].status == "contested"
    deliver(runtime, client, platform, only=[won.id])
    assert _chargebacks(runtime, platform, payer)[0].status == "won"
    assert losses(runtime, platform) == 0
