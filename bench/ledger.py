"""Ledger throughput on SQLite: transfers per second through the service (each in its own
transaction: lock, checks, transaction row, two entries, two balance updates, audit entry), next to
a ceiling: the same rows written with raw SQL, one transaction per transfer, on the same engine."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.registry import Context, Measurement, benchmark
from entremise.db import migrate
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.platforms import service as platforms

TRANSFERS = 400


def bench_ledger_transfers(tmpdir: str | Path) -> dict[str, object]:
    url = f"sqlite:///{Path(tmpdir) / f'bench-ledger-{uuid.uuid4().hex[:8]}.sqlite3'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC)
        with sessions() as db, db.begin():
            p = platforms.create_platform(db, slug="bench-ledger", name="Bench", now=now)
            psp = ledger.open_account(db, platform_id=p.id, type=AccountType.PSP_CLEARING, now=now).id
            client = ledger.open_account(
                db, platform_id=p.id, type=AccountType.CLIENT_CREDIT, owner_id="c", now=now
            ).id
            wallet = ledger.open_account(
                db, platform_id=p.id, type=AccountType.PROVIDER_WALLET, owner_id="w", now=now
            ).id
            ledger.post_transaction(
                db,
                platform_id=p.id,
                transfers=[Transfer(psp, client, Money(TRANSFERS * 100))],
                idempotency_key="fund",
                code="payin",
                rules=[],
                cause=("bench", "fund"),
                now=now,
            )

        start = time.perf_counter()
        for i in range(TRANSFERS):
            with sessions() as db, db.begin():
                ledger.post_transaction(
                    db,
                    platform_id=p.id,
                    transfers=[Transfer(client, wallet, Money(100))],
                    idempotency_key=f"t-{i}",
                    code="bench.transfer",
                    rules=["BENCH-1"],
                    cause=("bench", str(i)),
                    now=now,
                )
        service_rate = TRANSFERS / (time.perf_counter() - start)

        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            stamp = now.replace(tzinfo=None).isoformat(sep=" ")
            start = time.perf_counter()
            for i in range(TRANSFERS):
                tx_id = str(uuid.uuid4())
                cur.execute("BEGIN IMMEDIATE")
                cur.execute(
                    "INSERT INTO ledger_transactions (id, platform_id, idempotency_key, request_hash, kind, code,"
                    " rules, reason, object_type, object_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        tx_id,
                        p.id,
                        f"raw-{i}",
                        "0" * 64,
                        "post",
                        "bench.transfer",
                        '["BENCH-1"]',
                        "",
                        "bench",
                        str(i),
                        stamp,
                    ),
                )
                cur.executemany(
                    "INSERT INTO ledger_entries (platform_id, transaction_id, transfer_no, account_id, bucket,"
                    " amount, currency) VALUES (?,?,?,?,?,?,?)",
                    [
                        (p.id, tx_id, 0, wallet, "posted", -100, "EUR"),
                        (p.id, tx_id, 0, client, "posted", 100, "EUR"),
                    ],
                )
                cur.execute(
                    "UPDATE ledger_balances SET posted = posted - 100 WHERE account_id = ?", (wallet,)
                )
                cur.execute(
                    "UPDATE ledger_balances SET posted = posted + 100 WHERE account_id = ?", (client,)
                )
                cur.execute(
                    "INSERT INTO audit_entries (platform_id, at, actor_type, action, object_type, object_id, rules,"
                    " reason, data) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        p.id,
                        stamp,
                        "system",
                        "ledger.post",
                        "ledger_transaction",
                        tx_id,
                        '["BENCH-1"]',
                        "",
                        json.dumps({"code": "bench.transfer"}),
                    ),
                )
                cur.execute("COMMIT")
            ceiling = TRANSFERS / (time.perf_counter() - start)
        finally:
            raw.close()
        with sessions() as db, db.begin():
            problems = ledger.verify(db, platform_id=p.id)
        if problems:
            raise RuntimeError(f"ledger inconsistent after the benchmark: {problems[:3]}")
    finally:
        engine.dispose()
    return {
        "name": "ledger transfers (SQLite, one transaction each)",
        "figure": round(service_rate, 1),
        "unit": "transfers/s",
        "ceiling": round(ceiling, 1),
    }


@benchmark("ledger", "ledger transfers per second through the service on SQLite")
def ledger_transfers(ctx: Context) -> list[Measurement]:
    result = bench_ledger_transfers(ctx.workdir)
    return [
        Measurement(
            "ledger transfers (service, 1 tx each)",
            float(result["figure"]),  # type: ignore[arg-type]
            "transfers/s",
            "same rows, raw SQL",
            float(result["ceiling"]),  # type: ignore[arg-type]
        )
    ]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(bench_ledger_transfers(d))
