"""The ledger service on a real database: postings, holds, reversals, freezing, idempotency,
bad input (refused, nothing written), immutability and `entremise ledger verify`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from conftest import make_platform
from entremise.audit import service as audit
from entremise.audit.models import AuditEntry
from entremise.kernel.errors import Conflict, InvalidInput, NotFound
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountFrozen, AccountType, InsufficientFunds, LimitExceeded, Transfer
from entremise.ledger.models import LedgerBalance, LedgerEntry, LedgerTransaction


@pytest.fixture
def book(runtime, platform):
    """A client (credit 100 €), a provider wallet, the platform's fee account and the PSP clearing."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        acc = {
            "psp": ledger.open_account(db, platform_id=platform.id, type=AccountType.PSP_CLEARING, now=now),
            "client": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, owner_id="client-1", now=now
            ),
            "wallet": ledger.open_account(
                db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id="prov-1", now=now
            ),
            "fees": ledger.open_account(db, platform_id=platform.id, type=AccountType.PLATFORM_FEES, now=now),
        }
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[Transfer(acc["psp"].id, acc["client"].id, Money(10_000))],
            idempotency_key="payin-1",
            code="payin",
            rules=[],
            cause=("payin", "pi-1"),
            now=now,
        )
    return {k: v.id for k, v in acc.items()}


def bal(runtime, platform, account_id):
    with runtime.sessions() as db, db.begin():
        cached = ledger.balance(db, platform_id=platform.id, account_id=account_id)
        assert ledger.derived_balance(db, platform_id=platform.id, account_id=account_id) == cached
        return cached


def snapshot(runtime, platform):
    """Everything the ledger (and the audit trail) holds for one platform."""
    with runtime.sessions() as db, db.begin():
        return (
            db.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.platform_id == platform.id)
            ),
            db.scalar(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.platform_id == platform.id)
            ),
            db.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.platform_id == platform.id)
            ),
            sorted(
                db.execute(
                    select(LedgerBalance.account_id, LedgerBalance.posted, LedgerBalance.held).where(
                        LedgerBalance.platform_id == platform.id
                    )
                ).all()
            ),
        )


def post(runtime, platform, transfers, key, **kw):
    with runtime.sessions() as db, db.begin():
        return ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=transfers,
            idempotency_key=key,
            code=kw.pop("code", "booking.paid"),
            rules=kw.pop("rules", ["CONSULT-FEE-1"]),
            cause=kw.pop("cause", ("booking", "b-1")),
            now=runtime.clock.now(),
            **kw,
        )


def verify(runtime, platform):
    with runtime.sessions() as db, db.begin():
        return ledger.verify(db, platform_id=platform.id)


def test_a_transaction_commits_all_its_transfers_and_audits_them_with_their_rules(runtime, platform, book):
    tx = post(
        runtime,
        platform,
        [
            Transfer(book["client"], book["wallet"], Money(4_000)),
            Transfer(book["client"], book["fees"], Money(1_000)),
        ],
        "booking-b-1-paid",
    )
    assert [bal(runtime, platform, book[k]).total for k in ("client", "wallet", "fees", "psp")] == [
        Money(5_000),
        Money(4_000),
        Money(1_000),
        Money(-10_000),
    ]
    with runtime.sessions() as db, db.begin():
        assert (
            ledger.get_transaction(db, platform_id=platform.id, transaction_id=tx.id).transfers
            == tx.transfers
        )
        assert ledger.transactions_for(db, platform_id=platform.id, cause=("booking", "b-1")) == [tx]
        entries = audit.list_entries(
            db, platform_id=platform.id, object_type="ledger_transaction", object_id=tx.id
        )
    assert [(e.action, e.rules, e.data["code"]) for e in entries] == [
        ("ledger.post", ["CONSULT-FEE-1"], "booking.paid")
    ]
    assert verify(runtime, platform) == []


def test_a_transaction_that_overdraws_one_account_writes_none_of_its_transfers(runtime, platform, book):
    before = snapshot(runtime, platform)
    with pytest.raises(InsufficientFunds, match="insufficient funds") as err:
        post(
            runtime,
            platform,
            [
                Transfer(book["client"], book["wallet"], Money(9_000)),
                Transfer(book["client"], book["fees"], Money(1_001)),
            ],
            "too-much",
        )
    assert err.value.extra["missing"] == 1
    assert snapshot(runtime, platform) == before


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("zero", InvalidInput, "must be positive"),
        ("negative", InvalidInput, "must be positive"),
        ("huge", InvalidInput, "must not exceed"),
        ("same", InvalidInput, "same account"),
        ("currency", InvalidInput, "does not match"),
        ("unknown", NotFound, "no ledger account"),
        ("other_platform", NotFound, "no ledger account"),
        ("empty", InvalidInput, "at least one transfer"),
        ("no_key", InvalidInput, "idempotency_key"),
        ("nul", InvalidInput, "NUL"),
        ("bad_rule", InvalidInput, "rule IDs"),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(runtime, platform, book, case, error, message):
    other = make_platform(runtime)
    with runtime.sessions() as db, db.begin():
        foreign = ledger.open_account(
            db, platform_id=other.id, type=AccountType.PLATFORM_FEES, now=runtime.clock.now()
        ).id
        usd = ledger.open_account(
            db,
            platform_id=platform.id,
            type=AccountType.PLATFORM_FEES,
            currency="USD",
            now=runtime.clock.now(),
        ).id
    c, w = book["client"], book["wallet"]
    transfers = {
        "zero": [Transfer(c, w, Money(0))],
        "negative": [Transfer(c, w, Money(-5))],
        "huge": [Transfer(c, w, Money(10**16))],
        "same": [Transfer(c, c, Money(5))],
        "currency": [Transfer(c, usd, Money(5, "USD"))],
        "unknown": [Transfer(c, "no-such-account", Money(5))],
        "other_platform": [Transfer(c, foreign, Money(5))],
        "empty": [],
    }.get(case, [Transfer(c, w, Money(5))])
    kw = {
        "no_key": {"key": " "},
        "nul": {"cause": ("booking", "b\x00")},
        "bad_rule": {"rules": [""]},
    }.get(case, {})
    before = snapshot(runtime, platform)
    with pytest.raises(error, match=message):
        post(runtime, platform, transfers, kw.pop("key", f"bad-{case}"), **kw)
    assert snapshot(runtime, platform) == before


def test_idempotent_retry_returns_the_first_result_and_reuse_with_another_body_is_refused(
    runtime, platform, book
):
    transfers = [Transfer(book["client"], book["wallet"], Money(2_500))]
    first = post(runtime, platform, transfers, "pay-b-2")
    after_first = snapshot(runtime, platform)
    again = post(runtime, platform, transfers, "pay-b-2")
    assert again.replayed and not first.replayed
    assert (again.id, again.transfers, again.created_at) == (first.id, first.transfers, first.created_at)
    assert snapshot(runtime, platform) == after_first
    with pytest.raises(Conflict, match="already used for a different request"):
        post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(2_501))], "pay-b-2")
    with pytest.raises(Conflict, match="already used"):
        post(runtime, platform, transfers, "pay-b-2", code="another.code")
    assert snapshot(runtime, platform) == after_first
    assert bal(runtime, platform, book["wallet"]).total == Money(2_500)


def test_the_same_key_on_another_platform_is_another_transaction(runtime, platform, book):
    other = make_platform(runtime)
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        a = ledger.open_account(db, platform_id=other.id, type=AccountType.PSP_CLEARING, now=now).id
        b = ledger.open_account(
            db, platform_id=other.id, type=AccountType.CLIENT_CREDIT, owner_id="x", now=now
        ).id
        tx = ledger.post_transaction(
            db,
            platform_id=other.id,
            transfers=[Transfer(a, b, Money(10_000))],
            idempotency_key="payin-1",
            code="payin",
            rules=[],
            cause=("payin", "pi-1"),
            now=now,
        )
        assert not tx.replayed
        # neither platform sees the other's accounts or transactions
        with pytest.raises(NotFound):
            ledger.balance(db, platform_id=platform.id, account_id=b)
        with pytest.raises(NotFound):
            ledger.get_transaction(db, platform_id=platform.id, transaction_id=tx.id)
        assert ledger.accounts_of(db, platform_id=platform.id, owner_id="x") == []


def test_several_currencies_live_side_by_side_but_never_mix_in_a_transfer(runtime, platform, book):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        psp_chf = ledger.open_account(
            db, platform_id=platform.id, type=AccountType.PSP_CLEARING, currency="CHF", now=now
        ).id
        client_chf = ledger.open_account(
            db,
            platform_id=platform.id,
            type=AccountType.CLIENT_CREDIT,
            owner_id="client-1",
            currency="CHF",
            now=now,
        ).id
    tx = post(
        runtime,
        platform,
        [
            Transfer(psp_chf, client_chf, Money(700, "CHF")),
            Transfer(book["client"], book["wallet"], Money(300)),
        ],
        "two-currencies",
    )
    assert len(tx.transfers) == 2
    assert bal(runtime, platform, client_chf).total == Money(700, "CHF")
    with pytest.raises(InvalidInput, match="does not match"):
        post(runtime, platform, [Transfer(book["client"], client_chf, Money(100))], "mixed")
    assert verify(runtime, platform) == []


def test_holds_count_against_the_available_balance_and_capture_splits_then_releases_the_rest(
    runtime, platform, book
):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=book["client"],
            amount=Money(6_000),
            idempotency_key="budget-c-1",
            code="consultation.budget",
            rules=["EXPERT-BUDGET-1"],
            cause=("consultation", "c-1"),
            now=now,
        )
    b = bal(runtime, platform, book["client"])
    assert (b.total, b.held, b.available) == (Money(10_000), Money(6_000), Money(4_000))
    with pytest.raises(InsufficientFunds):  # the held money cannot be spent elsewhere
        post(runtime, platform, [Transfer(book["client"], book["fees"], Money(4_001))], "spend-held")
    with runtime.sessions() as db, db.begin(), pytest.raises(Conflict, match=r"only 60\.00 EUR is held"):
        ledger.capture(
            db,
            platform_id=platform.id,
            hold_id=h.id,
            to=[(book["wallet"], Money(6_000)), (book["fees"], Money(1))],
            idempotency_key="capture-too-much",
            code="consultation.settled",
            rules=[],
            now=now,
        )
    with runtime.sessions() as db, db.begin():
        tx = ledger.capture(
            db,
            platform_id=platform.id,
            hold_id=h.id,
            to=[(book["wallet"], Money(3_000)), (book["fees"], Money(750))],
            idempotency_key="capture-c-1",
            code="consultation.settled",
            rules=["EXPERT-FEE-1"],
            now=now,
        )
        assert tx.cause == ("consultation", "c-1") and len(tx.transfers) == 2
        view = ledger.get_hold(db, platform_id=platform.id, hold_id=h.id)
    assert (view.status, view.captured, view.released, view.remaining) == (
        "captured",
        Money(3_750),
        Money(2_250),
        Money(0),
    )
    b = bal(runtime, platform, book["client"])
    assert (b.total, b.held, b.available) == (Money(6_250), Money(0), Money(6_250))
    assert bal(runtime, platform, book["wallet"]).total == Money(3_000)
    with runtime.sessions() as db, db.begin(), pytest.raises(Conflict, match="closed"):
        ledger.release(db, platform_id=platform.id, hold_id=h.id, idempotency_key="late", now=now)
    assert verify(runtime, platform) == []


def test_partial_captures_keep_the_hold_open_until_released(runtime, platform, book):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=book["client"],
            amount=Money(1_000),
            idempotency_key="call-1",
            code="call.budget",
            rules=[],
            cause=("call", "1"),
            now=now,
        )
        for minute in range(3):
            ledger.capture(
                db,
                platform_id=platform.id,
                hold_id=h.id,
                to=[(book["wallet"], Money(299))],
                idempotency_key=f"call-1-minute-{minute}",
                code="call.minute",
                rules=[],
                final=False,
                now=now,
            )
        ledger.release(
            db,
            platform_id=platform.id,
            hold_id=h.id,
            idempotency_key="call-1-end",
            amount=Money(100),
            now=now,
        )
        view = ledger.get_hold(db, platform_id=platform.id, hold_id=h.id)
        assert (view.status, view.captured, view.remaining) == ("open", Money(897), Money(3))
        with pytest.raises(Conflict, match="partly captured"):
            ledger.void(db, platform_id=platform.id, hold_id=h.id, idempotency_key="call-1-void", now=now)
        ledger.release(db, platform_id=platform.id, hold_id=h.id, idempotency_key="call-1-rest", now=now)
        assert ledger.get_hold(db, platform_id=platform.id, hold_id=h.id).status == "captured"
    assert bal(runtime, platform, book["client"]).available == Money(10_000 - 897)
    assert verify(runtime, platform) == []


def test_a_void_gives_everything_back_and_a_retry_replays_it(runtime, platform, book):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        h = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=book["client"],
            amount=Money(10_000),
            idempotency_key="preauth-1",
            code="card.preauth",
            rules=[],
            cause=("ride", "r-1"),
            now=now,
        )
        again = ledger.hold(
            db,
            platform_id=platform.id,
            account_id=book["client"],
            amount=Money(10_000),
            idempotency_key="preauth-1",
            code="card.preauth",
            rules=[],
            cause=("ride", "r-1"),
            now=now,
        )
        assert again.id == h.id and again.replayed
        with pytest.raises(InsufficientFunds):
            ledger.hold(
                db,
                platform_id=platform.id,
                account_id=book["client"],
                amount=Money(1),
                idempotency_key="preauth-2",
                code="card.preauth",
                rules=[],
                cause=("ride", "r-2"),
                now=now,
            )
        v1 = ledger.void(db, platform_id=platform.id, hold_id=h.id, idempotency_key="preauth-1-void", now=now)
        v2 = ledger.void(db, platform_id=platform.id, hold_id=h.id, idempotency_key="preauth-1-void", now=now)
        assert v1.id == v2.id and v2.replayed
        assert ledger.get_hold(db, platform_id=platform.id, hold_id=h.id).status == "voided"
        with pytest.raises(NotFound):
            ledger.void(db, platform_id=platform.id, hold_id="nope", idempotency_key="x", now=now)
    assert bal(runtime, platform, book["client"]).available == Money(10_000)


def test_a_reversal_mirrors_its_original_and_happens_once(runtime, platform, book):
    tx = post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(1_234))], "to-reverse")
    with runtime.sessions() as db, db.begin():
        rev = ledger.reverse(
            db,
            platform_id=platform.id,
            transaction_id=tx.id,
            idempotency_key="reverse-1",
            reason="booked twice by mistake",
            rules=["COMMON-EVIDENCE-1"],
            now=runtime.clock.now(),
        )
    assert rev.reverses_id == tx.id and rev.cause == tx.cause
    assert rev.transfers == (Transfer(book["wallet"], book["client"], Money(1_234)),)
    assert bal(runtime, platform, book["wallet"]).total == Money(0)
    with runtime.sessions() as db, db.begin():
        with pytest.raises(Conflict, match="already reversed"):
            ledger.reverse(
                db,
                platform_id=platform.id,
                transaction_id=tx.id,
                idempotency_key="reverse-2",
                reason="again",
                now=runtime.clock.now(),
            )
        with pytest.raises(Conflict, match="cannot be reversed"):
            ledger.reverse(
                db,
                platform_id=platform.id,
                transaction_id=rev.id,
                idempotency_key="reverse-3",
                reason="reverse the reversal",
                now=runtime.clock.now(),
            )
        assert (
            ledger.reverse(
                db,
                platform_id=platform.id,
                transaction_id=tx.id,
                idempotency_key="reverse-1",
                reason="booked twice by mistake",
                rules=["COMMON-EVIDENCE-1"],
                now=runtime.clock.now(),
            ).id
            == rev.id
        )
    assert verify(runtime, platform) == []


def test_a_reversal_that_would_overdraw_is_refused(runtime, platform, book):
    tx = post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(1_000))], "paid")
    post(runtime, platform, [Transfer(book["wallet"], book["fees"], Money(600))], "spent")
    with runtime.sessions() as db, db.begin(), pytest.raises(InsufficientFunds):
        ledger.reverse(
            db,
            platform_id=platform.id,
            transaction_id=tx.id,
            idempotency_key="r",
            reason="x",
            now=runtime.clock.now(),
        )


def test_EXPERT_SANCTION_1_CARPOOL_FRAUD_1_a_frozen_wallet_refuses_outgoing_movements(
    runtime, platform, book
):
    post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(5_000))], "earned")
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        with pytest.raises(InvalidInput, match="rule ID"):
            ledger.freeze(
                db, platform_id=platform.id, account_id=book["wallet"], rules=[], reason="x", now=now
            )
        view = ledger.freeze(
            db,
            platform_id=platform.id,
            account_id=book["wallet"],
            rules=["EXPERT-SANCTION-1"],
            reason="wallet blocked pending investigation",
            now=now,
        )
        assert view.frozen
    before = snapshot(runtime, platform)
    with pytest.raises(AccountFrozen, match="frozen"):
        post(runtime, platform, [Transfer(book["wallet"], book["fees"], Money(1))], "payout-attempt")
    with runtime.sessions() as db, db.begin(), pytest.raises(AccountFrozen):
        ledger.hold(
            db,
            platform_id=platform.id,
            account_id=book["wallet"],
            amount=Money(1),
            idempotency_key="hold-frozen",
            code="payout",
            rules=[],
            cause=("payout", "p"),
            now=now,
        )
    assert snapshot(runtime, platform) == before
    # money may still come in
    post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(100))], "earned-2")
    runtime.clock.advance(timedelta(days=3))
    with runtime.sessions() as db, db.begin():
        ledger.unfreeze(
            db,
            platform_id=platform.id,
            account_id=book["wallet"],
            rules=["CARPOOL-FRAUD-1"],
            reason="suspicion lifted",
            now=runtime.clock.now(),
        )
        trail = audit.list_entries(
            db, platform_id=platform.id, object_type="ledger_account", object_id=book["wallet"]
        )
    assert [(e.action, e.rules) for e in trail if "frozen" in e.action] == [
        ("ledger.account.frozen", ["EXPERT-SANCTION-1"]),
        ("ledger.account.unfrozen", ["CARPOOL-FRAUD-1"]),
    ]
    post(runtime, platform, [Transfer(book["wallet"], book["fees"], Money(1))], "payout-ok")


def test_a_no_positive_account_never_rises_above_zero(runtime, platform, book):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        promo = ledger.open_account(
            db, platform_id=platform.id, type=AccountType.PROMOTIONS, no_positive=True, now=now
        ).id
        bonus = ledger.open_account(
            db, platform_id=platform.id, type=AccountType.CLIENT_BONUS, owner_id="client-1", now=now
        ).id
    post(runtime, platform, [Transfer(promo, bonus, Money(500))], "promo-granted")
    post(runtime, platform, [Transfer(bonus, promo, Money(500))], "promo-expired")
    with pytest.raises(LimitExceeded):
        post(runtime, platform, [Transfer(book["client"], promo, Money(1))], "promo-overfunded")
    with runtime.sessions() as db, db.begin(), pytest.raises(InvalidInput, match="both"):
        ledger.open_account(
            db,
            platform_id=platform.id,
            type=AccountType.PENALTIES,
            no_negative=True,
            no_positive=True,
            now=now,
        )


def test_accounts_are_unique_per_type_owner_and_currency(runtime, platform):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        a = ledger.open_account(db, platform_id=platform.id, type="provider_wallet", owner_id="u1", now=now)
        assert (a.no_negative, a.no_positive, a.frozen) == (True, False, False)
        with pytest.raises(Conflict, match="exists"):
            ledger.open_account(db, platform_id=platform.id, type="provider_wallet", owner_id="u1", now=now)
        assert (
            ledger.get_or_open_account(
                db, platform_id=platform.id, type="provider_wallet", owner_id="u1", now=now
            )
            == a
        )
        with pytest.raises(InvalidInput, match="unknown account type"):
            ledger.open_account(db, platform_id=platform.id, type="piggy_bank", now=now)
        with pytest.raises(InvalidInput, match="unsupported currency"):
            ledger.open_account(db, platform_id=platform.id, type="platform_fees", currency="EURO", now=now)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount + 1 WHERE transaction_id = :tx",
        "DELETE FROM ledger_entries WHERE transaction_id = :tx",
        "UPDATE ledger_transactions SET code = 'x' WHERE id = :tx",
        "DELETE FROM ledger_transactions WHERE id = :tx",
        "UPDATE ledger_accounts SET currency = 'USD' WHERE id = :acc",
        "UPDATE ledger_accounts SET no_negative = false WHERE id = :acc",
        "DELETE FROM ledger_balances WHERE account_id = :acc",
        "DELETE FROM ledger_accounts WHERE id = :acc",
    ],
)
def test_entries_and_transactions_can_never_be_updated_or_deleted(runtime, platform, book, statement):
    tx = post(runtime, platform, [Transfer(book["client"], book["wallet"], Money(10))], "immutable")
    with pytest.raises(DBAPIError), runtime.sessions() as db, db.begin():
        db.execute(text(statement), {"tx": tx.id, "acc": book["client"]})
    assert verify(runtime, platform) == []


def test_verify_reports_a_tampered_cached_balance_and_the_cli_exits_non_zero(
    runtime, platform, book, monkeypatch
):
    from entremise.cli.main import app

    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "verify", "--platform", platform.slug])
    assert ok.exit_code == 0, ok.output
    with runtime.sessions() as db, db.begin():
        db.execute(
            text("UPDATE ledger_balances SET posted = posted + 1 WHERE account_id = :a"),
            {"a": book["wallet"]},
        )
    found = verify(runtime, platform)
    assert [(d.check, d.subject) for d in found] == [("balance", book["wallet"])]
    result = runner.invoke(app, ["ledger", "verify", "--platform", platform.slug])
    assert result.exit_code == 1
    assert f"balance {book['wallet']}: cached posted=1 held=0, entries posted=0 held=0" in result.output
    missing = runner.invoke(app, ["ledger", "verify", "--platform", "no-such-platform"])
    assert missing.exit_code == 2
