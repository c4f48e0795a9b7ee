"""Ledger throughput on SQLite and PostgreSQL: transfers per second through the service, each figure
next to a ceiling measured in the same run on the same database: the same rows written with raw
SQL (the DBAPI driver, no SQLAlchemy), in the same transactions. On PostgreSQL, `pgbench -N` on the
same server gives a second reference.

Three shapes (see docs/benchmarks.md):
- single: one posting of one transfer per database transaction (a payment);
- batch: one posting of 100 transfers per database transaction (a payout run, a split);
- 100 per tx: 100 postings of one transfer in one database transaction (an import).

The machine is shared: service and ceiling run in alternating rounds, so both see the same load.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.registry import Context, Measurement, benchmark
from entremise.db import migrate
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.db.scratch import PostgresUnreachable, scratch_database
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.platforms import service as platforms

PGBENCH = "/usr/bin/pgbench"
BATCH = 100  # transfers in one posting, and postings in one database transaction


@dataclass
class Book:
    """A platform with a funded client, a wallet and `BATCH` payees."""

    url: str
    engine: Any
    sessions: Any
    platform_id: str
    client: str
    wallet: str
    payees: list[str]
    now: datetime
    n: int = 0

    @property
    def postgres(self) -> bool:
        return bool(self.engine.dialect.name == "postgresql")

    def key(self, tag: str) -> str:
        self.n += 1
        return f"{tag}-{self.n}"


def databases(ctx: Context, prefix: str) -> Iterator[tuple[str, str]]:
    """(label, url): a fresh SQLite file, then a fresh PostgreSQL database (dropped once the caller
    moves on) when PostgreSQL is reachable; otherwise a note says it was skipped."""
    yield "SQLite", f"sqlite:///{ctx.workdir / f'{prefix}-{uuid.uuid4().hex[:8]}.sqlite3'}"
    try:
        with scratch_database(f"entremise_{prefix}") as url:
            yield "PostgreSQL", url
    except PostgresUnreachable as exc:
        ctx.notes.append(f"{prefix}: {exc}; skipped the PostgreSQL figures")


def open_book(url: str, payees: int = BATCH) -> Book:
    engine = make_engine(url, pool_size=5)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as db, db.begin():
        p = platforms.create_platform(db, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench", now=now)

        def open_(type_: AccountType, owner: str | None = None, label: str | None = None) -> str:
            return ledger.open_account(
                db, platform_id=p.id, type=type_, owner_id=owner, label=label, now=now
            ).id

        psp = open_(AccountType.PSP_CLEARING)
        client = open_(AccountType.CLIENT_CREDIT, "client")
        wallet = open_(AccountType.PROVIDER_WALLET, "provider")
        payees_ = [open_(AccountType.PROVIDER_WALLET, f"payee-{i}") for i in range(payees)]
        ledger.post_transaction(
            db,
            platform_id=p.id,
            transfers=[Transfer(psp, client, Money(10**14))],
            idempotency_key="fund",
            code="payin",
            rules=[],
            cause=("bench", "fund"),
            now=now,
        )
    return Book(url, engine, sessions, p.id, client, wallet, payees_, now)


def check(book: Book) -> None:
    with book.sessions() as db, db.begin():
        problems = ledger.verify(db, platform_id=book.platform_id)
    if problems:
        raise RuntimeError(f"ledger inconsistent after the benchmark: {problems[:3]}")


# --- through the service -----------------------------------------------------------------------


def post(book: Book, db: Any, transfers: list[Transfer]) -> None:
    key = book.key("svc")
    ledger.post_transaction(
        db,
        platform_id=book.platform_id,
        transfers=transfers,
        idempotency_key=key,
        code="bench.transfer",
        rules=["BENCH-1"],
        cause=("bench", key),
        now=book.now,
    )


class Service:
    """The same three shapes through `ledger.post_transaction`, in the engine's unit of work."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def single(self, rounds: int) -> None:
        b = self.book
        for _ in range(rounds):
            with b.sessions() as db, db.begin():
                post(b, db, [Transfer(b.client, b.wallet, Money(100))])

    def batch(self, rounds: int) -> None:
        b = self.book
        for _ in range(rounds):
            with b.sessions() as db, db.begin():
                post(b, db, [Transfer(b.client, payee, Money(100)) for payee in b.payees])

    def per_tx(self, rounds: int) -> None:
        b = self.book
        for _ in range(rounds):
            with b.sessions() as db, db.begin():
                for _ in range(BATCH):
                    post(b, db, [Transfer(b.client, b.wallet, Money(100))])


# --- the ceiling: the same rows with raw SQL ---------------------------------------------------


class Raw:
    """The rows a posting writes (transaction, two entries per transfer, changed balances, audit
    entry), with the DBAPI driver and hand-written SQL: no checks, no reads, no idempotency."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.conn = book.engine.raw_connection()
        self.cur = self.conn.cursor()
        pg = book.postgres
        mark = "%s" if pg else "?"
        self.stamp: Any = book.now if pg else book.now.replace(tzinfo=None).isoformat(sep=" ")

        def sql(text: str) -> str:
            return text.replace("?", mark)

        self.begin = None if pg else "BEGIN IMMEDIATE"
        self.insert_tx = sql(
            "INSERT INTO ledger_transactions (id, platform_id, idempotency_key, request_hash, kind, code,"
            " rules, reason, object_type, object_id, hold_id, reverses_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        self.insert_entry = sql(
            "INSERT INTO ledger_entries (platform_id, transaction_id, transfer_no, account_id, bucket,"
            " amount, currency, hold_id) VALUES (?,?,?,?,?,?,?,?)"
        )
        self.update_balance = sql(
            "UPDATE ledger_balances SET posted = posted + ?, updated_at = ? WHERE account_id = ?"
        )
        self.insert_audit = sql(
            "INSERT INTO audit_entries (platform_id, at, actor_type, actor_id, action, object_type,"
            " object_id, rules, reason, data) VALUES (?,?,?,?,?,?,?,?,?,?)"
        )

    def close(self) -> None:
        self.conn.close()

    def posting(self, pairs: list[tuple[str, str]], cur: Any = None) -> None:
        b, tx = self.book, str(uuid.uuid4())
        cur = cur or self.cur
        key = b.key("raw")
        tx_row = (tx, b.platform_id, key, "0" * 64, "post", "bench.transfer", '["BENCH-1"]', "", "bench", key)
        cur.execute(self.insert_tx, (*tx_row, None, None, self.stamp))
        entries = []
        deltas: dict[str, int] = {}
        for no, (debit, credit) in enumerate(pairs):
            entries.append((b.platform_id, tx, no, debit, "posted", -100, "EUR", None))
            entries.append((b.platform_id, tx, no, credit, "posted", 100, "EUR", None))
            deltas[debit] = deltas.get(debit, 0) - 100
            deltas[credit] = deltas.get(credit, 0) + 100
        cur.executemany(self.insert_entry, entries)
        cur.executemany(self.update_balance, [(d, self.stamp, a) for a, d in deltas.items()])
        data = {
            "kind": "post",
            "code": "bench.transfer",
            "cause": ["bench", key],
            "idempotency_key": key,
            "transfers": [[d, c, 100, "EUR"] for d, c in pairs],
        }
        audit_row = (b.platform_id, self.stamp, "system", None, "ledger.post", "ledger_transaction", tx)
        cur.execute(self.insert_audit, (*audit_row, '["BENCH-1"]', "", json.dumps(data)))

    def transaction(self, body: Callable[[], None]) -> None:
        if self.begin:
            self.cur.execute(self.begin)
        body()
        if self.begin:
            self.cur.execute("COMMIT")
        else:
            self.conn.commit()

    def single(self, rounds: int) -> None:
        pair = [(self.book.client, self.book.wallet)]
        for _ in range(rounds):
            self.transaction(lambda: self.posting(pair))

    def single_in_unit_of_work(self, rounds: int) -> None:
        """The same rows, on the connection of the engine's unit of work (a session, its BEGIN
        (IMMEDIATE on SQLite) and COMMIT): the part of a posting every transaction pays anyway."""
        pair = [(self.book.client, self.book.wallet)]
        for _ in range(rounds):
            with self.book.sessions() as db, db.begin():
                self.posting(pair, db.connection().connection.cursor())

    def batch(self, rounds: int) -> None:
        pairs = [(self.book.client, payee) for payee in self.book.payees]
        for _ in range(rounds):
            self.transaction(lambda: self.posting(pairs))

    def per_tx(self, rounds: int) -> None:
        pair = [(self.book.client, self.book.wallet)]

        def hundred() -> None:
            for _ in range(BATCH):
                self.posting(pair)

        for _ in range(rounds):
            self.transaction(hundred)


def alternate(
    rounds: int, per_round: int, figure: Callable[[int], None], ceiling: Callable[[int], None]
) -> tuple[float, float]:
    """Seconds spent in each, run in alternating rounds (after one warm-up round each)."""
    figure(1)
    ceiling(1)
    spent = [0.0, 0.0]
    for _ in range(rounds):
        for i, fn in enumerate((figure, ceiling)):
            began = time.perf_counter()
            fn(per_round)
            spent[i] += time.perf_counter() - began
    return spent[0], spent[1]


def pgbench_tps(url: str, seconds: int) -> float:
    """`pgbench -N` (simple updates), one client, on its own `-i` tables in the bench database."""
    subprocess.run([PGBENCH, "-i", "-q", "-s", "1", url], check=True, capture_output=True)
    out = subprocess.run(
        [PGBENCH, "-N", "-c", "1", "-j", "1", "-T", str(seconds), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"tps = ([0-9.]+)", out)
    if not found:
        raise RuntimeError(f"pgbench printed no tps: {out[-300:]}")
    return float(found.group(1))


# (method, label, calls per round, transfers per call)
SHAPES = (
    ("single", "1 transfer per tx", 30, 1),
    ("batch", "1 posting of 100 transfers per tx", 2, BATCH),
    ("per_tx", "100 postings per tx", 1, BATCH),
)


@benchmark("ledger", "ledger transfers per second through the service, SQLite and PostgreSQL")
def ledger_transfers(ctx: Context) -> list[Measurement]:
    rows: list[Measurement] = []
    for label, url in databases(ctx, "bench_ledger"):
        book = open_book(url)
        service, raw = Service(book), Raw(book)
        rates: dict[str, float] = {}
        try:
            for method, shape, per_round, transfers in SHAPES:
                rounds = ctx.args.ledger_rounds if per_round > 1 else max(3, ctx.args.ledger_rounds // 2)
                spent, ceiling = alternate(rounds, per_round, getattr(service, method), getattr(raw, method))
                n = rounds * per_round * transfers
                rates[method] = n / spent
                rows.append(
                    Measurement(
                        f"ledger, {shape} ({label})",
                        n / spent,
                        "transfers/s",
                        "same rows, raw SQL",
                        n / ceiling,
                    )
                )
            spent, reference = alternate(
                ctx.args.ledger_rounds, 30, service.single, raw.single_in_unit_of_work
            )
            n = ctx.args.ledger_rounds * 30
            rows.append(
                Measurement(
                    f"ledger, 1 transfer per tx ({label})",
                    n / spent,
                    "transfers/s",
                    "same rows, raw SQL, in a unit of work",
                    n / reference,
                )
            )
        finally:
            raw.close()
        check(book)
        if book.postgres:
            if shutil.which(PGBENCH):
                rows.append(
                    Measurement(
                        f"ledger, 1 transfer per tx ({label})",
                        rates["single"],
                        "transfers/s",
                        "pgbench -N, 1 client",
                        pgbench_tps(url, ctx.args.pgbench_seconds),
                        ceiling_unit="tx/s",
                    )
                )
            else:
                ctx.notes.append(f"{PGBENCH} not found: no pgbench reference")
        book.engine.dispose()
    return rows
