"""Closing an account closes its wallet, whatever closed it (CONSULT-CREDIT-1, COMMON-ACCOUNT-4):
paid credit is set aside for refund, the bonus is forfeited, never paid out."""

from __future__ import annotations

from accounts_helpers import PASSWORD, auth, url, user_session
from wallets_helpers import buy, packs, wallet

from entremise.audit.service import list_entries


def test_CONSULT_CREDIT_1_closing_my_account_sets_paid_credit_aside_and_forfeits_the_bonus(
    client, runtime, platform
):
    user_id, _ident, token = user_session(client, platform)
    pack = next(p for p in packs(runtime, platform) if p.price.amount == 3000 and p.bonus.amount == 1500)
    buy(runtime, platform, user_id, pack.id)
    before = wallet(runtime, platform, user_id)
    assert (before.paid.amount, before.bonus.amount) == (3000, 1500)

    r = client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    assert r.status_code == 200, r.text

    after = wallet(runtime, platform, user_id)
    assert (after.paid.amount, after.bonus.amount, after.refund_due.amount) == (0, 0, 3000)
    with runtime.sessions() as db:
        actions = [
            e.action
            for e in list_entries(db, platform_id=platform.id, object_type="wallet", object_id=user_id)
        ]
    assert "wallet.closed" in actions


def test_closing_an_account_without_credit_leaves_the_ledger_alone(client, runtime, platform):
    user_id, _ident, token = user_session(client, platform)
    r = client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    assert r.status_code == 200, r.text
    with runtime.sessions() as db:
        assert list_entries(db, platform_id=platform.id, object_type="wallet", object_id=user_id) == []
