"""Property-based test: random sequences of ledger operations (post, hold, capture, release, void,
reverse, freeze, retries), with random amounts including invalid ones, on the real database,
checked step by step against a small reference model of the balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from entremise.kernel.errors import AppError, Conflict, InvalidInput
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import MAX_AMOUNT, AccountFrozen, InsufficientFunds, LimitExceeded, Transfer

AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=3_000),
    st.sampled_from([0, -1, -500, MAX_AMOUNT + 1]),
)
PICK = st.integers(min_value=0, max_value=1_000)


@dataclass
class Acc:
    id: str
    currency: str = "EUR"
    no_negative: bool = False
    no_positive: bool = False
    frozen: bool = False
    posted: int = 0
    held: int = 0


@dataclass
class Hold:
    id: str
    account: str
    amount: int
    captured: int = 0
    remaining: int = 0
    voided: bool = False


@dataclass
class Tx:
    id: str
    reversible: bool
    transfers: list[tuple[str, str, int]] = field(default_factory=list)
    reversed: bool = False


def test_random_operation_sequences_match_the_reference_model(runtime, platform):
    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def open_accounts(self):
            self.tag = uuid.uuid4().hex[:10]
            self.n = 0
            self.accounts: dict[str, Acc] = {}
            self.holds: list[Hold] = []
            self.txs: list[Tx] = []
            self.calls: list[tuple[str, dict, str]] = []  # (function, kwargs, result id) to replay
            now = runtime.clock.now()
            specs = [
                ("psp_clearing", "EUR", {}),
                ("client_credit", "EUR", {}),
                ("provider_wallet", "EUR", {}),
                ("promotions", "EUR", {"no_positive": True}),
                ("client_credit", "USD", {}),
            ]
            with runtime.sessions() as db, db.begin():
                for type_, currency, flags in specs:
                    a = ledger.open_account(
                        db,
                        platform_id=platform.id,
                        type=type_,
                        currency=currency,
                        label=self.tag,
                        now=now,
                        **flags,
                    )
                    self.accounts[a.id] = Acc(a.id, currency, a.no_negative, a.no_positive)
            self.ids = list(self.accounts)

        def key(self):
            self.n += 1
            return f"{self.tag}-{self.n}"

        def pick(self, i):
            return self.ids[i % len(self.ids)]

        def call(self, fn, expected: set[type], **kw):
            """Run one service call in its own transaction; check it failed exactly when the model says."""
            kw.setdefault("now", runtime.clock.now())
            try:
                with runtime.sessions() as db, db.begin():
                    result = fn(db, platform_id=platform.id, **kw)
            except AppError as exc:
                assert expected, f"model expected success, got {exc!r}"
                assert type(exc) in expected, f"expected one of {expected}, got {exc!r}"
                return None
            assert not expected, f"model expected {expected}, call succeeded"
            self.calls.append((fn.__name__, kw, result.id))
            return result

        def movement_errors(self, changes: dict[str, tuple[int, int]]) -> set[type]:
            """What the model refuses for (posted delta, held delta) per account."""
            errors: set[type] = set()
            for acc_id, (d_posted, d_held) in changes.items():
                a = self.accounts[acc_id]
                posted, held = a.posted + d_posted, a.held + d_held
                if a.frozen and (d_posted < 0 or d_held > 0):
                    errors.add(AccountFrozen)
                if a.no_negative and posted - held < 0 and posted - held < a.posted - a.held:
                    errors.add(InsufficientFunds)
                if a.no_positive and posted > 0 and posted > a.posted:
                    errors.add(LimitExceeded)
            return errors

        def apply(self, changes):
            for acc_id, (d_posted, d_held) in changes.items():
                self.accounts[acc_id].posted += d_posted
                self.accounts[acc_id].held += d_held

        @staticmethod
        def changes_of(transfers, extra=None):
            changes: dict[str, list[int]] = {}
            for src, dst, amount in transfers:
                changes.setdefault(src, [0, 0])[0] -= amount
                changes.setdefault(dst, [0, 0])[0] += amount
            for acc_id, d_held in (extra or {}).items():
                changes.setdefault(acc_id, [0, 0])[1] += d_held
            return {k: (v[0], v[1]) for k, v in changes.items()}

        @rule(src=PICK, dst=PICK, amounts=st.lists(AMOUNTS, min_size=1, max_size=2))
        def post(self, src, dst, amounts):
            s = self.pick(src)
            targets = [self.pick(dst + k) for k in range(len(amounts))]
            transfers = [(s, d, amt) for d, amt in zip(targets, amounts, strict=True)]
            if any(amt <= 0 or amt > MAX_AMOUNT or a == b for a, b, amt in transfers) or any(
                self.accounts[x].currency != self.accounts[a].currency
                for a, b, _ in transfers
                for x in (a, b)
            ):
                expected = {InvalidInput}
            else:
                expected = self.movement_errors(self.changes_of(transfers))
            currency = self.accounts[s].currency
            tx = self.call(
                ledger.post_transaction,
                expected,
                transfers=[Transfer(a, b, Money(amt, currency)) for a, b, amt in transfers],
                idempotency_key=self.key(),
                code="random",
                rules=["TEST-1"],
                cause=("test", self.tag),
            )
            if tx is not None:
                self.apply(self.changes_of(transfers))
                self.txs.append(Tx(tx.id, True, transfers))

        @rule(acc=PICK, amount=AMOUNTS)
        def hold(self, acc, amount):
            a = self.pick(acc)
            if amount <= 0 or amount > MAX_AMOUNT:
                expected = {InvalidInput}
            else:
                expected = self.movement_errors({a: (0, amount)})
            h = self.call(
                ledger.hold,
                expected,
                account_id=a,
                amount=Money(amount, self.accounts[a].currency),
                idempotency_key=self.key(),
                code="hold",
                rules=[],
                cause=("test", self.tag),
            )
            if h is not None:
                self.apply({a: (0, amount)})
                self.holds.append(Hold(h.id, a, amount, remaining=amount))

        @precondition(lambda self: self.holds)
        @rule(which=PICK, dst=PICK, amount=AMOUNTS, final=st.booleans())
        def capture(self, which, dst, amount, final):
            h = self.holds[which % len(self.holds)]
            d = self.pick(dst)
            if (
                amount <= 0
                or amount > MAX_AMOUNT
                or d == h.account
                or self.accounts[d].currency != self.accounts[h.account].currency
            ):
                expected = {InvalidInput}
            elif h.remaining == 0 or amount > h.remaining:
                expected = {Conflict}
            else:
                released = h.remaining - amount if final else 0
                changes = self.changes_of([(h.account, d, amount)], {h.account: -(amount + released)})
                expected = self.movement_errors(changes)
            tx = self.call(
                ledger.capture,
                expected,
                hold_id=h.id,
                to=[(d, Money(amount, self.accounts[h.account].currency))],
                idempotency_key=self.key(),
                code="capture",
                rules=[],
                final=final,
            )
            if tx is not None:
                self.apply(changes)
                h.captured += amount
                h.remaining -= amount + released
                self.txs.append(Tx(tx.id, True, [(h.account, d, amount)]))

        @precondition(lambda self: self.holds)
        @rule(which=PICK, amount=st.one_of(st.none(), AMOUNTS))
        def release(self, which, amount):
            h = self.holds[which % len(self.holds)]
            if amount is not None and (amount <= 0 or amount > MAX_AMOUNT):
                expected = {InvalidInput}
            elif h.remaining == 0 or (amount or 0) > h.remaining:
                expected = {Conflict}
            else:
                expected = set()
            value = h.remaining if amount is None else amount
            tx = self.call(
                ledger.release,
                expected,
                hold_id=h.id,
                amount=None if amount is None else Money(amount, self.accounts[h.account].currency),
                idempotency_key=self.key(),
            )
            if tx is not None:
                self.apply({h.account: (0, -value)})
                h.remaining -= value
                self.txs.append(Tx(tx.id, False))

        @precondition(lambda self: self.holds)
        @rule(which=PICK)
        def void(self, which):
            h = self.holds[which % len(self.holds)]
            expected = {Conflict} if h.remaining == 0 or h.captured else set()
            tx = self.call(ledger.void, expected, hold_id=h.id, idempotency_key=self.key())
            if tx is not None:
                self.apply({h.account: (0, -h.remaining)})
                h.remaining, h.voided = 0, True
                self.txs.append(Tx(tx.id, False))

        @precondition(lambda self: self.txs)
        @rule(which=PICK)
        def reverse(self, which):
            t = self.txs[which % len(self.txs)]
            if not t.reversible or t.reversed:
                expected = {Conflict}
                back = []
            else:
                back = [(b, a, amt) for a, b, amt in t.transfers]
                expected = self.movement_errors(self.changes_of(back))
            tx = self.call(
                ledger.reverse,
                expected,
                transaction_id=t.id,
                idempotency_key=self.key(),
                reason="property test",
            )
            if tx is not None:
                self.apply(self.changes_of(back))
                t.reversed = True
                self.txs.append(Tx(tx.id, False))

        @rule(acc=PICK)
        def toggle_freeze(self, acc):
            a = self.accounts[self.pick(acc)]
            fn = ledger.unfreeze if a.frozen else ledger.freeze
            with runtime.sessions() as db, db.begin():
                fn(
                    db,
                    platform_id=platform.id,
                    account_id=a.id,
                    rules=["EXPERT-SANCTION-1"],
                    reason="test",
                    now=runtime.clock.now(),
                )
            a.frozen = not a.frozen

        @precondition(lambda self: self.calls)
        @rule(which=PICK)
        def retry(self, which):
            """Replaying an earlier call with its key returns the same result and changes nothing."""
            name, kw, result_id = self.calls[which % len(self.calls)]
            with runtime.sessions() as db, db.begin():
                again = getattr(ledger, name)(db, platform_id=platform.id, **kw)
            assert again.id == result_id and again.replayed

        @invariant()
        def balances_match_the_model(self):
            if not hasattr(self, "accounts"):
                return
            with runtime.sessions() as db, db.begin():
                for a in self.accounts.values():
                    cached = ledger.balance(db, platform_id=platform.id, account_id=a.id)
                    assert (cached.total.amount, cached.held.amount) == (a.posted, a.held), a
                for h in self.holds:
                    view = ledger.get_hold(db, platform_id=platform.id, hold_id=h.id)
                    assert (view.captured.amount, view.remaining.amount) == (h.captured, h.remaining)

        def teardown(self):
            if not hasattr(self, "accounts"):
                return
            with runtime.sessions() as db, db.begin():
                assert ledger.verify(db, platform_id=platform.id) == []
                for a in self.accounts.values():
                    assert ledger.derived_balance(
                        db, platform_id=platform.id, account_id=a.id
                    ) == ledger.balance(db, platform_id=platform.id, account_id=a.id)
            # the model's own books balance: what left some accounts arrived in others
            assert sum(a.posted for a in self.accounts.values() if a.currency == "EUR") == 0

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
