"""Balance reads on an account with 1,000,000 entries, on SQLite and PostgreSQL.

The account is built quickly with set-based SQL: 10,000 posted transactions of 100 one-cent
transfers each, from 100 counterpart accounts to the account (2,000,000 entries in all, one audit
entry per transaction), written by `INSERT ... SELECT` over a generated series; the balance rows
(the checkpoints) are then set from the sums of the entries, 20 more postings go through the
service on top, and `verify` proves every checkpoint equals the sum of its entries.

Then: p50 and p99 of `ledger.balance()` (the checkpoint: one primary-key read) in an open
transaction, next to the same balance summed from the entries (`ledger.derived_balance()`), against
the 5 ms target, and next to `SELECT 1` on the same connection called in turns with it (the floor
of any call on this machine at that moment); and the same read in its own unit of work (session,
BEGIN, read, COMMIT), as an API request does it.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

from sqlalchemy import bindparam, text

from bench.ledger import Book, check, databases, open_book, post
from bench.registry import Context, Measurement, benchmark
from entremise.db.base import UTCDateTime
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer

PER_TX = 100  # transfers per bulk transaction
READS = 2000
TARGET_MS = 5.0


def _series(dialect: str, n: int) -> str:
    """A relation g(n) of the integers 0..n-1."""
    if dialect == "postgresql":
        return f"generate_series(0, {n - 1}) AS g(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {n - 1}) SELECT n FROM s) AS g"


def build(book: Book, entries: int) -> tuple[str, float]:
    """Give one new account `entries` posted entries; return its id and the seconds it took."""
    with book.sessions() as db, db.begin():
        target = ledger.open_account(
            db, platform_id=book.platform_id, type=AccountType.PLATFORM_FEES, label="busy", now=book.now
        ).id
        sources = [
            ledger.open_account(
                db,
                platform_id=book.platform_id,
                type=AccountType.PSP_CLEARING,
                label=f"src-{k}",
                now=book.now,
            ).id
            for k in range(PER_TX)
        ]
    txs = entries // PER_TX
    prefix = f"bulk-{uuid.uuid4().hex[:8]}-"
    began = time.perf_counter()
    with book.engine.begin() as conn:
        dialect = conn.dialect.name
        conn.execute(text("CREATE TEMP TABLE bench_sources (k INTEGER PRIMARY KEY, account_id VARCHAR(36))"))
        conn.execute(
            text("INSERT INTO bench_sources (k, account_id) VALUES (:k, :a)"),
            [{"k": k, "a": a} for k, a in enumerate(sources)],
        )
        params = {"p": book.platform_id, "prefix": prefix, "now": book.now, "target": target}
        now = bindparam("now", type_=UTCDateTime())
        if dialect == "sqlite":  # the indexes of 2,000,000 rows do not fit SQLite's default page cache
            conn.execute(text("PRAGMA cache_size = -262144"))
        # ids of one width, so that they sort as they are numbered (index pages fill in order)
        tx_id = "CAST(:prefix AS VARCHAR(20)) || CAST(g.n + 10000000 AS VARCHAR(12))"
        conn.execute(
            text(
                "INSERT INTO ledger_transactions (id, platform_id, idempotency_key, request_hash, kind, code,"
                " rules, reason, object_type, object_id, hold_id, reverses_id, created_at)"
                f" SELECT {tx_id}, :p, {tx_id}, '{'0' * 64}', 'post', 'bench.bulk', '[\"BENCH-1\"]', '',"
                f" 'bench', {tx_id}, NULL, NULL, :now FROM {_series(dialect, txs)}"
            ).bindparams(now),
            params,
        )
        entry_tx = f"CAST(:prefix AS VARCHAR(20)) || CAST(g.n / {PER_TX} + 10000000 AS VARCHAR(12))"
        for side, account, amount in (("debit", "s.account_id", -1), ("credit", ":target", 1)):
            join = f" JOIN bench_sources s ON s.k = g.n % {PER_TX}" if side == "debit" else ""
            conn.execute(
                text(
                    "INSERT INTO ledger_entries (platform_id, transaction_id, transfer_no, account_id, bucket,"
                    " amount, currency, hold_id)"
                    f" SELECT :p, {entry_tx}, g.n % {PER_TX}, {account}, 'posted', {amount}, 'EUR', NULL"
                    f" FROM {_series(dialect, txs * PER_TX)}{join}"
                ),
                params,
            )
        conn.execute(
            text(
                "INSERT INTO audit_entries (platform_id, at, actor_type, actor_id, action, object_type,"
                " object_id, rules, reason, data)"
                f" SELECT :p, :now, 'system', NULL, 'ledger.post', 'ledger_transaction', {tx_id},"
                f" '[\"BENCH-1\"]', '', '{{\"code\": \"bench.bulk\"}}' FROM {_series(dialect, txs)}"
            ).bindparams(now),
            params,
        )
        # the checkpoints, from the entries
        conn.execute(
            text(
                "UPDATE ledger_balances SET updated_at = :now, posted = (SELECT COALESCE(SUM(e.amount), 0)"
                " FROM ledger_entries e WHERE e.account_id = ledger_balances.account_id"
                " AND e.bucket = 'posted') WHERE platform_id = :p"
            ).bindparams(now),
            params,
        )
        conn.execute(text("DROP TABLE bench_sources"))
        if dialect == "sqlite":
            conn.execute(text("PRAGMA cache_size = -2000"))  # back to the default
        if dialect == "postgresql":
            conn.execute(text("ANALYZE ledger_entries"))
    for i in range(20):  # and the posting path keeps the checkpoint on top
        with book.sessions() as db, db.begin():
            post(book, db, [Transfer(sources[i % PER_TX], target, Money(1))])
    return target, time.perf_counter() - began


def latencies_ms(fn: Callable[[], None], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def alternating_ms(
    fn: Callable[[], object], floor: Callable[[], object], n: int
) -> tuple[list[float], list[float]]:
    """Latencies of `fn` and of `floor`, called in turns (after a warm-up), so that both meet the
    same load: on a shared machine the tail of any call is the scheduler's."""
    for _ in range(50):
        fn()
        floor()
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for out, call in ((a, fn), (b, floor)):
            began = time.perf_counter()
            call()
            out.append((time.perf_counter() - began) * 1000)
    return a, b


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


@benchmark("ledger-balance", "balance read latency on an account with 1,000,000 entries")
def ledger_balance(ctx: Context) -> list[Measurement]:
    rows: list[Measurement] = []
    for label, url in databases(ctx, "bench_balance"):
        rows += _measure(ctx, label, url)
    return rows


def _measure(ctx: Context, label: str, url: str) -> list[Measurement]:
    entries = ctx.args.ledger_entries
    book = open_book(url, payees=0)
    try:
        target, built = build(book, entries)
        began = time.perf_counter()
        check(book)
        verified = time.perf_counter() - began

        def unit_of_work() -> None:
            with book.sessions() as db, db.begin():
                ledger.balance(db, platform_id=book.platform_id, account_id=target)

        with book.sessions() as db, db.begin():
            cached = ledger.balance(db, platform_id=book.platform_id, account_id=target)
            assert cached == ledger.derived_balance(db, platform_id=book.platform_id, account_id=target)
            conn = db.connection()
            reads, floor = alternating_ms(
                lambda: ledger.balance(db, platform_id=book.platform_id, account_id=target),
                lambda: conn.exec_driver_sql("SELECT 1").scalar(),
                READS,
            )
            sums = latencies_ms(
                lambda: ledger.derived_balance(db, platform_id=book.platform_id, account_id=target), 5
            )
        own = latencies_ms(unit_of_work, READS // 2)
    finally:
        book.engine.dispose()
    shape = f"{entries:,} entries"
    ctx.notes.append(
        f"ledger-balance ({label}): built {entries:,} entries on one account ({entries * 2:,} rows"
        f" in all) in {built:.1f} s with INSERT ... SELECT; verify proved every checkpoint equals"
        f" its entries in {verified:.1f} s; balance {cached.total}"
    )
    return [
        Measurement(
            f"balance() p50, {shape} ({label})",
            statistics.median(reads),
            "ms",
            "sum of the entries, p50",
            statistics.median(sums),
            higher_is_better=False,
        ),
        Measurement(
            f"balance() p99, {shape} ({label})", p99(reads), "ms", "target", TARGET_MS, higher_is_better=False
        ),
        Measurement(
            f"balance() p99, {shape} ({label})",
            p99(reads),
            "ms",
            "SELECT 1 on the same connection, p99",
            p99(floor),
            higher_is_better=False,
        ),
        Measurement(
            f"balance() in its own transaction p50, {shape} ({label})",
            statistics.median(own),
            "ms",
            "target",
            TARGET_MS,
            higher_is_better=False,
        ),
        Measurement(
            f"balance() in its own transaction p99, {shape} ({label})",
            p99(own),
            "ms",
            "target",
            TARGET_MS,
            higher_is_better=False,
        ),
    ]
