"""Refunds racing for what remains of a payment, and concurrent deliveries of one webhook, on
SQLite and PostgreSQL: threads with their own sessions on the shared engine, released together."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from payments_helpers import Payer, clearing, deliver

from entremise.audit.service import Actor
from entremise.kernel import signing
from entremise.kernel.errors import Conflict
from entremise.kernel.money import Money
from entremise.payments import sandbox, service, testdata, webhooks

THREADS = 12


def race(n, fn):
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def go(i):
        barrier.wait()
        try:
            outcomes[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the caller
            outcomes[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_refunds_never_exceed_the_paid_amount(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 5000).json()
    deliver(runtime, client, platform)

    def ask(i):
        with runtime.sessions() as db, db.begin():
            return service.refund(
                db,
                platform_id=platform.id,
                payment_id=p["id"],
                amount=Money(1000),
                reason=f"race {i}",
                rules=(),
                idempotency_key=f"race-{uuid.uuid4().hex}",
                now=runtime.clock.now(),
                actor=Actor("staff", None),
            )

    outcomes = race(THREADS, ask)
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"RefundView": 5, "Conflict": THREADS - 5}, outcomes
    assert all(isinstance(o, service.RefundView | Conflict) for o in outcomes)
    deliver(runtime, client, platform)
    got = payer.payment(p["id"])
    assert got["refunded"] == 5000 and got["refundable"] == 0
    assert payer.credit(runtime) == 0 and clearing(runtime, platform) == 0


def test_concurrent_deliveries_of_one_event_credit_once(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 2500).json()
    with runtime.sessions() as db, db.begin():
        [event] = sandbox.events_of(db, platform_id=platform.id, provider_ref=p["provider_ref"])
        secret = sandbox.webhook_secret(db, platform.id, runtime.clock.now())
        deliveries = []
        for attempt in range(1, 7):
            body = sandbox.event_body(event, attempt)
            deliveries.append((body, {signing.HEADER: signing.sign(secret, body, runtime.clock.now())}))

    def receive(i):
        body, headers = deliveries[i]
        try:
            with runtime.sessions() as db, db.begin():
                return webhooks.receive(
                    db, provider="sandbox", body=body, headers=headers, now=runtime.clock.now()
                ).status
        except Exception as exc:  # a unique violation of the event id: the route answers 409
            return type(exc).__name__

    outcomes = race(len(deliveries), receive)
    assert outcomes.count("processed") == 1, outcomes
    assert set(outcomes) <= {"processed", "duplicate", "IntegrityError"}, outcomes
    assert payer.credit(runtime) == 2500
