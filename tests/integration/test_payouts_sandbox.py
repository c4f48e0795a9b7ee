"""KYC and payouts end to end with the sandbox provider (the engine's default): staff approve, the
sandbox validates or refuses by signed webhook through the real route, payouts to the sandbox's
paying IBAN are confirmed and to its bouncing IBAN come back; every webhook delivered twice."""

from __future__ import annotations

from accounts_helpers import auth, staff_token, url
from payouts_helpers import BIC, PNG, declare, earn, new_platform, provider, wallet

from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.payments import sandbox, testdata

TWICE = {"payments": {"sandbox": {"deliver_twice": True}}}


def deliver(runtime, client, platform):  # type: ignore[no-untyped-def]
    total = 0
    for _ in range(4):  # every webhook twice: run until nothing is left
        total += sandbox.deliver_due(runtime, runtime.clock.now(), http=client, platform_id=platform.id)
    return total


def kyc_through_sandbox(client, runtime, platform, iban):  # type: ignore[no-untyped-def]
    user_id, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    r = client.put(
        url(platform, "/kyc/bank-account"),
        json={"iban": iban, "bic": BIC, "holder_name": "Ada"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    today = runtime.clock.now().date()
    for type_ in ("identity_proof", "address_proof", "bank_details"):
        doc = declare(client, platform, token, type_, issued_on=today).json()
        r = client.post(url(platform, f"/staff/kyc/documents/{doc['id']}/approve"), headers=auth(staff))
        assert r.status_code == 200 and r.json()["state"] == "submitted", r.text
    assert deliver(runtime, client, platform) >= 3
    return user_id, token, staff


def balance(runtime, platform, account_id):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return ledger.balance(db, platform_id=platform.id, account_id=account_id).total.amount


def test_EXPERT_WALLET_1_the_sandbox_validates_kyc_by_webhook_and_the_payout_is_confirmed(client, runtime):
    platform = new_platform(runtime, TWICE)
    user_id, token, _ = kyc_through_sandbox(client, runtime, platform, testdata.IBAN_OK)
    body = client.get(url(platform, "/kyc"), headers=auth(token)).json()
    assert body["validated"] is True, body
    earn(runtime, platform, user_id, 7500)
    r = client.post(url(platform, "/payouts"), json={"request_id": "sb-1"}, headers=auth(token))
    assert r.status_code == 201, r.text
    payout = r.json()
    assert payout["state"] == "in_transit"
    deliver(runtime, client, platform)
    got = client.get(url(platform, f"/payouts/{payout['id']}"), headers=auth(token)).json()
    assert got["state"] == "paid"
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 0
    from money_helpers import account

    assert balance(runtime, platform, account(runtime, platform, AccountType.PAYOUTS_IN_TRANSIT)) == 0
    with runtime.sessions() as db, db.begin():
        codes = sorted(
            t.code
            for t in ledger.transactions_for(db, platform_id=platform.id, cause=("payout", payout["id"]))
        )
    assert codes == ["payout.paid", "payout.requested"]


def test_a_payout_to_the_sandbox_bouncing_iban_returns_to_the_wallet(client, runtime):
    platform = new_platform(runtime, TWICE)
    user_id, token, _ = kyc_through_sandbox(client, runtime, platform, testdata.IBAN_PAYOUT_BOUNCES)
    earn(runtime, platform, user_id, 6000)
    payout = client.post(url(platform, "/payouts"), json={"request_id": "sb-2"}, headers=auth(token)).json()
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 0
    deliver(runtime, client, platform)
    got = client.get(url(platform, f"/payouts/{payout['id']}"), headers=auth(token)).json()
    assert got["state"] == "bounced" and got["failure_reason"] == "account_closed"
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 6000


def test_EXPERT_WALLET_1_a_document_the_sandbox_refuses_is_refused_with_its_reason(client, runtime):
    platform = new_platform(runtime, TWICE)
    _, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    doc = declare(client, platform, token, "identity_proof", data=PNG + testdata.KYC_REFUSE_MARKER).json()
    client.post(url(platform, f"/staff/kyc/documents/{doc['id']}/approve"), headers=auth(staff))
    deliver(runtime, client, platform)
    got = client.get(url(platform, f"/kyc/documents/{doc['id']}"), headers=auth(token)).json()
    assert got["state"] == "refused" and got["reason"] == "document_unreadable"
