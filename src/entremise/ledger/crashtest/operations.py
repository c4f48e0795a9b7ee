"""Operation kinds of the crash test, pluggable: each kind plans its parameters from the model and a
seeded random generator, predicts what the ledger must answer, runs itself with a given
idempotency key, and applies its effect to the model once the ledger reports it committed.

The ledger's own kinds are defined here: pay-ins, payments (two transfers), payouts, holds,
partial and final captures, releases, voids and reversals. Another module adds kinds (the
payments module: sandbox pay-ins and refunds) by subclassing `OperationKind`, decorating the class
with `@register`, naming the accounts it needs in `accounts`, and being imported by the harness
(`--plugin module` of `entremise ledger crash-test`, or `DEFAULT_PLUGINS` in the harness).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.crashtest.model import CONFLICT, Account, Hold, Model, Posted
from entremise.ledger.domain import AccountType, Transfer, default_flags

Params = dict[str, Any]


@dataclass(frozen=True)
class AccountSpec:
    """An account the operations use: one per process, or one `shared` by all processes."""

    name: str
    type: AccountType
    shared: bool = False


@dataclass(frozen=True)
class World:
    """The ledger accounts of one process, by name."""

    platform_id: str
    process: int
    ids: dict[str, str]

    @staticmethod
    def _where(spec: AccountSpec, process: int) -> dict[str, Any]:
        return {
            "type": spec.type,
            "owner_id": None if spec.shared else f"crash-p{process}",
            "label": f"crash-{spec.name}",
        }

    @classmethod
    def open(cls, db: Session, platform_id: str, process: int, now: datetime) -> World:
        """Open (or find) every account the registered kinds need, for one process."""
        ids = {
            s.name: ledger.get_or_open_account(
                db, platform_id=platform_id, now=now, **cls._where(s, process)
            ).id
            for s in account_specs()
        }
        return cls(platform_id, process, ids)

    @classmethod
    def load(cls, db: Session, platform_id: str, process: int) -> World:
        ids = {}
        for s in account_specs():
            found = ledger.find_account(db, platform_id=platform_id, **cls._where(s, process))
            if found is None:
                raise LookupError(f"crash test account {s.name} of process {process} is missing")
            ids[s.name] = found.id
        return cls(platform_id, process, ids)

    def model(self) -> Model:
        return Model(
            {s.name: Account(s.name, default_flags(s.type).no_negative) for s in account_specs()},
        )


class OperationKind(ABC):
    name: ClassVar[str]
    weight: ClassVar[int] = 10
    accounts: ClassVar[tuple[AccountSpec, ...]] = ()

    @abstractmethod
    def plan(self, model: Model, rng: random.Random) -> Params | None:
        """The parameters (JSON values) of the next operation of this kind, None if none applies now."""

    @abstractmethod
    def predict(self, model: Model, params: Params) -> str | None:
        """The name of the error class the ledger must refuse it with, None if it must commit."""

    @abstractmethod
    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        """Do it in `db`'s transaction with this idempotency key: (the ledger id it made, replayed)."""

    @abstractmethod
    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        """Its effect on the model, once the ledger reports it committed."""

    def ledger_keys(self, key: str) -> list[str]:
        """The idempotency keys of the ledger transactions it posts when it commits (the checker
        counts them as explained): by default one, the operation's key."""
        return [key]

    def committed(self, db: Session, world: World, key: str) -> str | None:
        """The ledger id it made if the ledger has it (looked up by its idempotency key)."""
        tx = ledger.find_transaction(db, platform_id=world.platform_id, idempotency_key=key)
        if tx is None:
            return None
        return tx.hold_id if tx.kind.value == "hold" else tx.id


OPERATIONS: dict[str, OperationKind] = {}


def register(cls: type[OperationKind]) -> type[OperationKind]:
    if cls.name in OPERATIONS:
        raise ValueError(f"crash test operation {cls.name!r} registered twice")
    OPERATIONS[cls.name] = cls()
    return cls


def account_specs() -> list[AccountSpec]:
    seen: dict[str, AccountSpec] = {}
    for kind in OPERATIONS.values():
        for spec in kind.accounts:
            if seen.setdefault(spec.name, spec) != spec:
                raise ValueError(f"crash test account {spec.name!r} declared twice, differently")
    return [seen[n] for n in sorted(seen)]


def plan(model: Model, rng: random.Random) -> tuple[OperationKind, Params]:
    """The next operation: a kind drawn by weight; a pay-in when the drawn kind has nothing to do."""
    kinds = [OPERATIONS[n] for n in sorted(OPERATIONS)]
    kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
    params = kind.plan(model, rng)
    if params is None:
        kind = OPERATIONS[PayIn.name]
        params = kind.plan(model, rng)
        assert params is not None
    return kind, params


# --- the ledger's own operations ---------------------------------------------------------------

CLIENT = AccountSpec("client", AccountType.CLIENT_CREDIT)
WALLET = AccountSpec("wallet", AccountType.PROVIDER_WALLET)
PSP = AccountSpec("psp", AccountType.PSP_CLEARING, shared=True)
FEES = AccountSpec("fees", AccountType.PLATFORM_FEES, shared=True)
LEDGER_ACCOUNTS = (CLIENT, WALLET, PSP, FEES)


def _post(
    db: Session, world: World, transfers: list[tuple[str, str, int]], key: str, kind: str, now: datetime
) -> tuple[str, bool]:
    tx = ledger.post_transaction(
        db,
        platform_id=world.platform_id,
        transfers=[Transfer(world.ids[d], world.ids[c], Money(a)) for d, c, a in transfers],
        idempotency_key=key,
        code=f"crash.{kind}",
        rules=["CRASH-TEST"],
        cause=("crash", key[-64:]),
        now=now,
    )
    return tx.id, tx.replayed


def _with_fee(source: str, amount: int) -> list[tuple[str, str, int]]:
    """The amount to the wallet, a tenth of it to the platform's fees."""
    fee = amount // 10
    return [(source, "wallet", amount - fee)] + ([(source, "fees", fee)] if fee else [])


class _Transfers(OperationKind):
    """A posting of fixed transfers planned from an amount; reversible."""

    accounts = LEDGER_ACCOUNTS
    low: ClassVar[int]
    high: ClassVar[int]

    @abstractmethod
    def transfers(self, amount: int) -> list[tuple[str, str, int]]: ...

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        return {"amount": rng.randint(self.low, self.high)}

    def predict(self, model: Model, params: Params) -> str | None:
        return model.refusal(model.changes_of(self.transfers(params["amount"])))

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        return _post(db, world, self.transfers(params["amount"]), key, self.name, now)

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        transfers = self.transfers(params["amount"])
        model.move(model.changes_of(transfers))
        model.reversible[op] = Posted(op, transfers)
        model.results[op] = result_id


@register
class PayIn(_Transfers):
    name = "payin"
    weight = 12
    low, high = 500, 5_000

    def transfers(self, amount: int) -> list[tuple[str, str, int]]:
        return [("psp", "client", amount)]


@register
class Pay(_Transfers):
    name = "pay"
    weight = 14
    low, high = 100, 3_000

    def transfers(self, amount: int) -> list[tuple[str, str, int]]:
        return _with_fee("client", amount)


@register
class Payout(_Transfers):
    name = "payout"
    weight = 6
    low, high = 100, 4_000

    def transfers(self, amount: int) -> list[tuple[str, str, int]]:
        return [("wallet", "psp", amount)]


@register
class PlaceHold(OperationKind):
    name = "hold"
    weight = 8
    accounts = LEDGER_ACCOUNTS

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        return {"amount": rng.randint(200, 4_000)}

    def predict(self, model: Model, params: Params) -> str | None:
        return model.refusal({"client": (0, params["amount"])})

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        h = ledger.hold(
            db,
            platform_id=world.platform_id,
            account_id=world.ids["client"],
            amount=Money(params["amount"]),
            idempotency_key=key,
            code="crash.hold",
            rules=["CRASH-TEST"],
            cause=("crash", key[-64:]),
            now=now,
        )
        return h.id, h.replayed

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        model.move({"client": (0, params["amount"])})
        model.holds[op] = Hold(op, "client", params["amount"], remaining=params["amount"])
        model.results[op] = result_id


class _OnHold(OperationKind):
    """An operation on a hold placed earlier by the same process (sometimes a closed one)."""

    accounts = LEDGER_ACCOUNTS

    @staticmethod
    def pick(model: Model, rng: random.Random) -> Hold | None:
        candidates = model.open_holds()
        if rng.random() < 0.1 or not candidates:
            candidates = [h for _, h in sorted(model.holds.items())]
        return rng.choice(candidates) if candidates else None


class _Capture(_OnHold):
    final: ClassVar[bool]

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        h = self.pick(model, rng)
        if h is None:
            return None
        return {"hold": h.op, "amount": rng.randint(1, h.remaining + h.remaining // 4 + 1)}

    def predict(self, model: Model, params: Params) -> str | None:
        h = model.holds[params["hold"]]
        # capturing moves held money: it never makes the available balance drop
        return CONFLICT if h.remaining == 0 or params["amount"] > h.remaining else None

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        tx = ledger.capture(
            db,
            platform_id=world.platform_id,
            hold_id=model.results[params["hold"]],
            to=[(world.ids[c], Money(a)) for _, c, a in _with_fee("client", params["amount"])],
            idempotency_key=key,
            code=f"crash.{self.name}",
            rules=["CRASH-TEST"],
            final=self.final,
            now=now,
        )
        return tx.id, tx.replayed

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        h, amount = model.holds[params["hold"]], params["amount"]
        released = h.remaining - amount if self.final else 0
        transfers = _with_fee("client", amount)
        model.move(model.changes_of(transfers, {"client": -(amount + released)}))
        h.captured += amount
        h.remaining -= amount + released
        model.reversible[op] = Posted(op, transfers)
        model.results[op] = result_id


@register
class CapturePart(_Capture):
    name = "capture"
    weight = 10
    final = False


@register
class CaptureFinal(_Capture):
    name = "capture-final"
    weight = 5
    final = True


@register
class Release(_OnHold):
    name = "release"
    weight = 6

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        h = self.pick(model, rng)
        if h is None:
            return None
        return {"hold": h.op, "amount": None if rng.random() < 0.4 else rng.randint(1, h.remaining + 2)}

    def predict(self, model: Model, params: Params) -> str | None:
        h = model.holds[params["hold"]]
        return CONFLICT if h.remaining == 0 or (params["amount"] or 0) > h.remaining else None

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        tx = ledger.release(
            db,
            platform_id=world.platform_id,
            hold_id=model.results[params["hold"]],
            amount=None if params["amount"] is None else Money(params["amount"]),
            idempotency_key=key,
            now=now,
        )
        return tx.id, tx.replayed

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        h = model.holds[params["hold"]]
        value = h.remaining if params["amount"] is None else params["amount"]
        model.move({"client": (0, -value)})
        h.remaining -= value
        model.results[op] = result_id


@register
class Void(_OnHold):
    name = "void"
    weight = 3

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        h = self.pick(model, rng)
        return None if h is None else {"hold": h.op}

    def predict(self, model: Model, params: Params) -> str | None:
        h = model.holds[params["hold"]]
        return CONFLICT if h.remaining == 0 or h.captured else None

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        tx = ledger.void(
            db,
            platform_id=world.platform_id,
            hold_id=model.results[params["hold"]],
            idempotency_key=key,
            now=now,
        )
        return tx.id, tx.replayed

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        h = model.holds[params["hold"]]
        model.move({"client": (0, -h.remaining)})
        h.remaining, h.voided = 0, True
        model.results[op] = result_id


@register
class Reverse(OperationKind):
    name = "reverse"
    weight = 5
    accounts = LEDGER_ACCOUNTS

    def plan(self, model: Model, rng: random.Random) -> Params | None:
        candidates = [op for op, p in sorted(model.reversible.items()) if not p.reversed]
        if rng.random() < 0.1 or not candidates:
            candidates = sorted(model.reversible)
        return {"tx": rng.choice(candidates)} if candidates else None

    @staticmethod
    def back(posted: Posted) -> list[tuple[str, str, int]]:
        return [(c, d, a) for d, c, a in posted.transfers]

    def predict(self, model: Model, params: Params) -> str | None:
        posted = model.reversible[params["tx"]]
        return CONFLICT if posted.reversed else model.refusal(model.changes_of(self.back(posted)))

    def run(
        self, db: Session, world: World, model: Model, params: Params, key: str, now: datetime
    ) -> tuple[str, bool]:
        tx = ledger.reverse(
            db,
            platform_id=world.platform_id,
            transaction_id=model.results[params["tx"]],
            idempotency_key=key,
            reason="crash test",
            rules=["CRASH-TEST"],
            now=now,
        )
        return tx.id, tx.replayed

    def apply(self, model: Model, op: int, params: Params, result_id: str) -> None:
        posted = model.reversible[params["tx"]]
        model.move(model.changes_of(self.back(posted)))
        posted.reversed = True
        model.results[op] = result_id
