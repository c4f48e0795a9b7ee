"""SQLite write transactions per second through the engine's unit of work, against raw sqlite3.

The figure: one audit entry per transaction through `entremise.db.engine.transaction` (BEGIN
IMMEDIATE, the ORM, the audit service). References on the same file: raw sqlite3 doing one
BEGIN IMMEDIATE / INSERT / COMMIT per row, and raw sqlite3 `executemany` of every row in a single
transaction (the ceiling of inserts per second).
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime

from bench.registry import Context, Measurement, benchmark

INSERT = (
    "INSERT INTO audit_entries (platform_id, at, actor_type, actor_id, action, object_type, object_id,"
    " rules, reason, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@benchmark("sqlite-writes", "write transactions per second on SQLite (audit entries)")
def sqlite_writes(ctx: Context) -> list[Measurement]:
    from entremise.audit import service as audit
    from entremise.audit.service import Actor
    from entremise.db import migrate
    from entremise.db.engine import make_engine, make_sessionmaker, transaction
    from entremise.platforms import service as platforms

    n = ctx.args.transactions
    path = ctx.workdir / "writes.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with transaction(sessions) as db:
        platform_id = platforms.create_platform(db, slug="bench-writes", name="Bench", now=now).id

    began = time.perf_counter()
    for i in range(n):
        with transaction(sessions) as db:
            audit.record(
                db,
                platform_id=platform_id,
                actor=Actor("system"),
                action="bench.written",
                obj=("bench", str(i)),
                at=now,
                rules=["BENCH"],
                reason="benchmark",
            )
    orm_tps = n / (time.perf_counter() - began)
    engine.dispose()

    row = (platform_id, now.replace(tzinfo=None).isoformat(sep=" "), "system", None, "bench.raw", "bench")
    rows = [(*row, str(i), json.dumps(["BENCH"]), "benchmark", "{}") for i in range(n)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    began = time.perf_counter()
    for r in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(INSERT, r)
        conn.execute("COMMIT")
    raw_tps = n / (time.perf_counter() - began)
    began = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    batch_rps = n / (time.perf_counter() - began)
    conn.close()

    shape = f"{n} rows, WAL, synchronous=NORMAL"
    return [
        Measurement(
            "unit of work: 1 audit entry per tx",
            orm_tps,
            "tx/s",
            "raw sqlite3 executemany, 1 tx",
            batch_rps,
            note=shape,
            ceiling_unit="rows/s",
        ),
        Measurement(
            "raw sqlite3: 1 row per tx",
            raw_tps,
            "tx/s",
            "raw sqlite3 executemany, 1 tx",
            batch_rps,
            note=shape,
            ceiling_unit="rows/s",
        ),
    ]
