"""Wallets: credit packs (CONSULT-CREDIT-1), paid vs bonus, refunds, closure, promo codes
(CARPOOL-PROMO-1, CONSULT-PROMO-1), and the funding API."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from money_helpers import account, balance, give
from wallets_helpers import buy, make_platform, outcome, packs, wallet

from entremise.kernel.errors import Conflict, InvalidInput, NotFound
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, InsufficientFunds
from entremise.wallets import funding
from entremise.wallets import service as wallets


def _client() -> str:
    return str(uuid.uuid4())


def _by_price(all_packs, price: int, bonus: int):  # type: ignore[no-untyped-def]
    return next(p for p in all_packs if p.price.amount == price and p.bonus.amount == bonus)


def _spend_on_provider(runtime, platform, client: str, provider_account: str, cents: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    """The client spends `cents` through the funding API, all of it paid to the provider."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(cents),
            cause=("test", tag),
            idempotency_key=f"k-{tag}",
            now=now,
        )
        funding.settle(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            due=Money(cents),
            split=[(provider_account, Money(cents))],
            rules=["X-1"],
            idempotency_key=f"k-{tag}-s",
            now=now,
        )


def _promotions(runtime, platform) -> int:  # type: ignore[no-untyped-def]
    return balance(runtime, platform, AccountType.PROMOTIONS)[0]


def _clearing(runtime, platform) -> int:  # type: ignore[no-untyped-def]
    return balance(runtime, platform, AccountType.PSP_CLEARING)[0]


def test_CONSULT_CREDIT_1_preset_packs_have_the_figures(runtime, platform) -> None:
    got = [(p.price.amount, p.bonus.amount) for p in packs(runtime, platform)]
    assert got == [(1000, 0), (1000, 500), (3000, 0), (3000, 1500), (5000, 0), (5000, 2500), (10000, 0)]
    # installing again keeps what is there
    assert len(packs(runtime, platform)) == 7


def test_CONSULT_CREDIT_1_a_paid_pack_credits_paid_and_bonus_in_one_transaction(runtime, platform) -> None:
    client = _client()
    pack = _by_price(packs(runtime, platform), 3000, 1500)
    purchase = buy(runtime, platform, client, pack.id)
    assert purchase.status == "paid"
    w = wallet(runtime, platform, client)
    assert (w.paid.amount, w.bonus.amount, w.available.amount) == (3000, 1500, 4500)
    assert _promotions(runtime, platform) == -1500
    assert _clearing(runtime, platform) == -3000
    with runtime.sessions() as db, db.begin():
        tx = ledger.get_transaction(
            db, platform_id=platform.id, transaction_id=purchase.ledger_transaction_id
        )
    assert tx.rules == ("CONSULT-CREDIT-1",)
    assert len(tx.transfers) == 2


def test_a_confirmation_arriving_twice_credits_once(runtime, platform) -> None:
    client = _client()
    pack = _by_price(packs(runtime, platform), 1000, 500)
    with runtime.sessions() as db, db.begin():
        p = wallets.create_purchase(
            db, platform_id=platform.id, client_id=client, pack_id=pack.id, now=runtime.clock.now()
        )
    o = outcome(runtime, platform, p)
    for _ in range(2):
        with runtime.sessions() as db, db.begin():
            wallets.on_pack_paid(db, o, runtime.clock.now())
    w = wallet(runtime, platform, client)
    assert (w.paid.amount, w.bonus.amount) == (1000, 500)


def test_a_payment_of_another_amount_credits_nothing(runtime, platform) -> None:
    client = _client()
    pack = _by_price(packs(runtime, platform), 1000, 500)
    with runtime.sessions() as db, db.begin():
        p = wallets.create_purchase(
            db, platform_id=platform.id, client_id=client, pack_id=pack.id, now=runtime.clock.now()
        )
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        wallets.on_pack_paid(db, outcome(runtime, platform, p, Money(999)), runtime.clock.now())
    assert wallet(runtime, platform, client).available.amount == 0


def test_a_failed_payment_fails_the_purchase(runtime, platform) -> None:
    client = _client()
    pack = packs(runtime, platform)[0]
    with runtime.sessions() as db, db.begin():
        p = wallets.create_purchase(
            db, platform_id=platform.id, client_id=client, pack_id=pack.id, now=runtime.clock.now()
        )
    o = outcome(runtime, platform, p)
    with runtime.sessions() as db, db.begin():
        wallets.on_pack_failed(db, o, runtime.clock.now())
        assert wallets.get_purchase(db, platform_id=platform.id, purchase_id=p.id).status == "failed"
    assert wallet(runtime, platform, client).available.amount == 0


def test_CONSULT_CREDIT_1_bonus_is_spent_first(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(800),
            cause=("test", "a"),
            idempotency_key="k-a",
            now=runtime.clock.now(),
        )
    assert (r.from_bonus.amount, r.from_paid.amount) == (500, 300)
    w = wallet(runtime, platform, client)
    assert (w.bonus_available.amount, w.paid_available.amount, w.held.amount) == (0, 700, 800)


def test_settle_pays_the_provider_from_bonus_and_paid_and_releases_the_rest(runtime, platform) -> None:
    client, provider = _client(), _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    prov = account(runtime, platform, AccountType.PROVIDER_WALLET, provider)
    fees = account(runtime, platform, AccountType.PLATFORM_FEES)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(1200),
            cause=("test", "s"),
            idempotency_key="k-s",
            now=now,
        )
    with runtime.sessions() as db, db.begin():
        s = funding.settle(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            due=Money(1000),
            split=[(prov, Money(700)), (fees, Money(300))],
            rules=["CONSULT-CREDIT-1"],
            idempotency_key="k-s-settle",
            now=now,
        )
    assert s.status == "settled" and len(s.transaction_ids) == 2
    # the bonus pays the provider like paid credit does: the platform bore it when it was given
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, provider)[0] == 700
    assert balance(runtime, platform, AccountType.PLATFORM_FEES)[0] == 300
    w = wallet(runtime, platform, client)
    assert (w.bonus.amount, w.paid.amount, w.held.amount) == (0, 500, 0)
    # a retry with the same key replays; another end is refused
    with runtime.sessions() as db, db.begin():
        again = funding.settle(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            due=Money(1000),
            split=[(prov, Money(700)), (fees, Money(300))],
            rules=["CONSULT-CREDIT-1"],
            idempotency_key="k-s-settle",
            now=now,
        )
    assert again.replayed
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        funding.release(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            rules=["CONSULT-CREDIT-1"],
            idempotency_key="k-s-rel",
            now=now,
        )
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, provider)[0] == 700


def test_release_gives_everything_back(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(1500),
            cause=("test", "r"),
            idempotency_key="k-r",
            now=now,
        )
        funding.release(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            rules=["CONSULT-CREDIT-1"],
            idempotency_key="k-r-end",
            now=now,
        )
    w = wallet(runtime, platform, client)
    assert (w.available.amount, w.held.amount) == (1500, 0)


def test_reserve_is_idempotent_and_refuses_a_reused_key(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, packs(runtime, platform)[0].id)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        a = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(400),
            cause=("test", "i"),
            idempotency_key="k-i",
            now=now,
        )
    with runtime.sessions() as db, db.begin():
        b = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(400),
            cause=("test", "i"),
            idempotency_key="k-i",
            now=now,
        )
    assert b.id == a.id and b.replayed
    assert wallet(runtime, platform, client).held.amount == 400
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(500),
            cause=("test", "i"),
            idempotency_key="k-i",
            now=now,
        )


def test_insufficient_funds_says_what_is_available_and_holds_nothing(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    with pytest.raises(InsufficientFunds) as e, runtime.sessions() as db, db.begin():
        funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(1501),
            cause=("test", "x"),
            idempotency_key="k-x",
            now=runtime.clock.now(),
        )
    assert e.value.status == 409 and e.value.extra["available"] == 1500
    assert wallet(runtime, platform, client).held.amount == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": Money(0)}, "amount"),
        ({"amount": Money(-5)}, "amount"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"cause": ("", "x")}, "cause.object_type"),
    ],
)
def test_reserve_bad_input_names_the_field_and_changes_nothing(runtime, platform, kwargs, field) -> None:
    client = _client()
    buy(runtime, platform, client, packs(runtime, platform)[0].id)
    args = {"amount": Money(100), "cause": ("test", "b"), "idempotency_key": "k-b"} | kwargs
    with pytest.raises(InvalidInput) as e, runtime.sessions() as db, db.begin():
        funding.reserve(db, platform_id=platform.id, client_id=client, now=runtime.clock.now(), **args)
    assert field in [f.field for f in e.value.errors]
    assert wallet(runtime, platform, client).held.amount == 0


def test_settle_refuses_a_split_that_does_not_add_up_or_more_than_reserved(runtime, platform) -> None:
    client, provider = _client(), _client()
    buy(runtime, platform, client, packs(runtime, platform)[0].id)
    prov = account(runtime, platform, AccountType.PROVIDER_WALLET, provider)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(500),
            cause=("test", "z"),
            idempotency_key="k-z",
            now=now,
        )
    with pytest.raises(InvalidInput), runtime.sessions() as db, db.begin():
        funding.settle(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            due=Money(300),
            split=[(prov, Money(200))],
            rules=["X-1"],
            idempotency_key="k-z1",
            now=now,
        )
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        funding.settle(
            db,
            platform_id=platform.id,
            reservation_id=r.id,
            due=Money(600),
            split=[(prov, Money(600))],
            rules=["X-1"],
            idempotency_key="k-z2",
            now=now,
        )
    assert wallet(runtime, platform, client).held.amount == 500
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, provider)[0] == 0


def test_another_platforms_reservation_is_invisible(runtime, platform) -> None:
    client = _client()
    bought = buy(runtime, platform, client, packs(runtime, platform)[0].id)
    other = make_platform(runtime)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        r = funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(500),
            cause=("test", "o"),
            idempotency_key="k-o",
            now=now,
        )
    with pytest.raises(NotFound), runtime.sessions() as db, db.begin():
        funding.release(
            db, platform_id=other.id, reservation_id=r.id, rules=["X-1"], idempotency_key="k-o2", now=now
        )
    with pytest.raises(NotFound), runtime.sessions() as db, db.begin():
        wallets.get_purchase(
            db,
            platform_id=other.id,
            purchase_id=bought.id,
        )
    assert wallet(runtime, other, client).available.amount == 0


# --- refunds and closure ----------------------------------------------------------------------------


def test_CONSULT_CREDIT_1_refund_of_an_unspent_pack_withdraws_its_bonus(runtime, platform) -> None:
    client = _client()
    p = buy(runtime, platform, client, _by_price(packs(runtime, platform), 3000, 1500).id)
    with runtime.sessions() as db, db.begin():
        _view, q = wallets.refund_purchase(
            db, platform_id=platform.id, purchase_id=p.id, now=runtime.clock.now()
        )
    assert (q.cash.amount, q.paid_kept.amount, q.bonus_withdrawn.amount) == (3000, 0, 1500)
    w = wallet(runtime, platform, client)
    assert (w.paid.amount, w.bonus.amount, w.refund_due.amount) == (0, 0, 3000)
    assert _promotions(runtime, platform) == 0
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        wallets.refund_purchase(db, platform_id=platform.id, purchase_id=p.id, now=runtime.clock.now())


def test_CONSULT_CREDIT_1_a_spent_bonus_is_never_cashed_out_by_a_refund(runtime, platform) -> None:
    """Buy 10 € + 5 €, spend 5 € (the bonus, spent first), refund: 5 € of the bonus is owed back
    and no longer on the bonus balance, so it is kept from the 10 € refund."""
    client, provider = _client(), _client()
    p = buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    prov = account(runtime, platform, AccountType.PROVIDER_WALLET, provider)
    now = runtime.clock.now()
    _spend_on_provider(runtime, platform, client, prov, 500, "c")
    with runtime.sessions() as db, db.begin():
        _view, q = wallets.refund_purchase(db, platform_id=platform.id, purchase_id=p.id, now=now)
    assert (q.cash.amount, q.paid_kept.amount, q.bonus_withdrawn.amount) == (500, 500, 0)
    w = wallet(runtime, platform, client)
    assert (w.paid.amount, w.bonus.amount, w.refund_due.amount) == (0, 0, 500)
    # the client paid 10 €, gets 5 € back, and 5 € went to the provider: the bonus bought nothing in cash
    assert _promotions(runtime, platform) == 0


def test_CONSULT_CREDIT_1_only_the_unspent_paid_part_is_refundable(runtime, platform) -> None:
    client, provider = _client(), _client()
    p = buy(runtime, platform, client, _by_price(packs(runtime, platform), 3000, 0).id)
    prov = account(runtime, platform, AccountType.PROVIDER_WALLET, provider)
    now = runtime.clock.now()
    _spend_on_provider(runtime, platform, client, prov, 1000, "u")
    with runtime.sessions() as db, db.begin():
        _view, q = wallets.refund_purchase(db, platform_id=platform.id, purchase_id=p.id, now=now)
    assert q.cash.amount == 2000


def test_CONSULT_CREDIT_1_closure_refunds_paid_and_forfeits_bonus(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 5000, 2500).id)
    with runtime.sessions() as db, db.begin():
        c = wallets.close_wallet(db, platform_id=platform.id, client_id=client, now=runtime.clock.now())
    assert (c.refundable.amount, c.forfeited.amount) == (5000, 2500)
    w = wallet(runtime, platform, client)
    assert (w.paid.amount, w.bonus.amount, w.refund_due.amount) == (0, 0, 5000)
    assert _promotions(runtime, platform) == 0  # the bonus went back: never paid out


# --- promo codes -------------------------------------------------------------------------------


def _promo(runtime, platform, **kw):  # type: ignore[no-untyped-def]
    now = runtime.clock.now()
    args = {
        "code": f"P{uuid.uuid4().hex[:8]}",
        "value": 500,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=7),
    } | kw
    with runtime.sessions() as db, db.begin():
        return wallets.create_promo(db, platform_id=platform.id, now=now, **args)


def _redeem(runtime, platform, client, code):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return wallets.redeem(
            db, platform_id=platform.id, client_id=client, code=code, now=runtime.clock.now()
        )


def test_CARPOOL_PROMO_1_a_code_adds_its_value_to_the_bonus_balance_once(runtime, platform) -> None:
    client = _client()
    promo = _promo(runtime, platform)
    r = _redeem(runtime, platform, client, promo.code.lower())
    assert r.value.amount == 500
    assert wallet(runtime, platform, client).bonus.amount == 500
    assert _promotions(runtime, platform) == -500
    with pytest.raises(Conflict):
        _redeem(runtime, platform, client, promo.code)
    assert wallet(runtime, platform, client).bonus.amount == 500


def test_CARPOOL_PROMO_1_promotions_are_time_limited(runtime, platform, clock) -> None:
    promo = _promo(runtime, platform)
    clock.advance(timedelta(days=8))
    with pytest.raises(Conflict) as e:
        _redeem(runtime, platform, _client(), promo.code)
    assert "CARPOOL-PROMO-1" in e.value.rules


def test_CONSULT_PROMO_1_the_stated_condition_is_shown_and_enforced(runtime, platform) -> None:
    promo = _promo(
        runtime, platform, condition="min_purchase", min_purchase=3000, conditions_text="Welcome offer"
    )
    assert "3" in promo.conditions and "Welcome offer" in promo.conditions
    client = _client()
    with pytest.raises(Conflict) as e:
        _redeem(runtime, platform, client, promo.code)
    assert "CONSULT-PROMO-1" in e.value.rules and e.value.extra["conditions"] == promo.conditions
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 3000, 0).id)
    assert _redeem(runtime, platform, client, promo.code).value.amount == 500
    first = _promo(runtime, platform, condition="new_client")
    with pytest.raises(Conflict):
        _redeem(runtime, platform, client, first.code)
    assert _redeem(runtime, platform, _client(), first.code).value.amount == 500


def test_a_global_cap_stops_redemptions(runtime, platform) -> None:
    promo = _promo(runtime, platform, max_uses=2)
    _redeem(runtime, platform, _client(), promo.code)
    _redeem(runtime, platform, _client(), promo.code)
    late = _client()
    with pytest.raises(Conflict):
        _redeem(runtime, platform, late, promo.code)
    assert wallet(runtime, platform, late).bonus.amount == 0
    assert _promotions(runtime, platform) == -1000


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"code": "no spaces"}, "body.code"),
        ({"value": 0}, "body.value"),
        ({"condition": "whatever"}, "body.condition"),
        ({"condition": "min_purchase", "min_purchase": 0}, "body.min_purchase"),
        ({"max_uses": 0}, "body.max_uses"),
    ],
)
def test_promo_bad_input_names_the_field(runtime, platform, kw, field) -> None:
    with pytest.raises(InvalidInput) as e:
        _promo(runtime, platform, **kw)
    assert field in [f.field for f in e.value.errors]
    with runtime.sessions() as db, db.begin():
        assert wallets.list_promos(db, platform_id=platform.id) == []


def test_promo_end_before_start_is_refused(runtime, platform) -> None:
    now = runtime.clock.now()
    with pytest.raises(InvalidInput) as e:
        _promo(runtime, platform, starts_at=now, ends_at=now)
    assert [f.field for f in e.value.errors] == ["body.ends_at"]


def test_pack_bad_input_names_the_field(runtime, platform) -> None:
    with pytest.raises(InvalidInput) as e, runtime.sessions() as db, db.begin():
        wallets.create_pack(
            db, platform_id=platform.id, name="", price=-1, bonus=-1, currency="XXX", now=runtime.clock.now()
        )
    assert {f.field for f in e.value.errors} == {"body.name", "body.price", "body.bonus", "body.currency"}


def test_a_frozen_wallet_cannot_reserve(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, packs(runtime, platform)[0].id)
    acc = account(runtime, platform, AccountType.CLIENT_CREDIT, client)
    with runtime.sessions() as db, db.begin():
        ledger.freeze(
            db,
            platform_id=platform.id,
            account_id=acc,
            rules=["CARPOOL-FRAUD-1"],
            reason="fraud",
            now=runtime.clock.now(),
        )
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        funding.reserve(
            db,
            platform_id=platform.id,
            client_id=client,
            amount=Money(100),
            cause=("test", "f"),
            idempotency_key="k-f",
            now=runtime.clock.now(),
        )
    assert wallet(runtime, platform, client).frozen


def test_movements_newest_first(runtime, platform) -> None:
    client = _client()
    buy(runtime, platform, client, _by_price(packs(runtime, platform), 1000, 500).id)
    give(runtime, platform, AccountType.CLIENT_CREDIT, client, 100, source=AccountType.PSP_CLEARING)
    with runtime.sessions() as db, db.begin():
        rows = wallets.movements(db, platform_id=platform.id, client_id=client, before_id=None, limit=10)
        older = wallets.movements(
            db, platform_id=platform.id, client_id=client, before_id=rows[0].id, limit=10
        )
    assert [r.code for r in rows][:1] == ["test.credit"]
    assert {r.balance for r in rows} == {"paid", "bonus"}
    assert len(older) == len(rows) - 1
