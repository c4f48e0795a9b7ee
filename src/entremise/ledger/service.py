"""Ledger use cases. Each function runs inside the caller's transaction (`with db.begin(): ...`),
so a posting commits or rolls back together with the state change that caused it.

Concurrency: every posting locks the cached balance rows of the accounts it touches, in sorted
account id order (`SELECT ... FOR UPDATE` on PostgreSQL, where that order prevents deadlocks;
SQLite serializes writers with `BEGIN IMMEDIATE`), then re-reads everything it decides on.
Idempotency: a key is unique per platform; the same key with the same request returns the first
result (`replayed=True`), with another request it is refused (Conflict).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import DEFAULT_CURRENCY, Money, is_currency
from entremise.ledger.domain import (
    REVERSIBLE,
    AccountState,
    AccountType,
    Balance,
    Movement,
    Transfer,
    TxKind,
    apply_movements,
    check_amount,
    check_currencies,
    check_rules,
    check_text,
    check_transfers,
    default_flags,
    fingerprint,
    raise_if,
    reversed_transfers,
    transfer_movements,
    transfers_payload,
)
from entremise.ledger.models import LedgerAccount, LedgerBalance, LedgerEntry, LedgerHold, LedgerTransaction

FREEZE_RULES = ("EXPERT-SANCTION-1", "CARPOOL-FRAUD-1")


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    id: str
    platform_id: str
    key: str
    type: AccountType
    owner_id: str | None
    currency: str
    no_negative: bool
    no_positive: bool
    frozen: bool


@dataclass(frozen=True)
class BalanceView:
    """`total`: posted credits minus debits; `held`: reserved by open holds; `available` = total - held."""

    account_id: str
    total: Money
    held: Money

    @property
    def available(self) -> Money:
        return self.total - self.held


@dataclass(frozen=True)
class TransactionView:
    id: str
    kind: TxKind
    code: str
    rules: tuple[str, ...]
    reason: str
    cause: tuple[str, str]
    idempotency_key: str
    transfers: tuple[Transfer, ...]
    hold_id: str | None
    reverses_id: str | None
    created_at: datetime
    replayed: bool = False  # True when this is the stored result of an earlier call with the same key


@dataclass(frozen=True)
class HoldView:
    id: str
    account_id: str
    amount: Money
    captured: Money
    remaining: Money
    status: str  # open | captured | released | voided
    cause: tuple[str, str]
    created_at: datetime
    replayed: bool = False

    @property
    def released(self) -> Money:
        return self.amount - self.captured - self.remaining


@dataclass(frozen=True)
class Discrepancy:
    platform_id: str
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.platform_id}] {self.check} {self.subject}: {self.detail}"


def _account_view(row: LedgerAccount) -> AccountView:
    return AccountView(
        id=row.id,
        platform_id=row.platform_id,
        key=row.key,
        type=AccountType(row.type),
        owner_id=row.owner_id,
        currency=row.currency,
        no_negative=row.no_negative,
        no_positive=row.no_positive,
        frozen=row.frozen,
    )


def _state(row: LedgerAccount) -> AccountState:
    return AccountState(row.id, row.currency, row.no_negative, row.no_positive, row.frozen)


def _tx_view(row: LedgerTransaction, transfers: Sequence[Transfer], *, replayed: bool) -> TransactionView:
    return TransactionView(
        id=row.id,
        kind=TxKind(row.kind),
        code=row.code,
        rules=tuple(row.rules),
        reason=row.reason,
        cause=(row.object_type, row.object_id),
        idempotency_key=row.idempotency_key,
        transfers=tuple(transfers),
        hold_id=row.hold_id,
        reverses_id=row.reverses_id,
        created_at=row.created_at,
        replayed=replayed,
    )


# --- accounts ----------------------------------------------------------------------------------


def account_key(type_: AccountType, owner_id: str | None, currency: str, label: str | None) -> str:
    key = f"{type_.value}/{owner_id or '-'}/{currency}"
    return f"{key}/{label}" if label else key


def open_account(
    db: Session,
    *,
    platform_id: str,
    type: AccountType | str,
    now: datetime,
    currency: str = DEFAULT_CURRENCY,
    owner_id: str | None = None,
    label: str | None = None,
    no_negative: bool | None = None,
    no_positive: bool | None = None,
    actor: Actor | None = None,
) -> AccountView:
    """Open an account (one per platform, type, owner, currency and optional label).

    Flags left as None take the type's default (user money may not go negative).
    """
    type_ = _parse_type(type)
    errors: list[FieldError] = []
    if not is_currency(currency):
        errors.append(FieldError("currency", f"unsupported currency {currency!r}"))
    if owner_id is not None:
        errors += check_text(owner_id, "owner_id", 36)
    if label is not None:
        errors += check_text(label, "label", 60)
    defaults = default_flags(type_)
    neg = defaults.no_negative if no_negative is None else no_negative
    pos = defaults.no_positive if no_positive is None else no_positive
    if neg and pos:
        errors.append(FieldError("no_positive", "an account cannot be both no-negative and no-positive"))
    raise_if(errors)
    key = account_key(type_, owner_id, currency, label)
    if db.scalar(
        select(LedgerAccount.id).where(LedgerAccount.platform_id == platform_id, LedgerAccount.key == key)
    ):
        raise Conflict(f"ledger account {key} exists", extra={"key": key})
    row = LedgerAccount(
        id=new_id(),
        platform_id=platform_id,
        key=key,
        type=type_.value,
        owner_id=owner_id,
        currency=currency,
        no_negative=neg,
        no_positive=pos,
        frozen=False,
        created_at=now,
    )
    db.add(row)
    db.flush()
    db.add(
        LedgerBalance(
            account_id=row.id, platform_id=platform_id, currency=currency, posted=0, held=0, updated_at=now
        )
    )
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="ledger.account.opened",
        obj=("ledger_account", row.id),
        at=now,
        data={"key": key, "no_negative": neg, "no_positive": pos},
    )
    return _account_view(row)


def find_account(
    db: Session,
    *,
    platform_id: str,
    type: AccountType | str,
    currency: str = DEFAULT_CURRENCY,
    owner_id: str | None = None,
    label: str | None = None,
) -> AccountView | None:
    key = account_key(_parse_type(type), owner_id, currency, label)
    row = db.scalar(
        select(LedgerAccount).where(LedgerAccount.platform_id == platform_id, LedgerAccount.key == key)
    )
    return _account_view(row) if row else None


def get_or_open_account(
    db: Session,
    *,
    platform_id: str,
    type: AccountType | str,
    now: datetime,
    currency: str = DEFAULT_CURRENCY,
    owner_id: str | None = None,
    label: str | None = None,
    actor: Actor | None = None,
) -> AccountView:
    """The account for (type, owner, currency, label), opened with default flags if missing."""
    found = find_account(
        db, platform_id=platform_id, type=type, currency=currency, owner_id=owner_id, label=label
    )
    if found is not None:
        return found
    return open_account(
        db,
        platform_id=platform_id,
        type=type,
        now=now,
        currency=currency,
        owner_id=owner_id,
        label=label,
        actor=actor,
    )


def get_account(db: Session, *, platform_id: str, account_id: str) -> AccountView:
    return _account_view(_account_row(db, platform_id, account_id))


def accounts_of(db: Session, *, platform_id: str, owner_id: str) -> list[AccountView]:
    rows = db.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.platform_id == platform_id, LedgerAccount.owner_id == owner_id)
        .order_by(LedgerAccount.key)
    )
    return [_account_view(r) for r in rows]


def freeze(
    db: Session,
    *,
    platform_id: str,
    account_id: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
    actor: Actor | None = None,
) -> AccountView:
    """Block outgoing movements (a sanction: EXPERT-SANCTION-1, CARPOOL-FRAUD-1). Cites its rules."""
    return _set_frozen(db, platform_id, account_id, True, rules, reason, now, actor)


def unfreeze(
    db: Session,
    *,
    platform_id: str,
    account_id: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
    actor: Actor | None = None,
) -> AccountView:
    return _set_frozen(db, platform_id, account_id, False, rules, reason, now, actor)


def _set_frozen(
    db: Session,
    platform_id: str,
    account_id: str,
    frozen: bool,
    rules: Sequence[str],
    reason: str,
    now: datetime,
    actor: Actor | None,
) -> AccountView:
    errors = check_rules(rules) + check_text(reason, "reason", 2000)
    if not errors and not rules:
        errors.append(FieldError("rules", "freezing or unfreezing cites at least one rule ID"))
    raise_if(errors)
    _lock(db, platform_id, [account_id])
    row = _account_row(db, platform_id, account_id)
    if row.frozen == frozen:
        raise Conflict(f"account {account_id} is already {'frozen' if frozen else 'not frozen'}")
    row.frozen = frozen
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="ledger.account.frozen" if frozen else "ledger.account.unfrozen",
        obj=("ledger_account", account_id),
        at=now,
        rules=list(rules),
        reason=reason,
    )
    return _account_view(row)


# --- balances ----------------------------------------------------------------------------------


def balance(db: Session, *, platform_id: str, account_id: str) -> BalanceView:
    """The cached balance (kept equal to the entries; `verify` proves it)."""
    row = db.scalar(
        select(LedgerBalance).where(
            LedgerBalance.platform_id == platform_id, LedgerBalance.account_id == account_id
        )
    )
    if row is None:
        raise NotFound(f"no ledger account {account_id}")
    return BalanceView(account_id, Money(row.posted, row.currency), Money(row.held, row.currency))


def derived_balance(db: Session, *, platform_id: str, account_id: str) -> BalanceView:
    """The balance summed from the entries themselves."""
    account = _account_row(db, platform_id, account_id)
    sums = dict(
        db.execute(
            select(LedgerEntry.bucket, func.coalesce(func.sum(LedgerEntry.amount), 0))
            .where(LedgerEntry.platform_id == platform_id, LedgerEntry.account_id == account_id)
            .group_by(LedgerEntry.bucket)
        ).all()
    )
    return BalanceView(
        account_id,
        Money(int(sums.get("posted", 0)), account.currency),
        Money(int(sums.get("held", 0)), account.currency),
    )


# --- transactions ------------------------------------------------------------------------------


def post_transaction(
    db: Session,
    *,
    platform_id: str,
    transfers: Sequence[Transfer],
    idempotency_key: str,
    code: str,
    rules: Sequence[str],
    cause: tuple[str, str],
    now: datetime,
    reason: str = "",
    actor: Actor | None = None,
) -> TransactionView:
    """Post transfers that commit all together or not at all."""
    transfers = list(transfers)
    _check_common(idempotency_key, code, rules, cause, reason, extra=check_transfers(transfers))
    digest = fingerprint(
        {
            "op": TxKind.POST.value,
            "transfers": transfers_payload(transfers),
            "code": code,
            "rules": list(rules),
            "cause": list(cause),
            "reason": reason,
        }
    )
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    ids = {t.debit for t in transfers} | {t.credit for t in transfers}
    balances, accounts = _lock(db, platform_id, ids)
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    raise_if(check_currencies(transfers, {i: _state(a) for i, a in accounts.items()}))
    return _commit(
        db,
        platform_id=platform_id,
        kind=TxKind.POST,
        key=idempotency_key,
        digest=digest,
        code=code,
        rules=rules,
        reason=reason,
        cause=cause,
        now=now,
        actor=actor,
        balances=balances,
        accounts=accounts,
        movements=transfer_movements(transfers),
        transfers=transfers,
    )


def reverse(
    db: Session,
    *,
    platform_id: str,
    transaction_id: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
    rules: Sequence[str] = (),
    code: str = "reversal",
    actor: Actor | None = None,
) -> TransactionView:
    """Undo the posted transfers of a transaction with a linked reversing one (once only)."""
    _check_common(idempotency_key, code, rules, ("ledger_transaction", transaction_id), reason)
    raise_if(check_text(reason, "reason", 2000))
    digest = fingerprint(
        {
            "op": TxKind.REVERSAL.value,
            "reverses": transaction_id,
            "code": code,
            "rules": list(rules),
            "reason": reason,
        }
    )
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    original = db.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.platform_id == platform_id, LedgerTransaction.id == transaction_id
        )
    )
    if original is None:
        raise NotFound(f"no ledger transaction {transaction_id}")
    if original.kind not in REVERSIBLE:
        raise Conflict(
            f"a {original.kind} transaction cannot be reversed"
            + (": release or void the hold instead" if original.hold_id else "")
        )
    transfers = reversed_transfers(_transfers_of(db, original.id))
    balances, accounts = _lock(db, platform_id, {t.debit for t in transfers} | {t.credit for t in transfers})
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    already = db.scalar(select(LedgerTransaction.id).where(LedgerTransaction.reverses_id == original.id))
    if already is not None:
        raise Conflict(
            f"transaction {original.id} is already reversed by {already}", extra={"reversal_id": already}
        )
    return _commit(
        db,
        platform_id=platform_id,
        kind=TxKind.REVERSAL,
        key=idempotency_key,
        digest=digest,
        code=code,
        rules=rules,
        reason=reason,
        cause=(original.object_type, original.object_id),
        now=now,
        actor=actor,
        balances=balances,
        accounts=accounts,
        movements=transfer_movements(transfers),
        transfers=transfers,
        reverses_id=original.id,
    )


def get_transaction(db: Session, *, platform_id: str, transaction_id: str) -> TransactionView:
    row = db.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.platform_id == platform_id, LedgerTransaction.id == transaction_id
        )
    )
    if row is None:
        raise NotFound(f"no ledger transaction {transaction_id}")
    return _tx_view(row, _transfers_of(db, row.id), replayed=False)


def transactions_for(db: Session, *, platform_id: str, cause: tuple[str, str]) -> list[TransactionView]:
    """Every ledger transaction caused by one object (a booking, an order, an invoice...)."""
    rows = db.scalars(
        select(LedgerTransaction)
        .where(
            LedgerTransaction.platform_id == platform_id,
            LedgerTransaction.object_type == cause[0],
            LedgerTransaction.object_id == cause[1],
        )
        .order_by(LedgerTransaction.created_at, LedgerTransaction.id)
    )
    return [_tx_view(r, _transfers_of(db, r.id), replayed=False) for r in rows]


# --- holds -------------------------------------------------------------------------------------


def hold(
    db: Session,
    *,
    platform_id: str,
    account_id: str,
    amount: Money,
    idempotency_key: str,
    code: str,
    rules: Sequence[str],
    cause: tuple[str, str],
    now: datetime,
    reason: str = "",
    actor: Actor | None = None,
) -> HoldView:
    """Reserve `amount` on an account: it stays there but no longer counts as available."""
    _check_common(idempotency_key, code, rules, cause, reason, extra=check_amount(amount, "amount"))
    digest = fingerprint(
        {
            "op": TxKind.HOLD.value,
            "account": account_id,
            "amount": [amount.amount, amount.currency],
            "code": code,
            "rules": list(rules),
            "cause": list(cause),
            "reason": reason,
        }
    )
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        assert done.hold_id is not None
        return _hold_view(db, platform_id, done.hold_id, replayed=True)
    balances, accounts = _lock(db, platform_id, [account_id])
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        assert done.hold_id is not None
        return _hold_view(db, platform_id, done.hold_id, replayed=True)
    if accounts[account_id].currency != amount.currency:
        raise InvalidInput(
            [
                FieldError(
                    "amount.currency",
                    f"{amount.currency} does not match the account's {accounts[account_id].currency}",
                )
            ]
        )
    hold_id = new_id()
    new_hold = LedgerHold(
        id=hold_id,
        platform_id=platform_id,
        account_id=account_id,
        currency=amount.currency,
        amount=amount.amount,
        object_type=cause[0],
        object_id=cause[1],
        created_at=now,
    )
    tx = _commit(
        db,
        platform_id=platform_id,
        kind=TxKind.HOLD,
        key=idempotency_key,
        digest=digest,
        code=code,
        rules=rules,
        reason=reason,
        cause=cause,
        now=now,
        actor=actor,
        balances=balances,
        accounts=accounts,
        movements=[Movement(account_id, "held", amount.amount, amount.currency, None, hold_id)],
        transfers=[],
        hold_id=hold_id,
        new_hold=new_hold,
    )
    if tx.replayed:
        assert tx.hold_id is not None
        return _hold_view(db, platform_id, tx.hold_id, replayed=True)
    return HoldView(
        id=hold_id,
        account_id=account_id,
        amount=amount,
        captured=Money.zero(amount.currency),
        remaining=amount,
        status="open",
        cause=cause,
        created_at=now,
    )


def capture(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    to: Sequence[tuple[str, Money]],
    idempotency_key: str,
    code: str,
    rules: Sequence[str],
    now: datetime,
    final: bool = True,
    reason: str = "",
    actor: Actor | None = None,
) -> TransactionView:
    """Move held money to one or more destination accounts.

    With `final` (the default) the rest of the hold is released in the same transaction and the
    hold closes; otherwise it stays open for further captures. Never more than what remains held.
    """
    pairs = list(to)
    shape = [
        FieldError(f"to[{i}]", "a (account id, Money) pair")
        for i, p in enumerate(pairs)
        if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], Money))
    ]
    _check_common(idempotency_key, code, rules, ("ledger_hold", hold_id), reason, extra=shape)
    digest = fingerprint(
        {
            "op": TxKind.CAPTURE.value,
            "hold": hold_id,
            "to": [[a, m.amount, m.currency] for a, m in pairs],
            "final": bool(final),
            "code": code,
            "rules": list(rules),
            "reason": reason,
        }
    )
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    held = _hold_row(db, platform_id, hold_id)
    transfers = [Transfer(debit=held.account_id, credit=a, amount=m) for a, m in pairs]
    raise_if(check_transfers(transfers, "to"))
    balances, accounts = _lock(db, platform_id, {held.account_id} | {a for a, _ in pairs})
    done = _replay(db, platform_id, idempotency_key, digest)
    if done is not None:
        return done
    raise_if(check_currencies(transfers, {i: _state(a) for i, a in accounts.items()}, "to"))
    remaining, _captured, _voided = _hold_state(db, held)
    total = sum(t.amount.amount for t in transfers)
    if remaining == 0:
        raise Conflict(f"hold {hold_id} is closed")
    if total > remaining:
        raise Conflict(
            f"cannot capture {Money(total, held.currency)}: only {Money(remaining, held.currency)} is held",
            extra={"hold_id": hold_id, "remaining": remaining},
        )
    release_too = remaining - total if final else 0
    movements = [
        Movement(held.account_id, "held", -(total + release_too), held.currency, None, hold_id),
        *transfer_movements(transfers, hold_id),
    ]
    return _commit(
        db,
        platform_id=platform_id,
        kind=TxKind.CAPTURE,
        key=idempotency_key,
        digest=digest,
        code=code,
        rules=rules,
        reason=reason,
        cause=(held.object_type, held.object_id),
        now=now,
        actor=actor,
        balances=balances,
        accounts=accounts,
        movements=movements,
        transfers=transfers,
        hold_id=hold_id,
    )


def release(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    idempotency_key: str,
    now: datetime,
    amount: Money | None = None,
    code: str = "hold.release",
    rules: Sequence[str] = (),
    reason: str = "",
    actor: Actor | None = None,
) -> TransactionView:
    """Give back part (`amount`) or all (None) of what a hold still reserves."""
    extra = check_amount(amount, "amount") if amount is not None else []
    _check_common(idempotency_key, code, rules, ("ledger_hold", hold_id), reason, extra=extra)
    digest = fingerprint(
        {
            "op": TxKind.RELEASE.value,
            "hold": hold_id,
            "amount": [amount.amount, amount.currency] if amount is not None else None,
            "code": code,
            "rules": list(rules),
            "reason": reason,
        }
    )
    return _end_hold(
        db,
        platform_id,
        hold_id,
        TxKind.RELEASE,
        amount,
        idempotency_key,
        digest,
        code,
        rules,
        reason,
        now,
        actor,
    )


def void(
    db: Session,
    *,
    platform_id: str,
    hold_id: str,
    idempotency_key: str,
    now: datetime,
    code: str = "hold.void",
    rules: Sequence[str] = (),
    reason: str = "",
    actor: Actor | None = None,
) -> TransactionView:
    """Cancel a hold from which nothing was captured: all it still reserves becomes available again."""
    _check_common(idempotency_key, code, rules, ("ledger_hold", hold_id), reason)
    digest = fingerprint(
        {"op": TxKind.VOID.value, "hold": hold_id, "code": code, "rules": list(rules), "reason": reason}
    )
    return _end_hold(
        db, platform_id, hold_id, TxKind.VOID, None, idempotency_key, digest, code, rules, reason, now, actor
    )


def _end_hold(
    db: Session,
    platform_id: str,
    hold_id: str,
    kind: TxKind,
    amount: Money | None,
    key: str,
    digest: str,
    code: str,
    rules: Sequence[str],
    reason: str,
    now: datetime,
    actor: Actor | None,
) -> TransactionView:
    done = _replay(db, platform_id, key, digest)
    if done is not None:
        return done
    held = _hold_row(db, platform_id, hold_id)
    if amount is not None and amount.currency != held.currency:
        raise InvalidInput([FieldError("amount.currency", f"the hold is in {held.currency}")])
    balances, accounts = _lock(db, platform_id, [held.account_id])
    done = _replay(db, platform_id, key, digest)
    if done is not None:
        return done
    remaining, captured, _voided = _hold_state(db, held)
    if remaining == 0:
        raise Conflict(f"hold {hold_id} is closed")
    if kind is TxKind.VOID and captured:
        raise Conflict(f"hold {hold_id} was partly captured: release the rest instead of voiding it")
    value = remaining if amount is None else amount.amount
    if value > remaining:
        raise Conflict(
            f"cannot release {Money(value, held.currency)}: only {Money(remaining, held.currency)} is held",
            extra={"hold_id": hold_id, "remaining": remaining},
        )
    return _commit(
        db,
        platform_id=platform_id,
        kind=kind,
        key=key,
        digest=digest,
        code=code,
        rules=rules,
        reason=reason,
        cause=(held.object_type, held.object_id),
        now=now,
        actor=actor,
        balances=balances,
        accounts=accounts,
        movements=[Movement(held.account_id, "held", -value, held.currency, None, hold_id)],
        transfers=[],
        hold_id=hold_id,
    )


def get_hold(db: Session, *, platform_id: str, hold_id: str) -> HoldView:
    return _hold_view(db, platform_id, hold_id, replayed=False)


def _hold_row(db: Session, platform_id: str, hold_id: str) -> LedgerHold:
    row = db.scalar(select(LedgerHold).where(LedgerHold.platform_id == platform_id, LedgerHold.id == hold_id))
    if row is None:
        raise NotFound(f"no hold {hold_id}")
    return row


def _hold_state(db: Session, held: LedgerHold) -> tuple[int, int, bool]:
    """(remaining, captured, voided) of a hold, from its entries (read after the account lock)."""
    rows = db.execute(
        select(LedgerEntry.bucket, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .where(LedgerEntry.hold_id == held.id, LedgerEntry.account_id == held.account_id)
        .group_by(LedgerEntry.bucket)
    ).all()
    sums = {bucket: int(total) for bucket, total in rows}
    voided = (
        db.scalar(
            select(LedgerTransaction.id).where(
                LedgerTransaction.hold_id == held.id, LedgerTransaction.kind == TxKind.VOID.value
            )
        )
        is not None
    )
    return sums.get("held", 0), -sums.get("posted", 0), voided


def _hold_view(db: Session, platform_id: str, hold_id: str, *, replayed: bool) -> HoldView:
    held = _hold_row(db, platform_id, hold_id)
    remaining, captured, voided = _hold_state(db, held)
    if remaining:
        status = "open"
    elif voided:
        status = "voided"
    elif captured:
        status = "captured"
    else:
        status = "released"
    return HoldView(
        id=held.id,
        account_id=held.account_id,
        amount=Money(held.amount, held.currency),
        captured=Money(captured, held.currency),
        remaining=Money(remaining, held.currency),
        status=status,
        cause=(held.object_type, held.object_id),
        created_at=held.created_at,
        replayed=replayed,
    )


# --- the shared posting path -------------------------------------------------------------------


def _parse_type(value: AccountType | str) -> AccountType:
    try:
        return AccountType(value)
    except ValueError:
        raise InvalidInput(
            [
                FieldError(
                    "type",
                    f"unknown account type {value!r}; one of {', '.join(t.value for t in AccountType)}",
                )
            ]
        ) from None


def _check_common(
    key: str,
    code: str,
    rules: Sequence[str],
    cause: tuple[str, str],
    reason: str,
    *,
    extra: Iterable[FieldError] = (),
) -> None:
    errors = list(extra)
    errors += check_text(key, "idempotency_key", 200)
    errors += check_text(code, "code", 80)
    errors += check_rules(rules)
    errors += check_text(reason, "reason", 2000, required=False)
    if not (isinstance(cause, tuple | list) and len(cause) == 2):
        errors.append(FieldError("cause", "an (object_type, object_id) pair"))
    else:
        errors += check_text(cause[0], "cause.object_type", 40)
        errors += check_text(cause[1], "cause.object_id", 64)
    raise_if(errors)


def _account_row(db: Session, platform_id: str, account_id: str) -> LedgerAccount:
    row = db.scalar(
        select(LedgerAccount).where(LedgerAccount.platform_id == platform_id, LedgerAccount.id == account_id)
    )
    if row is None:
        raise NotFound(f"no ledger account {account_id}")
    return row


def _lock(
    db: Session, platform_id: str, account_ids: Iterable[str]
) -> tuple[dict[str, LedgerBalance], dict[str, LedgerAccount]]:
    """Lock the balance rows in sorted id order, then read the accounts (fresh, after the lock)."""
    ids = sorted(set(account_ids))
    rows = db.scalars(
        select(LedgerBalance)
        .where(LedgerBalance.platform_id == platform_id, LedgerBalance.account_id.in_(ids))
        .order_by(LedgerBalance.account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    balances = {r.account_id: r for r in rows}
    missing = [i for i in ids if i not in balances]
    if missing:
        raise NotFound(f"no ledger account {', '.join(missing)}", extra={"account_ids": missing})
    accounts = {
        a.id: a
        for a in db.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.platform_id == platform_id, LedgerAccount.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    }
    return balances, accounts


def _replay(db: Session, platform_id: str, key: str, digest: str) -> TransactionView | None:
    row = db.scalar(
        select(LedgerTransaction)
        .where(LedgerTransaction.platform_id == platform_id, LedgerTransaction.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different request",
            extra={"transaction_id": row.id},
        )
    return _tx_view(row, _transfers_of(db, row.id), replayed=True)


def _transfers_of(db: Session, transaction_id: str) -> list[Transfer]:
    entries = db.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.transaction_id == transaction_id, LedgerEntry.bucket == "posted")
        .order_by(LedgerEntry.transfer_no, LedgerEntry.amount)
    ).all()
    out: list[Transfer] = []
    for debit, credit in zip(entries[0::2], entries[1::2], strict=True):
        out.append(
            Transfer(
                debit=debit.account_id, credit=credit.account_id, amount=Money(credit.amount, credit.currency)
            )
        )
    return out


def _commit(
    db: Session,
    *,
    platform_id: str,
    kind: TxKind,
    key: str,
    digest: str,
    code: str,
    rules: Sequence[str],
    reason: str,
    cause: tuple[str, str],
    now: datetime,
    actor: Actor | None,
    balances: dict[str, LedgerBalance],
    accounts: dict[str, LedgerAccount],
    movements: list[Movement],
    transfers: Sequence[Transfer],
    hold_id: str | None = None,
    reverses_id: str | None = None,
    new_hold: LedgerHold | None = None,
) -> TransactionView:
    """Check the movements against fresh, locked balances; write transaction, entries, balances, audit.

    The caller has locked the accounts and checked (after the lock) that the key is still unused.
    """
    after = apply_movements(
        {i: _state(a) for i, a in accounts.items()},
        {i: Balance(b.posted, b.held) for i, b in balances.items()},
        movements,
    )
    tx = LedgerTransaction(
        id=new_id(),
        platform_id=platform_id,
        idempotency_key=key,
        request_hash=digest,
        kind=kind.value,
        code=code,
        rules=list(rules),
        reason=reason,
        object_type=cause[0],
        object_id=cause[1],
        hold_id=hold_id,
        reverses_id=reverses_id,
        created_at=now,
    )
    try:
        with db.begin_nested():
            if new_hold is not None:
                db.add(new_hold)
                db.flush()
            db.add(tx)
            db.flush()
    except IntegrityError:
        # another transaction took the key (or reversed the same transaction) meanwhile
        done = _replay(db, platform_id, key, digest)
        if done is not None:
            return done
        if reverses_id is not None:
            raise Conflict(f"transaction {reverses_id} is already reversed") from None
        raise
    db.execute(
        insert(LedgerEntry),
        [
            {
                "platform_id": platform_id,
                "transaction_id": tx.id,
                "transfer_no": m.transfer_no,
                "account_id": m.account_id,
                "bucket": m.bucket,
                "amount": m.amount,
                "currency": m.currency,
                "hold_id": m.hold_id,
            }
            for m in movements
        ],
    )
    for account_id, new in after.items():
        row = balances[account_id]
        if (row.posted, row.held) != (new.posted, new.held):
            row.posted, row.held, row.updated_at = new.posted, new.held, now
    db.flush()
    data: dict[str, Any] = {
        "kind": kind.value,
        "code": code,
        "cause": list(cause),
        "idempotency_key": key,
        "transfers": transfers_payload(transfers),
    }
    if hold_id:
        data["hold_id"] = hold_id
    if reverses_id:
        data["reverses_id"] = reverses_id
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action=f"ledger.{kind.value}",
        obj=("ledger_transaction", tx.id),
        at=now,
        rules=list(rules),
        reason=reason,
        data=data,
    )
    return _tx_view(tx, transfers, replayed=False)


# --- verification ------------------------------------------------------------------------------


def verify(db: Session, *, platform_id: str | None = None) -> list[Discrepancy]:
    """Check every invariant of the ledger against its entries; an empty list means all hold.

    Cached balances equal the sums of entries; every transaction's posted entries sum to zero per
    currency; entries are in their account's currency and platform; no-negative accounts have
    posted - held >= 0, no-positive ones posted <= 0, nothing holds a negative amount; every hold
    keeps 0 <= remaining and captured + remaining <= amount; every reversal mirrors its original.
    """
    found: list[Discrepancy] = []

    def scoped(q: Any, column: Any) -> Any:
        return q.where(column == platform_id) if platform_id is not None else q

    accounts = {a.id: a for a in db.scalars(scoped(select(LedgerAccount), LedgerAccount.platform_id))}
    cached = {b.account_id: b for b in db.scalars(scoped(select(LedgerBalance), LedgerBalance.platform_id))}
    sums: dict[tuple[str, str], int] = {}
    for account_id, bucket, total in db.execute(
        scoped(
            select(LedgerEntry.account_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.account_id, LedgerEntry.bucket
            ),
            LedgerEntry.platform_id,
        )
    ).all():
        sums[(account_id, bucket)] = int(total)
    for account_id in sorted(set(accounts) | {a for a, _ in sums} | set(cached)):
        acc = accounts.get(account_id)
        pid = acc.platform_id if acc else (cached[account_id].platform_id if account_id in cached else "?")
        if acc is None:
            found.append(
                Discrepancy(pid, "entries", account_id, "entries or balance of an account outside this scope")
            )
            continue
        posted, held = sums.get((account_id, "posted"), 0), sums.get((account_id, "held"), 0)
        row = cached.get(account_id)
        if row is None:
            found.append(Discrepancy(pid, "balance", account_id, "no cached balance row"))
        else:
            if (row.posted, row.held) != (posted, held):
                found.append(
                    Discrepancy(
                        pid,
                        "balance",
                        account_id,
                        f"cached posted={row.posted} held={row.held}, entries posted={posted} held={held}",
                    )
                )
            if row.currency != acc.currency or row.platform_id != acc.platform_id:
                found.append(
                    Discrepancy(pid, "balance", account_id, "balance row in another currency or platform")
                )
        if held < 0:
            found.append(Discrepancy(pid, "held", account_id, f"holds a negative amount ({held})"))
        if acc.no_negative and posted - held < 0:
            found.append(Discrepancy(pid, "no-negative", account_id, f"available {posted - held} < 0"))
        if acc.no_positive and posted > 0:
            found.append(Discrepancy(pid, "no-positive", account_id, f"posted {posted} > 0"))

    unbalanced = select(
        LedgerEntry.platform_id,
        LedgerEntry.transaction_id,
        LedgerEntry.currency,
        func.sum(LedgerEntry.amount),
    ).where(LedgerEntry.bucket == "posted")
    unbalanced = scoped(unbalanced, LedgerEntry.platform_id).group_by(
        LedgerEntry.platform_id, LedgerEntry.transaction_id, LedgerEntry.currency
    )
    for pid, tx_id, currency, total in db.execute(unbalanced.having(func.sum(LedgerEntry.amount) != 0)).all():
        found.append(Discrepancy(pid, "zero-sum", tx_id, f"posted entries sum to {total} {currency}"))

    mismatched = (
        select(LedgerEntry.platform_id, LedgerEntry.id, LedgerEntry.currency, LedgerAccount.currency)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            (LedgerEntry.currency != LedgerAccount.currency)
            | (LedgerEntry.platform_id != LedgerAccount.platform_id)
            | (LedgerEntry.platform_id != LedgerTransaction.platform_id)
            | ~LedgerEntry.bucket.in_(("posted", "held"))
        )
    )
    for pid, entry_id, cur, acc_cur in db.execute(scoped(mismatched, LedgerEntry.platform_id)).all():
        found.append(
            Discrepancy(
                pid, "entry", str(entry_id), f"entry in {cur} on a {acc_cur} account, or across platforms"
            )
        )

    holds = {h.id: h for h in db.scalars(scoped(select(LedgerHold), LedgerHold.platform_id))}
    hold_sums: dict[tuple[str, str, str], int] = {}
    for hold_id, account_id, bucket, total in db.execute(
        scoped(
            select(
                LedgerEntry.hold_id, LedgerEntry.account_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount)
            )
            .where(LedgerEntry.hold_id.is_not(None))
            .group_by(LedgerEntry.hold_id, LedgerEntry.account_id, LedgerEntry.bucket),
            LedgerEntry.platform_id,
        )
    ).all():
        hold_sums[(hold_id, account_id, bucket)] = int(total)
    for (hold_id, account_id, bucket), total in sorted(hold_sums.items()):
        h = holds.get(hold_id)
        if h is None:
            found.append(Discrepancy("?", "hold", hold_id, "entries of an unknown hold"))
        elif bucket == "held" and account_id != h.account_id and total:
            found.append(
                Discrepancy(h.platform_id, "hold", hold_id, f"held entries on another account {account_id}")
            )
    for hold_id, h in holds.items():
        remaining = hold_sums.get((hold_id, h.account_id, "held"), 0)
        captured = -hold_sums.get((hold_id, h.account_id, "posted"), 0)
        if remaining < 0 or captured < 0 or captured + remaining > h.amount:
            found.append(
                Discrepancy(
                    h.platform_id,
                    "hold",
                    hold_id,
                    f"amount {h.amount}, captured {captured}, still held {remaining}",
                )
            )

    reversals = db.scalars(
        scoped(
            select(LedgerTransaction).where(LedgerTransaction.reverses_id.is_not(None)),
            LedgerTransaction.platform_id,
        )
    ).all()
    for rev in reversals:
        assert rev.reverses_id is not None
        mine = sorted(
            (t.debit, t.credit, t.amount.amount, t.amount.currency) for t in _transfers_of(db, rev.id)
        )
        theirs = sorted(
            (t.debit, t.credit, t.amount.amount, t.amount.currency)
            for t in reversed_transfers(_transfers_of(db, rev.reverses_id))
        )
        if mine != theirs:
            found.append(
                Discrepancy(rev.platform_id, "reversal", rev.id, f"does not mirror {rev.reverses_id}")
            )
    return found


# --- privacy (called by the privacy module) ---------------------------------------------------------


def export_data(db: Session, *, platform_id: str, owner_id: str) -> list[dict[str, Any]]:
    """The ledger accounts a user owns and every entry on them, with its transaction's code, rules,
    reason and cause (COMMON-PRIVACY-1). Amounts are integers in minor units."""
    out: list[dict[str, Any]] = []
    for account in accounts_of(db, platform_id=platform_id, owner_id=owner_id):
        entries = db.execute(
            select(LedgerEntry, LedgerTransaction)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerEntry.platform_id == platform_id, LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.id)
        ).tuples()
        bal = balance(db, platform_id=platform_id, account_id=account.id)
        out.append(
            {
                "id": account.id,
                "type": account.type.value,
                "currency": account.currency,
                "frozen": account.frozen,
                "balance": bal.total.amount,
                "held": bal.held.amount,
                "entries": [
                    {
                        "at": tx.created_at.isoformat(),
                        "bucket": entry.bucket,
                        "amount": entry.amount,
                        "currency": entry.currency,
                        "transaction_id": tx.id,
                        "kind": tx.kind,
                        "code": tx.code,
                        "rules": list(tx.rules),
                        "reason": tx.reason,
                        "cause": [tx.object_type, tx.object_id],
                    }
                    for entry, tx in entries
                ],
            }
        )
    return out
