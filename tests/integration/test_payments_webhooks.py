"""The webhook route: signature, freshness, replays, duplicates and events out of order."""

from __future__ import annotations

import json
from datetime import timedelta

from payments_helpers import Payer, advance, deliver, platform_with
from sqlalchemy import select

from entremise.kernel import signing
from entremise.payments import sandbox, testdata
from entremise.payments.models import SandboxEvent, WebhookEvent

PATH = sandbox.WEBHOOK_PATH


def _pending_event(runtime, platform, provider_ref):
    with runtime.sessions() as db, db.begin():
        events = sandbox.events_of(db, platform_id=platform.id, provider_ref=provider_ref)
        event = next(e for e in events if e.delivered_at is None)
        body = sandbox.event_body(event, 1)
        secret = sandbox.webhook_secret(db, platform.id, runtime.clock.now())
        return event.id, body, secret


def _log(runtime, status=None):
    with runtime.sessions() as db, db.begin():
        query = select(WebhookEvent).where(WebhookEvent.provider == "sandbox")
        if status:
            query = query.where(WebhookEvent.status == status)
        return [
            (w.status, w.detail, w.event_id) for w in db.scalars(query.order_by(WebhookEvent.received_at))
        ]


def test_a_forged_webhook_is_refused_logged_and_changes_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1200).json()
    _, body, _ = _pending_event(runtime, platform, p["provider_ref"])
    before = len(_log(runtime, "rejected"))
    forged = signing.sign("not-the-secret", body, runtime.clock.now())
    r = client.post(PATH, content=body, headers={signing.HEADER: forged, "Content-Type": "application/json"})
    assert r.status_code == 400 and "does not match" in r.json()["detail"]
    r = client.post(PATH, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "missing" in r.json()["detail"]
    r = client.post(PATH, content=b"not json", headers={signing.HEADER: forged})
    assert r.status_code == 400
    assert len(_log(runtime, "rejected")) == before + 3
    assert payer.payment(p["id"])["status"] == "pending" and payer.credit(runtime) == 0
    # the genuine delivery still works
    assert deliver(runtime, client, platform) == 1
    assert payer.credit(runtime) == 1200


def test_a_tampered_body_is_refused(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1200).json()
    _, body, secret = _pending_event(runtime, platform, p["provider_ref"])
    header = signing.sign(secret, body, runtime.clock.now())
    tampered = json.loads(body)
    tampered["data"]["amount"] = 999999
    r = client.post(PATH, content=json.dumps(tampered).encode(), headers={signing.HEADER: header})
    assert r.status_code == 400
    assert payer.credit(runtime) == 0


def test_a_stale_webhook_is_refused(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1200).json()
    _, body, secret = _pending_event(runtime, platform, p["provider_ref"])
    old = signing.sign(secret, body, runtime.clock.now() - timedelta(minutes=10))
    r = client.post(PATH, content=body, headers={signing.HEADER: old})
    assert r.status_code == 400 and "window" in r.json()["detail"]
    assert payer.payment(p["id"])["status"] == "pending"


def test_a_replayed_delivery_is_refused_and_a_duplicate_event_changes_nothing(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1200).json()
    _, body, secret = _pending_event(runtime, platform, p["provider_ref"])
    header = signing.sign(secret, body, runtime.clock.now())
    assert client.post(PATH, content=body, headers={signing.HEADER: header}).json()["status"] == "processed"
    # the very same request again: a replay
    r = client.post(PATH, content=body, headers={signing.HEADER: header})
    assert r.status_code == 400 and "replayed" in r.json()["detail"]
    # the same event in a new delivery (the sandbox's own retry): a duplicate, accepted, no effect
    advance(runtime, seconds=1)
    assert deliver(runtime, client, platform) == 1
    assert payer.credit(runtime) == 1200
    with runtime.sessions() as db:
        rows = db.scalars(select(WebhookEvent).where(WebhookEvent.platform_id == platform.id)).all()
    assert len([w for w in rows if w.status == "processed"]) == 1


def test_every_event_delivered_twice_credits_once(runtime, client):
    platform = platform_with(runtime, {"sandbox": {"deliver_twice": True}})
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 700).json()
    assert deliver(runtime, client, platform) == 1
    advance(runtime, seconds=1)
    assert deliver(runtime, client, platform) == 1  # the second copy
    assert deliver(runtime, client, platform) == 0
    assert payer.payment(p["id"])["status"] == "succeeded"
    assert payer.credit(runtime) == 700


def test_resend_delivers_an_old_event_again_without_effect(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 700).json()
    deliver(runtime, client, platform)
    with runtime.sessions() as db, db.begin():
        event = sandbox.events_of(db, platform_id=platform.id, provider_ref=p["provider_ref"])[0]
        sandbox.resend(db, event_id=event.id, at=runtime.clock.now())
    assert deliver(runtime, client, platform) == 1
    assert payer.credit(runtime) == 700


def test_out_of_order_events_never_move_a_payment_backwards(runtime, platform, client):
    """Captured arrives before authorised: the later 'authorised' changes nothing."""
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 5000, path="/me/preauthorizations").json()
    with runtime.sessions() as db, db.begin():
        authorised = next(
            e for e in sandbox.events_of(db, platform_id=platform.id) if e.type == "preauth.succeeded"
        )
        authorised_id = authorised.id
    # the 'authorised' webhook is held back; the capture is asked directly at the sandbox
    with runtime.sessions() as db, db.begin():
        sandbox.reschedule(db, event_id=authorised_id, deliver_at=runtime.clock.now() + timedelta(hours=1))
        provider = sandbox.SandboxProvider(sandbox.ProviderContext(db, runtime.clock.now(), platform.id))
        from entremise.kernel.money import Money

        provider.capture_preauthorization(
            provider_ref=p["provider_ref"], amount=Money(3000), idempotency_key="c1"
        )
    assert deliver(runtime, client, platform) == 1  # preauth.captured
    got = payer.payment(p["id"])
    assert got["status"] == "captured" and got["captured"] == 3000
    assert payer.credit(runtime) == 3000
    advance(runtime, hours=2)
    assert deliver(runtime, client, platform) == 1  # the late preauth.succeeded
    got = payer.payment(p["id"])
    assert got["status"] == "captured" and got["captured"] == 3000
    assert payer.credit(runtime) == 3000
    with runtime.sessions() as db:
        late = db.scalars(select(WebhookEvent).where(WebhookEvent.event_id == authorised_id)).one()
    assert late.status == "ignored"


def test_an_unknown_provider_is_404(client):
    assert client.post("/api/v1/psp/webhooks/nobody", content=b"{}").status_code == 404


def test_delivery_failures_are_retried_later(runtime, platform, client):
    payer = Payer(client, platform)
    payer.pay(testdata.CARD_SUCCEEDS, 300)
    import httpx

    def refuse(request):  # a receiver that is down
        return httpx.Response(503)

    with httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://x") as down:
        assert deliver(runtime, down, platform) == 0
    with runtime.sessions() as db:
        event = db.scalars(select(SandboxEvent).where(SandboxEvent.platform_id == platform.id)).first()
        assert event is not None and event.attempts == 1 and event.last_status == 503
        assert event.delivered_at is None and event.deliver_at > runtime.clock.now()
    assert deliver(runtime, client, platform) == 0  # not yet due again
    advance(runtime, minutes=5)
    assert deliver(runtime, client, platform) == 1
    assert payer.credit(runtime) == 300
