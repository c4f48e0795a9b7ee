"""The ledger's SQL: SQLAlchemy Core statements, built once. The posting path's statements are
`Prepared` (compiled once per dialect, run on the DBAPI cursor); the others go through
`Connection.execute` and the engine's compiled cache.

No ORM object of a ledger table is ever loaded, so no identity map can hold a stale balance or
flag; every read is a fresh statement in the caller's transaction. A posting is five statements:

1. `lock`: the balance rows of its accounts, in sorted account id order, `FOR UPDATE OF
   ledger_balances` on PostgreSQL (SQLite has already serialised writers with BEGIN IMMEDIATE),
   joined to the accounts for their flags. What can change about an account (balances, the
   frozen flag mirrored on the balance row) comes from the locked row itself, so it is current
   even when the lock had to wait for another transaction; the flags joined in never change.
2. the transaction row, `INSERT ... ON CONFLICT DO NOTHING`: an idempotency key already taken
   inserts nothing and the caller replays the stored result instead (no savepoint needed);
3. its entries (one executemany); 4. the changed balance rows (one executemany); 5. its audit
   entry (`audit.service.append`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from entremise.db.prepared import Prepared
from entremise.kernel.errors import NotFound
from entremise.kernel.money import Money
from entremise.ledger.domain import AccountState, Balance, Movement, Transfer
from entremise.ledger.models import LedgerAccount, LedgerBalance, LedgerEntry, LedgerHold, LedgerTransaction

ACCOUNTS = cast(Table, LedgerAccount.__table__)
BALANCES = cast(Table, LedgerBalance.__table__)
HOLDS = cast(Table, LedgerHold.__table__)
TXS = cast(Table, LedgerTransaction.__table__)
ENTRIES = cast(Table, LedgerEntry.__table__)


def _all_values(table: Table, *, omit: Sequence[str] = ()) -> dict[str, Any]:
    """Every column as a bindparam of its name: the statement needs no default computed per call."""
    return {c.name: bindparam(c.name) for c in table.c if c.name not in omit}


@functools.lru_cache(maxsize=512)
def _lock_statement(n: int) -> Prepared:
    """Lock `n` balance rows (one statement per number of accounts: `id0`...`id{n-1}`)."""
    return Prepared(
        select(
            BALANCES.c.account_id,
            BALANCES.c.posted,
            BALANCES.c.held,
            BALANCES.c.currency,
            BALANCES.c.frozen,
            ACCOUNTS.c.no_negative,
            ACCOUNTS.c.no_positive,
        )
        .join_from(BALANCES, ACCOUNTS, ACCOUNTS.c.id == BALANCES.c.account_id)
        .where(
            BALANCES.c.platform_id == bindparam("platform_id"),
            BALANCES.c.account_id.in_([bindparam(f"id{i}") for i in range(n)]),
        )
        .order_by(BALANCES.c.account_id)
        .with_for_update(of=BALANCES)
    )


_ACCOUNT = select(ACCOUNTS).where(
    ACCOUNTS.c.platform_id == bindparam("platform_id"), ACCOUNTS.c.id == bindparam("id")
)
_ACCOUNT_BY_KEY = select(ACCOUNTS).where(
    ACCOUNTS.c.platform_id == bindparam("platform_id"), ACCOUNTS.c.key == bindparam("key")
)
_ACCOUNTS_OF = (
    select(ACCOUNTS)
    .where(ACCOUNTS.c.platform_id == bindparam("platform_id"), ACCOUNTS.c.owner_id == bindparam("owner"))
    .order_by(ACCOUNTS.c.key)
)
_BALANCE = select(BALANCES.c.posted, BALANCES.c.held, BALANCES.c.currency).where(
    BALANCES.c.platform_id == bindparam("platform_id"), BALANCES.c.account_id == bindparam("id")
)
_TX_BY_KEY = select(TXS).where(
    TXS.c.platform_id == bindparam("platform_id"), TXS.c.idempotency_key == bindparam("key")
)
_TX_BY_ID = select(TXS).where(TXS.c.platform_id == bindparam("platform_id"), TXS.c.id == bindparam("id"))
_TXS_FOR = (
    select(TXS)
    .where(
        TXS.c.platform_id == bindparam("platform_id"),
        TXS.c.object_type == bindparam("object_type"),
        TXS.c.object_id == bindparam("object_id"),
    )
    .order_by(TXS.c.created_at, TXS.c.id)
)
_REVERSAL_OF = select(TXS.c.id).where(TXS.c.reverses_id == bindparam("id"))
_POSTED_ENTRIES = (
    select(ENTRIES.c.account_id, ENTRIES.c.amount, ENTRIES.c.currency)
    .where(ENTRIES.c.transaction_id == bindparam("tx"), ENTRIES.c.bucket == "posted")
    .order_by(ENTRIES.c.transfer_no, ENTRIES.c.amount)
)
_HOLD = select(HOLDS).where(HOLDS.c.platform_id == bindparam("platform_id"), HOLDS.c.id == bindparam("id"))
_HOLD_STATE = select(
    func.coalesce(func.sum(case((ENTRIES.c.bucket == "held", ENTRIES.c.amount), else_=0)), 0),
    func.coalesce(func.sum(case((ENTRIES.c.bucket == "posted", ENTRIES.c.amount), else_=0)), 0),
    select(func.count())
    .select_from(TXS)
    .where(TXS.c.hold_id == bindparam("hold"), TXS.c.kind == "void")
    .scalar_subquery(),
).where(ENTRIES.c.hold_id == bindparam("hold"), ENTRIES.c.account_id == bindparam("account"))
_SUMS = (
    select(ENTRIES.c.bucket, func.coalesce(func.sum(ENTRIES.c.amount), 0))
    .where(ENTRIES.c.platform_id == bindparam("platform_id"), ENTRIES.c.account_id == bindparam("id"))
    .group_by(ENTRIES.c.bucket)
)

# An idempotency key (or a reversed transaction) already taken inserts nothing, returns no id.
_INSERT_TX_OR_NOTHING = {
    "postgresql": Prepared(
        postgresql.insert(TXS).values(_all_values(TXS)).on_conflict_do_nothing().returning(TXS.c.id)
    ),
    "sqlite": Prepared(
        sqlite.insert(TXS).values(_all_values(TXS)).on_conflict_do_nothing().returning(TXS.c.id)
    ),
}
_INSERT_TX = Prepared(insert(TXS).values(_all_values(TXS)).inline())
_INSERT_HOLD = Prepared(insert(HOLDS).values(_all_values(HOLDS)).inline())
_INSERT_ENTRIES = Prepared(insert(ENTRIES).values(_all_values(ENTRIES, omit=["id"])).inline())
_INSERT_ACCOUNT = insert(ACCOUNTS)
_INSERT_BALANCE = insert(BALANCES)
_UPDATE_BALANCE = Prepared(
    update(BALANCES)
    .where(BALANCES.c.account_id == bindparam("b_account"))
    .values(posted=bindparam("b_posted"), held=bindparam("b_held"), updated_at=bindparam("b_at"))
)
_SET_FROZEN_ACCOUNT = (
    update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("b_account")).values(frozen=bindparam("b_frozen"))
)
_SET_FROZEN_BALANCE = (
    update(BALANCES)
    .where(BALANCES.c.account_id == bindparam("b_account"))
    .values(frozen=bindparam("b_frozen"))
)


# --- reads -------------------------------------------------------------------------------------


def lock(
    conn: Connection, platform_id: str, account_ids: Iterable[str]
) -> tuple[dict[str, AccountState], dict[str, Balance]]:
    """Lock the balance rows (sorted by account id) and read what the checks need, current."""
    ids = sorted(set(account_ids))
    params = {f"id{i}": account_id for i, account_id in enumerate(ids)}
    params["platform_id"] = platform_id
    accounts: dict[str, AccountState] = {}
    balances: dict[str, Balance] = {}
    for account_id, posted, held, currency, frozen, no_negative, no_positive in _lock_statement(len(ids)).all(
        conn, params
    ):
        accounts[account_id] = AccountState(
            account_id, currency, bool(no_negative), bool(no_positive), bool(frozen)
        )
        balances[account_id] = Balance(posted, held)
    missing = [i for i in ids if i not in balances]
    if missing:
        raise NotFound(f"no ledger account {', '.join(missing)}", extra={"account_ids": missing})
    return accounts, balances


def account(conn: Connection, platform_id: str, account_id: str) -> Row[Any]:
    row = conn.execute(_ACCOUNT, {"platform_id": platform_id, "id": account_id}).first()
    if row is None:
        raise NotFound(f"no ledger account {account_id}")
    return row


def account_by_key(conn: Connection, platform_id: str, key: str) -> Row[Any] | None:
    return conn.execute(_ACCOUNT_BY_KEY, {"platform_id": platform_id, "key": key}).first()


def accounts_of(conn: Connection, platform_id: str, owner_id: str) -> list[Row[Any]]:
    return list(conn.execute(_ACCOUNTS_OF, {"platform_id": platform_id, "owner": owner_id}))


def cached_balance(conn: Connection, platform_id: str, account_id: str) -> Row[int, int, str] | None:
    """The balance checkpoint: one primary-key read, whatever the number of entries."""
    return conn.execute(_BALANCE, {"platform_id": platform_id, "id": account_id}).first()


def entry_sums(conn: Connection, platform_id: str, account_id: str) -> dict[str, int]:
    rows = conn.execute(_SUMS, {"platform_id": platform_id, "id": account_id})
    return {bucket: int(total) for bucket, total in rows}


def tx_by_key(conn: Connection, platform_id: str, key: str) -> Row[Any] | None:
    return conn.execute(_TX_BY_KEY, {"platform_id": platform_id, "key": key}).first()


def tx_by_id(conn: Connection, platform_id: str, transaction_id: str) -> Row[Any] | None:
    return conn.execute(_TX_BY_ID, {"platform_id": platform_id, "id": transaction_id}).first()


def txs_for(conn: Connection, platform_id: str, cause: tuple[str, str]) -> list[Row[Any]]:
    params = {"platform_id": platform_id, "object_type": cause[0], "object_id": cause[1]}
    return list(conn.execute(_TXS_FOR, params))


def reversal_of(conn: Connection, transaction_id: str) -> str | None:
    return conn.execute(_REVERSAL_OF, {"id": transaction_id}).scalar()


def transfers_of(conn: Connection, transaction_id: str) -> list[Transfer]:
    """The posted transfers of a transaction, pairing its entries by transfer number."""
    entries = conn.execute(_POSTED_ENTRIES, {"tx": transaction_id}).all()
    return [
        Transfer(
            debit=debit.account_id, credit=credit.account_id, amount=Money(credit.amount, credit.currency)
        )
        for debit, credit in zip(entries[0::2], entries[1::2], strict=True)
    ]


def hold_row(conn: Connection, platform_id: str, hold_id: str) -> Row[Any]:
    row = conn.execute(_HOLD, {"platform_id": platform_id, "id": hold_id}).first()
    if row is None:
        raise NotFound(f"no hold {hold_id}")
    return row


def hold_state(conn: Connection, hold_id: str, account_id: str) -> tuple[int, int, bool]:
    """(remaining, captured, voided) of a hold, from its entries (read after the account lock)."""
    held, posted, voids = conn.execute(_HOLD_STATE, {"hold": hold_id, "account": account_id}).one()
    return int(held), -int(posted), bool(voids)


# --- writes ------------------------------------------------------------------------------------


def insert_account(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(_INSERT_ACCOUNT, dict(row))
    conn.execute(
        _INSERT_BALANCE,
        {
            "account_id": row["id"],
            "platform_id": row["platform_id"],
            "currency": row["currency"],
            "posted": 0,
            "held": 0,
            "frozen": False,
            "updated_at": row["created_at"],
        },
    )


def set_frozen(conn: Connection, account_id: str, frozen: bool) -> None:
    """The account's flag and its mirror on the balance row (the caller holds the row lock)."""
    params = {"b_account": account_id, "b_frozen": frozen}
    conn.execute(_SET_FROZEN_ACCOUNT, params)
    conn.execute(_SET_FROZEN_BALANCE, params)


def insert_hold(conn: Connection, row: Mapping[str, Any]) -> None:
    _INSERT_HOLD.run(conn, row)


def insert_transaction(conn: Connection, row: Mapping[str, Any], *, or_nothing: bool) -> bool:
    """Insert the transaction row; False when `or_nothing` and its key or reversal is taken.

    A hold's transaction is inserted without `or_nothing`: its hold row is already written, and
    must not outlive a transaction that was not; its key was checked after the lock instead.
    """
    if not or_nothing:
        _INSERT_TX.run(conn, row)
        return True
    return _INSERT_TX_OR_NOTHING[conn.dialect.name].scalar(conn, row) is not None


def write_movements(
    conn: Connection,
    *,
    platform_id: str,
    transaction_id: str,
    movements: Sequence[Movement],
    before: Mapping[str, Balance],
    after: Mapping[str, Balance],
    now: datetime,
) -> None:
    """The entries of a transaction, and the balance rows they change (locked by the caller)."""
    _INSERT_ENTRIES.executemany(
        conn,
        [
            {
                "platform_id": platform_id,
                "transaction_id": transaction_id,
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
    changed = [
        {"b_account": account_id, "b_posted": new.posted, "b_held": new.held, "b_at": now}
        for account_id, new in after.items()
        if new != before[account_id]
    ]
    if changed:
        _UPDATE_BALANCE.executemany(conn, changed)
