"""Payouts (EXPERT-WALLET-1/2, CARPOOL-PAY-1): the ledger path wallet → in transit → PSP clearing,
bounces back to the wallet, idempotent retries and webhook duplicates, blocked while KYC is not
validated, under 50 €, or the wallet frozen; racing requests never overdraw; statements; the
monthly schedule; isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from accounts_helpers import auth, staff_token, url
from payouts_helpers import (
    IBAN,
    RecordingPsp,
    earn,
    event,
    new_platform,
    provider,
    validated_provider,
    wallet,
)

from entremise.kernel.errors import Conflict
from entremise.kernel.money import Money
from entremise.kyc.psp import set_provider_lookup
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.payments.port import EventType
from entremise.payouts import service as payouts
from entremise.payouts.jobs import scheduled_payouts


@pytest.fixture
def psp():  # type: ignore[no-untyped-def]
    fake = RecordingPsp()
    set_provider_lookup(lambda db, platform_id, now: fake)
    yield fake
    set_provider_lookup(None)


def balance(runtime, platform, account_id) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return ledger.balance(db, platform_id=platform.id, account_id=account_id).total.amount


def platform_account(runtime, platform, type_) -> str:  # type: ignore[no-untyped-def]
    from money_helpers import account

    return account(runtime, platform, type_)


def ask(client, platform, token, request_id="r1", amount=None):  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"request_id": request_id}
    if amount is not None:
        body["amount"] = amount
    return client.post(url(platform, "/payouts"), json=body, headers=auth(token))


def settle(runtime, psp, payout_id_ref, type_, reason=None):  # type: ignore[no-untyped-def]
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        return payouts.handle_provider_event(db, psp.name, event(type_, payout_id_ref, now, reason), now)


def ref_of(runtime, payout_id) -> str:  # type: ignore[no-untyped-def]
    """The provider's reference of a payout, as recorded when the order was accepted."""
    from entremise.payouts.models import Payout

    with runtime.sessions() as db, db.begin():
        row = db.get(Payout, payout_id)
        assert row is not None and row.provider_ref is not None
        return row.provider_ref


def test_EXPERT_WALLET_1_EXPERT_WALLET_2_a_payout_moves_money_to_transit_then_clearing(
    client, runtime, platform, psp
):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 8000)
    w = wallet(runtime, platform, user_id)
    transit = platform_account(runtime, platform, AccountType.PAYOUTS_IN_TRANSIT)
    clearing = platform_account(runtime, platform, AccountType.PSP_CLEARING)
    clearing_before = balance(runtime, platform, clearing)
    r = ask(client, platform, token, amount=6000)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "in_transit" and body["amount"] == {"amount": 6000, "currency": "EUR"}
    assert {"EXPERT-WALLET-1", "EXPERT-WALLET-2"} <= set(body["rules"])
    assert body["iban"] == "FR76 **** **** 0189"
    key = payouts.provider_key(platform.id, user_id, "r1")
    assert psp.payout_calls == [{"amount": Money(6000), "iban": IBAN, "key": key}]
    assert psp.payouts[key].provider_ref == ref_of(runtime, body["id"])
    assert balance(runtime, platform, w) == 2000 and balance(runtime, platform, transit) == 6000
    with runtime.sessions() as db, db.begin():
        [tx] = ledger.transactions_for(db, platform_id=platform.id, cause=("payout", body["id"]))
    assert tx.code == "payout.requested" and "EXPERT-WALLET-2" in tx.rules

    assert settle(runtime, psp, ref_of(runtime, body["id"]), EventType.PAYOUT_SUCCEEDED) == platform.id
    got = client.get(url(platform, f"/payouts/{body['id']}"), headers=auth(token)).json()
    assert got["state"] == "paid" and got["settled_at"] is not None
    assert balance(runtime, platform, transit) == 0
    assert balance(runtime, platform, clearing) == clearing_before + 6000
    # a duplicate webhook, and a late contrary one, change nothing
    settle(runtime, psp, ref_of(runtime, body["id"]), EventType.PAYOUT_SUCCEEDED)
    settle(runtime, psp, ref_of(runtime, body["id"]), EventType.PAYOUT_FAILED, "late")
    assert client.get(url(platform, f"/payouts/{body['id']}"), headers=auth(token)).json()["state"] == "paid"
    assert balance(runtime, platform, w) == 2000 and balance(runtime, platform, transit) == 0
    with runtime.sessions() as db, db.begin():
        codes = [
            t.code for t in ledger.transactions_for(db, platform_id=platform.id, cause=("payout", body["id"]))
        ]
    assert sorted(codes) == ["payout.paid", "payout.requested"]


def test_a_bounced_payout_returns_the_money_to_the_wallet(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 5000)
    w = wallet(runtime, platform, user_id)
    body = ask(client, platform, token).json()
    assert body["amount"]["amount"] == 5000 and balance(runtime, platform, w) == 0
    settle(runtime, psp, ref_of(runtime, body["id"]), EventType.PAYOUT_FAILED, "account closed")
    settle(runtime, psp, ref_of(runtime, body["id"]), EventType.PAYOUT_FAILED, "account closed")
    got = client.get(url(platform, f"/payouts/{body['id']}"), headers=auth(token)).json()
    assert got["state"] == "bounced" and got["failure_reason"] == "account closed"
    assert balance(runtime, platform, w) == 5000
    assert (
        balance(runtime, platform, platform_account(runtime, platform, AccountType.PAYOUTS_IN_TRANSIT)) == 0
    )
    from sqlalchemy import select

    from entremise.notify.models import OutboxMessage

    with runtime.sessions() as db, db.begin():
        sent = list(
            db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.user_id == user_id, OutboxMessage.template == "payouts.bounced"
                )
            )
        )
    assert len(sent) == 1


def test_a_retried_request_returns_the_first_payout_and_moves_money_once(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 12000)
    first = ask(client, platform, token, "same", 6000).json()
    again = ask(client, platform, token, "same", 6000)
    assert again.status_code == 201 and again.json()["id"] == first["id"] and again.json()["replayed"] is True
    assert ask(client, platform, token, "same", 7000).status_code == 409
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 6000
    assert len(psp.payout_calls) == 1


def test_EXPERT_WALLET_2_under_fifty_euros_nothing_is_paid_and_nothing_moves(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 4999)
    r = ask(client, platform, token)
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-WALLET-2"]
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 4999
    assert psp.payout_calls == []
    assert client.get(url(platform, "/payouts"), headers=auth(token)).json()["items"] == []


def test_EXPERT_WALLET_2_the_minimum_is_a_platform_setting(client, runtime, psp):
    platform = new_platform(runtime, {"payouts": {"minimum_balance": 2000}})
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 2500)
    assert ask(client, platform, token).status_code == 201


def test_EXPERT_WALLET_1_no_payout_without_validated_kyc(client, runtime, platform, psp):
    user_id, token = provider(client, platform)
    earn(runtime, platform, user_id, 10000)
    r = ask(client, platform, token)
    assert r.status_code == 409 and r.json()["rules"] == ["EXPERT-WALLET-1"]
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 10000


def test_EXPERT_SANCTION_1_a_frozen_wallet_pays_nothing(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 10000)
    w = wallet(runtime, platform, user_id)
    with runtime.sessions() as db, db.begin():
        ledger.freeze(
            db,
            platform_id=platform.id,
            account_id=w,
            rules=["EXPERT-SANCTION-1"],
            reason="sanction",
            now=runtime.clock.now(),
        )
    r = ask(client, platform, token)
    assert r.status_code == 409 and "EXPERT-SANCTION-1" in r.json()["rules"]
    assert balance(runtime, platform, w) == 10000 and psp.payout_calls == []


def test_bad_amounts_are_refused_and_change_nothing(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 10000)
    for bad in (0, -5, "50", 12.5, True):
        r = ask(client, platform, token, f"bad-{bad}", bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == "body.amount"
    r = ask(client, platform, token, "too-much", 10001)
    assert r.status_code == 409
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 10000


def test_two_racing_requests_never_overdraw_the_wallet(client, runtime, platform, psp):
    """Each asks for 60 € of a 100 € wallet: one is paid, the other refused (on PostgreSQL the
    provider's KYC row is locked; on SQLite writes are serialised)."""
    user_id, _token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 10000)
    n = 8
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            with runtime.sessions() as db, db.begin():
                outcomes[i] = payouts.request_payout(
                    db,
                    psp,
                    platform=platform,
                    user_id=user_id,
                    amount=6000,
                    request_key=f"race-{i}",
                    now=runtime.clock.now(),
                )
        except Exception as exc:  # collected and asserted on below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    paid = [o for o in outcomes if isinstance(o, payouts.PayoutView)]
    assert len(paid) == 1, outcomes
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 4000
    assert (
        balance(runtime, platform, platform_account(runtime, platform, AccountType.PAYOUTS_IN_TRANSIT))
        == 6000
    )
    with runtime.sessions() as db, db.begin():
        assert (
            ledger.derived_balance(
                db, platform_id=platform.id, account_id=wallet(runtime, platform, user_id)
            ).total.amount
            == 4000
        )


def test_a_provider_sees_only_their_own_payouts(client, runtime, platform, psp):
    user_a, token_a = validated_provider(client, runtime, platform, psp)
    _, token_b = provider(client, platform)
    earn(runtime, platform, user_a, 6000)
    p = ask(client, platform, token_a).json()
    assert client.get(url(platform, f"/payouts/{p['id']}"), headers=auth(token_b)).status_code == 404
    assert client.get(url(platform, "/payouts"), headers=auth(token_b)).json()["items"] == []
    other = new_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert client.get(url(other, f"/payouts/{p['id']}"), headers=auth(other_staff)).status_code == 404
    listed = client.get(url(platform, "/payouts"), headers=auth(token_a)).json()["items"]
    assert [x["id"] for x in listed] == [p["id"]]


def test_the_statement_totals_a_months_payouts(client, runtime, platform, psp):
    user_id, token = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 20000)
    a = ask(client, platform, token, "a", 6000).json()
    b = ask(client, platform, token, "b", 6000).json()
    settle(runtime, psp, ref_of(runtime, a["id"]), EventType.PAYOUT_SUCCEEDED)
    settle(runtime, psp, ref_of(runtime, b["id"]), EventType.PAYOUT_FAILED, "iban closed")
    period = runtime.clock.now().strftime("%Y-%m")
    s = client.get(url(platform, f"/payouts/statement?period={period}"), headers=auth(token)).json()
    assert [p["id"] for p in s["payouts"]] == [a["id"], b["id"]]
    assert (
        s["requested"]["amount"] == 12000 and s["paid"]["amount"] == 6000 and s["bounced"]["amount"] == 6000
    )
    assert s["in_transit"]["amount"] == 0 and s["wallet_balance"]["amount"] == 14000
    assert (
        client.get(url(platform, "/payouts/statement?period=2026-13"), headers=auth(token)).status_code == 422
    )


def test_CARPOOL_PAY_1_the_monthly_run_pays_each_wallet_once_and_carries_small_balances(
    client, runtime, psp, clock
):
    platform = new_platform(
        runtime, {"payouts": {"schedule": "monthly", "minimum_balance": 0, "minimum_transfer": 100}}
    )
    rich, _ = validated_provider(client, runtime, platform, psp)
    poor, _ = validated_provider(client, runtime, platform, psp)
    unverified, _ = provider(client, platform)
    earn(runtime, platform, rich, 1234)
    earn(runtime, platform, poor, 99)
    earn(runtime, platform, unverified, 5000)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    assert scheduled_payouts(runtime, clock.now()) == 1
    assert scheduled_payouts(runtime, clock.now() + timedelta(hours=1)) == 0  # once per period
    assert balance(runtime, platform, wallet(runtime, platform, rich)) == 0
    assert balance(runtime, platform, wallet(runtime, platform, poor)) == 99  # carries over
    assert balance(runtime, platform, wallet(runtime, platform, unverified)) == 5000
    with runtime.sessions() as db, db.begin():
        [p] = payouts.list_payouts(db, platform_id=platform.id, user_id=rich)
    assert p.trigger == "schedule" and p.amount == Money(1234) and "CARPOOL-PAY-1" in p.rules


def test_a_request_retried_after_a_rollback_orders_one_transfer_at_the_provider(
    client, runtime, platform, psp
):
    """The provider accepted the order but our transaction then failed: the retry with the same
    request id sends the same idempotency key, so the provider answers the first order again."""
    user_id, _ = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 6000)

    def once() -> payouts.PayoutView:
        with runtime.sessions() as db, db.begin():
            return payouts.request_payout(
                db,
                psp,
                platform=platform,
                user_id=user_id,
                amount=None,
                request_key="crash",
                now=runtime.clock.now(),
            )

    class Crash(Exception):
        pass

    with pytest.raises(Crash), runtime.sessions() as db, db.begin():
        payouts.request_payout(
            db,
            psp,
            platform=platform,
            user_id=user_id,
            amount=None,
            request_key="crash",
            now=runtime.clock.now(),
        )
        raise Crash
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 6000  # rolled back
    view = once()
    assert len(psp.payout_calls) == 1
    assert view.provider_ref == next(iter(psp.payouts.values())).provider_ref
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 0


def test_EXPERT_SANCTION_1_a_suspended_provider_is_not_paid_on_request_nor_by_the_schedule(
    client, runtime, psp, clock
):
    from entremise.sanctions import service as sanctions

    platform = new_platform(runtime, {"payouts": {"schedule": "monthly"}})
    user_id, _ = validated_provider(client, runtime, platform, psp)
    earn(runtime, platform, user_id, 9000)
    with runtime.sessions() as db, db.begin():
        sanctions.impose(
            db,
            platform_id=platform.id,
            user_id=user_id,
            kind="suspension",
            rules=["EXPERT-SANCTION-1"],
            facts="payouts test",
            decided_by="staff-1",
            now=runtime.clock.now(),
        )
    with pytest.raises(Conflict) as refused, runtime.sessions() as db, db.begin():
        payouts.request_payout(
            db, psp, platform=platform, user_id=user_id, amount=None, request_key="s", now=runtime.clock.now()
        )
    assert "EXPERT-SANCTION-1" in refused.value.rules and "suspended" in refused.value.detail
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    assert scheduled_payouts(runtime, clock.now()) == 0
    assert balance(runtime, platform, wallet(runtime, platform, user_id)) == 9000
    assert psp.payout_calls == []
