"""Isolation between users and platforms, the fraud module's reading functions, the sandbox's
payouts and KYC documents, the claims refund method `card`, the privacy export."""

from __future__ import annotations

from accounts_helpers import url
from payments_helpers import Payer, clearing, deliver, key, platform_with, staff_headers
from sqlalchemy import select

from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.payments import sandbox, service, testdata
from entremise.payments.models import SandboxEvent
from entremise.payments.port import KycDocumentType
from entremise.payments.providers import ProviderContext


def test_another_users_payment_is_invisible(runtime, platform, client):
    alice, bob = Payer(client, platform), Payer(client, platform)
    p = alice.pay(testdata.CARD_SUCCEEDS, 1000).json()
    deliver(runtime, client, platform)
    r = client.get(url(platform, f"/me/payments/{p['id']}"), headers=bob.headers)
    assert r.status_code == 404
    assert client.get(url(platform, "/me/payments"), headers=bob.headers).json()["items"] == []
    mine = client.get(url(platform, "/me/payments"), headers=alice.headers).json()["items"]
    assert [x["id"] for x in mine] == [p["id"]]
    # a client cannot list the platform's payments
    assert client.get(url(platform, "/payments"), headers=bob.headers).status_code == 403
    staff = staff_headers(client, runtime, platform)
    listed = client.get(url(platform, "/payments"), headers=staff, params={"payer_id": alice.id}).json()[
        "items"
    ]
    assert [x["id"] for x in listed] == [p["id"]]


def test_another_platforms_payment_is_invisible_and_untouchable(runtime, platform, client):
    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1000).json()
    deliver(runtime, client, platform)
    other = platform_with(runtime, {})
    staff = staff_headers(client, runtime, other)
    assert client.get(url(other, f"/payments/{p['id']}"), headers=staff).status_code == 404
    r = client.post(
        url(other, f"/payments/{p['id']}/refunds"),
        json={"amount": 100, "reason": "x"},
        headers={**staff, **key()},
    )
    assert r.status_code == 404
    assert client.get(url(other, "/payments"), headers=staff).json()["items"] == []
    # the payer's token is not valid on another platform
    assert client.get(url(other, "/me/payments"), headers=payer.headers).status_code == 401
    assert payer.payment(p["id"])["refunded"] == 0


def test_fingerprints_link_users_who_share_a_card(runtime, platform, client):
    alice, bob = Payer(client, platform), Payer(client, platform)
    a = alice.pay(testdata.CARD_SUCCEEDS, 1000).json()
    bob.pay("4242 4242 4242 4242", 1000)
    carol = Payer(client, platform)
    carol.pay(testdata.CARD_3DS, 1000)
    other = platform_with(runtime, {})
    with runtime.sessions() as db, db.begin():
        prints = service.instrument_fingerprints(db, platform_id=platform.id, user_id=alice.id)
        assert prints == {a["fingerprint"]}
        assert service.users_with_instrument(db, platform_id=platform.id, fingerprint=a["fingerprint"]) == {
            alice.id,
            bob.id,
        }
        assert service.users_with_instrument(db, platform_id=other.id, fingerprint=a["fingerprint"]) == set()
        assert service.chargebacks_of(db, platform_id=platform.id, user_id=alice.id) == []


def _provider(runtime, platform, db):
    return sandbox.SandboxProvider(ProviderContext(db, runtime.clock.now(), platform.id))


def test_sandbox_payouts_pay_or_bounce_by_webhook(runtime, platform, client):
    with runtime.sessions() as db, db.begin():
        psp = _provider(runtime, platform, db)
        ok = psp.create_payout(
            amount=Money(5000),
            iban=testdata.IBAN_OK,
            holder_name="A",
            reference="P-1",
            idempotency_key="po-1",
        )
        again = psp.create_payout(
            amount=Money(5000),
            iban=testdata.IBAN_OK,
            holder_name="A",
            reference="P-1",
            idempotency_key="po-1",
        )
        bounced = psp.create_payout(
            amount=Money(700),
            iban=testdata.IBAN_PAYOUT_BOUNCES,
            holder_name="A",
            reference="P-2",
            idempotency_key="po-2",
        )
    assert again.provider_ref == ok.provider_ref and ok.status.value == "pending"
    assert deliver(runtime, client, platform) == 2
    with runtime.sessions() as db:
        events = {e.provider_ref: (e.type, e.reason) for e in sandbox.events_of(db, platform_id=platform.id)}
    assert events[ok.provider_ref] == ("payout.succeeded", None)
    assert events[bounced.provider_ref] == ("payout.failed", "account_closed")


def test_sandbox_kyc_documents_are_validated_or_refused(runtime, platform, client):
    with runtime.sessions() as db, db.begin():
        psp = _provider(runtime, platform, db)
        good = psp.submit_kyc_document(
            user_ref="u1",
            document_type=KycDocumentType.IDENTITY_PROOF,
            content=b"%PDF-1.7 id",
            content_type="application/pdf",
            idempotency_key="k1",
        )
        bad = psp.submit_kyc_document(
            user_ref="u1",
            document_type=KycDocumentType.ADDRESS_PROOF,
            content=b"%PDF SANDBOX-REFUSE",
            content_type="application/pdf",
            idempotency_key="k2",
        )
    deliver(runtime, client, platform)
    with runtime.sessions() as db:
        rows = db.scalars(select(SandboxEvent).where(SandboxEvent.platform_id == platform.id)).all()
    by_ref = {e.provider_ref: e for e in rows}
    assert by_ref[good.provider_ref].type == "kyc.validated" and by_ref[good.provider_ref].delivered_at
    assert (
        by_ref[bad.provider_ref].type == "kyc.refused"
        and by_ref[bad.provider_ref].reason == "document_unreadable"
    )


def test_payout_and_kyc_events_reach_handlers_other_modules_register(runtime, platform, client):
    from entremise.payments import webhooks
    from entremise.payments.port import EventType

    seen = []

    def handler(db, provider, event, now):
        if event.data.get("account") != platform.id:
            return None
        seen.append((provider, event.type, event.provider_ref))
        return platform.id

    webhooks.register_event_handler([EventType.PAYOUT_SUCCEEDED], handler)
    with runtime.sessions() as db, db.begin():
        op = _provider(runtime, platform, db).create_payout(
            amount=Money(100), iban=testdata.IBAN_OK, holder_name="A", reference="P", idempotency_key="x"
        )
    deliver(runtime, client, platform)
    assert seen == [("sandbox", EventType.PAYOUT_SUCCEEDED, op.provider_ref)]


def test_claims_refund_method_card_refunds_to_the_card_on_confirmation(runtime, platform, client):
    from money_helpers import account, balance

    from entremise.claims.refunds import RefundRequest, refund_method
    from entremise.claims.subjects import SubjectFacts
    from entremise.ledger.domain import AccountType

    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 3000).json()
    deliver(runtime, client, platform)
    revenue = account(runtime, platform, AccountType.PLATFORM_REVENUE)
    facts = SubjectFacts(
        reference_at=runtime.clock.now(),
        parties=frozenset({payer.id}),
        paid=Money(3000),
        received_by=revenue,
        refund_to=None,
        payer_id=payer.id,
    )
    request = RefundRequest(
        platform_id=platform.id,
        claim_id="c1",
        claim_reference="R-000001",
        amount=Money(1200),
        facts=facts,
        rules=("CONSULT-CLAIM-1",),
        idempotency_key="claim-answer-1",
        now=runtime.clock.now(),
        actor=Actor("staff", None),
    )
    with runtime.sessions() as db, db.begin():
        result = refund_method("card")(db, request)
    assert result.status == "pending" and result.external_ref.startswith("refund_")
    with runtime.sessions() as db, db.begin():
        again = refund_method("card")(db, request)  # a retried answer refunds once
    assert again.external_ref == result.external_ref
    deliver(runtime, client, platform)
    got = payer.payment(p["id"])
    assert got["refunded"] == 1200
    assert payer.credit(runtime) == 3000  # the credit is untouched: the money came from revenue
    assert balance(runtime, platform, AccountType.PLATFORM_REVENUE)[0] == -1200
    assert clearing(runtime, platform) == -1800


def test_privacy_export_lists_the_users_payments(runtime, platform, client):
    from entremise.privacy.registry import EXPORTERS, load_module_hooks

    payer = Payer(client, platform)
    p = payer.pay(testdata.CARD_SUCCEEDS, 1000).json()
    load_module_hooks()
    with runtime.sessions() as db, db.begin():
        data = EXPORTERS["payments"](db, platform, payer.id)
    assert [x["id"] for x in data["payments"]] == [p["id"]]
    assert data["mandates"] == [] and data["chargebacks"] == []
