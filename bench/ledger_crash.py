"""The ledger's crash test, the long run (`entremise ledger crash-test` does the same): random money
operations from several processes on a fresh PostgreSQL database, each process SIGKILLed at random
moments and restarted, then the ledger proved against the reference model. A failed proof makes
the benchmark fail (and `make bench` exit non-zero)."""

from __future__ import annotations

from bench.registry import Context, Measurement, benchmark
from entremise.db.scratch import PostgresUnreachable, scratch_database
from entremise.ledger.crashtest import harness


@benchmark("ledger-crash", "ledger crash test: SIGKILLed processes, then the ledger proved against a model")
def ledger_crash(ctx: Context) -> list[Measurement]:
    try:
        with scratch_database("entremise_crash") as url:
            report = harness.run(
                url,
                processes=ctx.args.crash_processes,
                seconds=ctx.args.crash_seconds,
                seed=ctx.args.crash_seed,
                workdir=ctx.workdir / "crash",
            )
    except PostgresUnreachable as exc:
        ctx.notes.append(f"ledger-crash: {exc}; skipped")
        return []
    if not report.ok:
        raise RuntimeError(report.summary())
    ctx.notes.append(f"ledger-crash: {report.summary()}")
    return []
