"""A hypothesis model of a wallet: random top-ups, bonus grants, reservations, settlements and
releases against a reference model of paid, bonus and held money (bonus spent first)."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from money_helpers import give
from wallets_helpers import wallet

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, InsufficientFunds
from entremise.wallets import funding

AMOUNT = st.integers(min_value=1, max_value=2_000)


def test_wallet_operations_match_the_reference_model(runtime, platform) -> None:
    with runtime.sessions() as db, db.begin():
        fees = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.PLATFORM_FEES, now=runtime.clock.now()
        ).id

    class WalletMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.client = str(uuid.uuid4())
            self.paid = 0
            self.bonus = 0
            self.open: dict[str, tuple[int, int]] = {}  # reservation id -> (from bonus, from paid)
            self.n = 0

        def key(self) -> str:
            self.n += 1
            return f"{self.client}-{self.n}"

        @rule(cents=AMOUNT)
        def top_up(self, cents: int) -> None:
            give(
                runtime,
                platform,
                AccountType.CLIENT_CREDIT,
                self.client,
                cents,
                source=AccountType.PSP_CLEARING,
            )
            self.paid += cents

        @rule(cents=AMOUNT)
        def grant_bonus(self, cents: int) -> None:
            give(
                runtime, platform, AccountType.CLIENT_BONUS, self.client, cents, source=AccountType.PROMOTIONS
            )
            self.bonus += cents

        def _available(self) -> tuple[int, int]:
            held_b = sum(b for b, _ in self.open.values())
            held_p = sum(p for _, p in self.open.values())
            return self.bonus - held_b, self.paid - held_p

        @rule(cents=AMOUNT)
        def reserve(self, cents: int) -> None:
            avail_b, avail_p = self._available()
            try:
                with runtime.sessions() as db, db.begin():
                    r = funding.reserve(
                        db,
                        platform_id=platform.id,
                        client_id=self.client,
                        amount=Money(cents),
                        cause=("model", self.client),
                        idempotency_key=self.key(),
                        now=runtime.clock.now(),
                    )
            except InsufficientFunds as exc:
                assert cents > avail_b + avail_p
                assert exc.extra["available"] == avail_b + avail_p
                return
            from_b = min(cents, avail_b)
            assert (r.from_bonus.amount, r.from_paid.amount) == (from_b, cents - from_b)  # bonus first
            self.open[r.id] = (from_b, cents - from_b)

        @rule(pick=st.integers(min_value=0, max_value=100), share=st.integers(min_value=0, max_value=100))
        def settle(self, pick: int, share: int) -> None:
            if not self.open:
                return
            rid = sorted(self.open)[pick % len(self.open)]
            from_b, from_p = self.open.pop(rid)
            due = (from_b + from_p) * share // 100
            with runtime.sessions() as db, db.begin():
                funding.settle(
                    db,
                    platform_id=platform.id,
                    reservation_id=rid,
                    due=Money(due),
                    split=[(fees, Money(due))] if due else [],
                    rules=["CONSULT-CREDIT-1"],
                    idempotency_key=self.key(),
                    now=runtime.clock.now(),
                )
            taken_b = min(due, from_b)
            self.bonus -= taken_b
            self.paid -= due - taken_b

        @rule(pick=st.integers(min_value=0, max_value=100))
        def release(self, pick: int) -> None:
            if not self.open:
                return
            rid = sorted(self.open)[pick % len(self.open)]
            self.open.pop(rid)
            with runtime.sessions() as db, db.begin():
                funding.release(
                    db,
                    platform_id=platform.id,
                    reservation_id=rid,
                    rules=["CONSULT-CREDIT-1"],
                    idempotency_key=self.key(),
                    now=runtime.clock.now(),
                )

        @invariant()
        def balances_match(self) -> None:
            if not hasattr(self, "client"):
                return
            w = wallet(runtime, platform, self.client)
            held_b = sum(b for b, _ in self.open.values())
            held_p = sum(p for _, p in self.open.values())
            assert (w.paid.amount, w.bonus.amount) == (self.paid, self.bonus)
            assert (w.paid_held.amount, w.bonus_held.amount) == (held_p, held_b)
            assert w.paid_available.amount >= 0 and w.bonus_available.amount >= 0

    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=25, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
    with runtime.sessions() as db, db.begin():
        assert ledger.verify(db, platform_id=platform.id) == []
