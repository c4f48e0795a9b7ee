"""Ledger use cases. Each function runs inside the caller's transaction (`with db.begin(): ...`),
so a posting commits or rolls back together with the state change that caused it.

Concurrency: every posting locks the cached balance rows of the accounts it touches, in sorted
account id order (`SELECT ... FOR UPDATE` on PostgreSQL, where that order prevents deadlocks;
SQLite serializes writers with `BEGIN IMMEDIATE`), and decides on what it read with the lock.
Idempotency: a key is unique per platform; the same key with the same request returns the first
result (`replayed=True`), with another request it is refused (Conflict).

The posting path is SQLAlchemy Core (`entremise.ledger.store`): one statement to lock and read,
then the transaction row, its entries, its balance rows and its audit entry. The key is not looked
up before writing: the transaction row is inserted `ON CONFLICT DO NOTHING`, and only when that
inserts nothing, or when the posting is refused, is the stored result looked up and replayed
(a replay is never refused by a check, as before). A refused call writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, append
from entremise.kernel.errors import AppError, Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import DEFAULT_CURRENCY, Money, is_currency
from entremise.ledger import store
from entremise.ledger.domain import (
    REVERSIBLE,
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
from entremise.ledger.verify import Discrepancy, verify

__all__ = [
    "FREEZE_RULES",
    "AccountView",
    "BalanceView",
    "Discrepancy",
    "HoldView",
    "TransactionView",
    "account_key",
    "accounts_of",
    "balance",
    "capture",
    "derived_balance",
    "find_account",
    "find_transaction",
    "freeze",
    "get_account",
    "get_hold",
    "get_or_open_account",
    "get_transaction",
    "hold",
    "open_account",
    "post_transaction",
    "release",
    "reverse",
    "transactions_for",
    "unfreeze",
    "verify",
    "void",
]

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


def _account_view(row: Row[Any]) -> AccountView:
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


def _tx_view(conn: Connection, row: Row[Any], *, replayed: bool) -> TransactionView:
    return TransactionView(
        id=row.id,
        kind=TxKind(row.kind),
        code=row.code,
        rules=tuple(row.rules),
        reason=row.reason,
        cause=(row.object_type, row.object_id),
        idempotency_key=row.idempotency_key,
        transfers=tuple(store.transfers_of(conn, row.id)),
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
    conn = _writer(db)
    if store.account_by_key(conn, platform_id, key) is not None:
        raise Conflict(f"ledger account {key} exists", extra={"key": key})
    view = AccountView(
        id=new_id(),
        platform_id=platform_id,
        key=key,
        type=type_,
        owner_id=owner_id,
        currency=currency,
        no_negative=neg,
        no_positive=pos,
        frozen=False,
    )
    store.insert_account(
        conn,
        {
            "id": view.id,
            "platform_id": platform_id,
            "key": key,
            "type": type_.value,
            "owner_id": owner_id,
            "currency": currency,
            "no_negative": neg,
            "no_positive": pos,
            "frozen": False,
            "created_at": now,
        },
    )
    append(
        db,
        platform_id=platform_id,
        actor=actor,
        action="ledger.account.opened",
        obj=("ledger_account", view.id),
        at=now,
        data={"key": key, "no_negative": neg, "no_positive": pos},
    )
    return view


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
    row = store.account_by_key(db.connection(), platform_id, key)
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
    return _account_view(store.account(db.connection(), platform_id, account_id))


def accounts_of(db: Session, *, platform_id: str, owner_id: str) -> list[AccountView]:
    return [_account_view(r) for r in store.accounts_of(db.connection(), platform_id, owner_id)]


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
    conn = _writer(db)
    accounts, _balances = store.lock(conn, platform_id, [account_id])
    if accounts[account_id].frozen == frozen:
        raise Conflict(f"account {account_id} is already {'frozen' if frozen else 'not frozen'}")
    store.set_frozen(conn, account_id, frozen)
    append(
        db,
        platform_id=platform_id,
        actor=actor,
        action="ledger.account.frozen" if frozen else "ledger.account.unfrozen",
        obj=("ledger_account", account_id),
        at=now,
        rules=list(rules),
        reason=reason,
    )
    return _account_view(store.account(conn, platform_id, account_id))


# --- balances ----------------------------------------------------------------------------------


def balance(db: Session, *, platform_id: str, account_id: str) -> BalanceView:
    """The cached balance: the account's checkpoint, one row read whatever its number of entries
    (kept equal to the entries in every posting; `verify` proves it)."""
    row = store.cached_balance(db.connection(), platform_id, account_id)
    if row is None:
        raise NotFound(f"no ledger account {account_id}")
    return BalanceView(account_id, Money(row.posted, row.currency), Money(row.held, row.currency))


def derived_balance(db: Session, *, platform_id: str, account_id: str) -> BalanceView:
    """The balance summed from the entries themselves."""
    conn = db.connection()
    account = store.account(conn, platform_id, account_id)
    sums = store.entry_sums(conn, platform_id, account_id)
    return BalanceView(
        account_id,
        Money(sums.get("posted", 0), account.currency),
        Money(sums.get("held", 0), account.currency),
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
    conn = _writer(db)
    movements = transfer_movements(transfers)
    try:
        accounts, before = store.lock(
            conn, platform_id, {t.debit for t in transfers} | {t.credit for t in transfers}
        )
        raise_if(check_currencies(transfers, accounts))
        after = apply_movements(accounts, before, movements)
    except AppError as refusal:
        return _replay_or(conn, platform_id, idempotency_key, digest, refusal)
    return _commit(
        db,
        conn,
        _Posting(platform_id, TxKind.POST, idempotency_key, digest, code, rules, reason, cause, now, actor),
        before=before,
        after=after,
        movements=movements,
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
    conn = _writer(db)
    try:
        original = store.tx_by_id(conn, platform_id, transaction_id)
        if original is None:
            raise NotFound(f"no ledger transaction {transaction_id}")
        if original.kind not in REVERSIBLE:
            raise Conflict(
                f"a {original.kind} transaction cannot be reversed"
                + (": release or void the hold instead" if original.hold_id else "")
            )
        transfers = reversed_transfers(store.transfers_of(conn, original.id))
        accounts, before = store.lock(
            conn, platform_id, {t.debit for t in transfers} | {t.credit for t in transfers}
        )
        already = store.reversal_of(conn, original.id)
        if already is not None:
            raise Conflict(
                f"transaction {original.id} is already reversed by {already}", extra={"reversal_id": already}
            )
        movements = transfer_movements(transfers)
        after = apply_movements(accounts, before, movements)
        cause = (original.object_type, original.object_id)
    except AppError as refusal:
        return _replay_or(conn, platform_id, idempotency_key, digest, refusal)
    return _commit(
        db,
        conn,
        _Posting(
            platform_id, TxKind.REVERSAL, idempotency_key, digest, code, rules, reason, cause, now, actor
        ),
        before=before,
        after=after,
        movements=movements,
        transfers=transfers,
        reverses_id=original.id,
    )


def get_transaction(db: Session, *, platform_id: str, transaction_id: str) -> TransactionView:
    conn = db.connection()
    row = store.tx_by_id(conn, platform_id, transaction_id)
    if row is None:
        raise NotFound(f"no ledger transaction {transaction_id}")
    return _tx_view(conn, row, replayed=False)


def find_transaction(db: Session, *, platform_id: str, idempotency_key: str) -> TransactionView | None:
    """The transaction posted with this idempotency key, if any: how a caller whose answer was lost
    (a crash, a timeout) learns whether its posting committed, without posting anything."""
    conn = db.connection()
    row = store.tx_by_key(conn, platform_id, idempotency_key)
    return None if row is None else _tx_view(conn, row, replayed=False)


def transactions_for(db: Session, *, platform_id: str, cause: tuple[str, str]) -> list[TransactionView]:
    """Every ledger transaction caused by one object (a booking, an order, an invoice...)."""
    conn = db.connection()
    return [_tx_view(conn, r, replayed=False) for r in store.txs_for(conn, platform_id, cause)]


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
    conn = _writer(db)
    try:
        accounts, before = store.lock(conn, platform_id, [account_id])
    except NotFound as refusal:
        return _replayed_hold(
            conn, platform_id, _replay_or(conn, platform_id, idempotency_key, digest, refusal)
        )
    # The hold row is written before its transaction row, so the key is looked up first (after
    # the lock: a concurrent retry of the same hold locks the same account, hence waited for us).
    done = _replay(conn, platform_id, idempotency_key, digest)
    if done is not None:
        return _replayed_hold(conn, platform_id, done)
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
    movements = [Movement(account_id, "held", amount.amount, amount.currency, None, hold_id)]
    after = apply_movements(accounts, before, movements)
    store.insert_hold(
        conn,
        {
            "id": hold_id,
            "platform_id": platform_id,
            "account_id": account_id,
            "currency": amount.currency,
            "amount": amount.amount,
            "object_type": cause[0],
            "object_id": cause[1],
            "created_at": now,
        },
    )
    _commit(
        db,
        conn,
        _Posting(platform_id, TxKind.HOLD, idempotency_key, digest, code, rules, reason, cause, now, actor),
        before=before,
        after=after,
        movements=movements,
        transfers=[],
        hold_id=hold_id,
    )
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
    conn = _writer(db)
    try:
        held = store.hold_row(conn, platform_id, hold_id)
        transfers = [Transfer(debit=held.account_id, credit=a, amount=m) for a, m in pairs]
        raise_if(check_transfers(transfers, "to"))
        accounts, before = store.lock(conn, platform_id, {held.account_id} | {a for a, _ in pairs})
        raise_if(check_currencies(transfers, accounts, "to"))
        remaining, _captured, _voided = store.hold_state(conn, hold_id, held.account_id)
        total = sum(t.amount.amount for t in transfers)
        if remaining == 0:
            raise Conflict(f"hold {hold_id} is closed")
        if total > remaining:
            raise Conflict(
                f"cannot capture {Money(total, held.currency)}: only {Money(remaining, held.currency)} is held",
                extra={"hold_id": hold_id, "remaining": remaining},
            )
        cause = (held.object_type, held.object_id)
        release_too = remaining - total if final else 0
        movements = [
            Movement(held.account_id, "held", -(total + release_too), held.currency, None, hold_id),
            *transfer_movements(transfers, hold_id),
        ]
        after = apply_movements(accounts, before, movements)
    except AppError as refusal:
        return _replay_or(conn, platform_id, idempotency_key, digest, refusal)
    return _commit(
        db,
        conn,
        _Posting(
            platform_id, TxKind.CAPTURE, idempotency_key, digest, code, rules, reason, cause, now, actor
        ),
        before=before,
        after=after,
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
    conn = _writer(db)
    try:
        held = store.hold_row(conn, platform_id, hold_id)
        if amount is not None and amount.currency != held.currency:
            raise InvalidInput([FieldError("amount.currency", f"the hold is in {held.currency}")])
        accounts, before = store.lock(conn, platform_id, [held.account_id])
        remaining, captured, _voided = store.hold_state(conn, hold_id, held.account_id)
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
        movements = [Movement(held.account_id, "held", -value, held.currency, None, hold_id)]
        after = apply_movements(accounts, before, movements)
        cause = (held.object_type, held.object_id)
    except AppError as refusal:
        return _replay_or(conn, platform_id, key, digest, refusal)
    return _commit(
        db,
        conn,
        _Posting(platform_id, kind, key, digest, code, rules, reason, cause, now, actor),
        before=before,
        after=after,
        movements=movements,
        transfers=[],
        hold_id=hold_id,
    )


def get_hold(db: Session, *, platform_id: str, hold_id: str) -> HoldView:
    return _hold_view(db.connection(), platform_id, hold_id, replayed=False)


def _hold_view(conn: Connection, platform_id: str, hold_id: str, *, replayed: bool) -> HoldView:
    held = store.hold_row(conn, platform_id, hold_id)
    remaining, captured, voided = store.hold_state(conn, held.id, held.account_id)
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


def _replayed_hold(conn: Connection, platform_id: str, done: TransactionView) -> HoldView:
    """For a hold, a retry returns the hold as it is now."""
    assert done.hold_id is not None  # the same request digest: a hold
    return _hold_view(conn, platform_id, done.hold_id, replayed=True)


# --- the shared posting path -------------------------------------------------------------------


@dataclass(frozen=True)
class _Posting:
    """What every ledger transaction row records."""

    platform_id: str
    kind: TxKind
    key: str
    digest: str
    code: str
    rules: Sequence[str]
    reason: str
    cause: tuple[str, str]
    now: datetime
    actor: Actor | None


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


def _writer(db: Session) -> Connection:
    """The connection of the caller's transaction, after writing what the caller's ORM objects
    still hold (as the ORM's autoflush did: our rows may reference a row they add)."""
    db.flush()
    return db.connection()


def _replay(conn: Connection, platform_id: str, key: str, digest: str) -> TransactionView | None:
    """The stored result of an earlier call with this key, None if the key is unused; a Conflict
    if the key was used for a different request."""
    row = store.tx_by_key(conn, platform_id, key)
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different request",
            extra={"transaction_id": row.id},
        )
    return _tx_view(conn, row, replayed=True)


def _replay_or(
    conn: Connection, platform_id: str, key: str, digest: str, refusal: AppError
) -> TransactionView:
    """A retry of a call that already succeeded returns its result, even when a check would now
    refuse it (the money moved since, the hold closed...); otherwise the refusal stands."""
    done = _replay(conn, platform_id, key, digest)
    if done is None:
        raise refusal
    return done


def _commit(
    db: Session,
    conn: Connection,
    p: _Posting,
    *,
    before: Mapping[str, Balance],
    after: Mapping[str, Balance],
    movements: Sequence[Movement],
    transfers: Sequence[Transfer],
    hold_id: str | None = None,
    reverses_id: str | None = None,
) -> TransactionView:
    """Write the transaction row, its entries, its balance rows and its audit entry.

    The caller has locked the balance rows and computed `after` from them (the checks passed).
    A key already taken (by an earlier call, or by a concurrent one that committed while we
    waited) inserts nothing: the stored result is replayed, or the call refused as a Conflict.
    """
    tx_id = new_id()
    row = {
        "id": tx_id,
        "platform_id": p.platform_id,
        "idempotency_key": p.key,
        "request_hash": p.digest,
        "kind": p.kind.value,
        "code": p.code,
        "rules": list(p.rules),
        "reason": p.reason,
        "object_type": p.cause[0],
        "object_id": p.cause[1],
        "hold_id": hold_id,
        "reverses_id": reverses_id,
        "created_at": p.now,
    }
    if p.kind is TxKind.HOLD:
        try:
            store.insert_transaction(conn, row, or_nothing=False)
        except IntegrityError:
            # only a concurrent call with the same key and another request (on other accounts,
            # so not serialised by our lock) can get here; PostgreSQL has aborted the transaction
            raise Conflict(f"idempotency key {p.key!r} was already used for a different request") from None
    elif not store.insert_transaction(conn, row, or_nothing=True):
        done = _replay(conn, p.platform_id, p.key, p.digest)
        if done is not None:
            return done
        if reverses_id is None:  # the key is free and nothing else is unique: cannot happen
            raise RuntimeError(f"ledger transaction {tx_id} conflicted on neither its key nor a reversal")
        raise Conflict(f"transaction {reverses_id} is already reversed")
    store.write_movements(
        conn,
        platform_id=p.platform_id,
        transaction_id=tx_id,
        movements=movements,
        before=before,
        after=after,
        now=p.now,
    )
    data: dict[str, Any] = {
        "kind": p.kind.value,
        "code": p.code,
        "cause": list(p.cause),
        "idempotency_key": p.key,
        "transfers": transfers_payload(transfers),
    }
    if hold_id:
        data["hold_id"] = hold_id
    if reverses_id:
        data["reverses_id"] = reverses_id
    append(
        conn,
        platform_id=p.platform_id,
        actor=p.actor,
        action=f"ledger.{p.kind.value}",
        obj=("ledger_transaction", tx_id),
        at=p.now,
        rules=list(p.rules),
        reason=p.reason,
        data=data,
    )
    return TransactionView(
        id=tx_id,
        kind=p.kind,
        code=p.code,
        rules=tuple(p.rules),
        reason=p.reason,
        cause=(p.cause[0], p.cause[1]),
        idempotency_key=p.key,
        transfers=tuple(transfers),
        hold_id=hold_id,
        reverses_id=reverses_id,
        created_at=p.now,
    )


# --- privacy (called by the privacy module) ---------------------------------------------------------


def export_data(db: Session, *, platform_id: str, owner_id: str) -> list[dict[str, Any]]:
    """The ledger accounts a user owns and every entry on them, with its transaction's code, rules,
    reason and cause (COMMON-PRIVACY-1). Amounts are integers in minor units."""
    from sqlalchemy import select

    from entremise.ledger.models import LedgerEntry, LedgerTransaction

    out: list[dict[str, Any]] = []
    for account in accounts_of(db, platform_id=platform_id, owner_id=owner_id):
        entries = db.execute(
            select(LedgerEntry, LedgerTransaction)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerEntry.platform_id == platform_id, LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.id)
        ).all()
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


# --- entries of accounts (movement histories: the wallets module) -------------------------------------


@dataclass(frozen=True)
class EntryView:
    """One entry on an account, with what its transaction says about it."""

    id: int
    account_id: str
    bucket: str
    amount: Money
    transaction_id: str
    kind: str
    code: str
    rules: tuple[str, ...]
    reason: str
    cause: tuple[str, str]
    at: datetime


def entries_page(
    db: Session, *, platform_id: str, account_ids: Sequence[str], before_id: int | None, limit: int
) -> list[EntryView]:
    """The entries of some accounts, newest first, those with an id below `before_id` (a cursor)."""
    from sqlalchemy import select

    from entremise.ledger.models import LedgerEntry, LedgerTransaction

    if not account_ids:
        return []
    q = (
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.platform_id == platform_id, LedgerEntry.account_id.in_(list(account_ids)))
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        q = q.where(LedgerEntry.id < before_id)
    return [
        EntryView(
            id=e.id,
            account_id=e.account_id,
            bucket=e.bucket,
            amount=Money(e.amount, e.currency),
            transaction_id=tx.id,
            kind=tx.kind,
            code=tx.code,
            rules=tuple(tx.rules),
            reason=tx.reason,
            cause=(tx.object_type, tx.object_id),
            at=tx.created_at,
        )
        for e, tx in db.execute(q).all()
    ]
