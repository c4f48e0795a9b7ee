"""`python -m bench [--only NAME ...]`: run the benchmarks and print each figure next to its ceiling.

Never fails on a timing: the exit status is 0 unless a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import traceback
from pathlib import Path

# importing a benchmark module registers it
from bench import http, ledger, ledger_balance, ledger_crash, metering, sqlite_writes  # noqa: F401
from bench.registry import BENCHMARKS, Context, Measurement


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests per target (2000)")
    parser.add_argument("--threads", type=int, default=8, help="HTTP client threads (8)")
    parser.add_argument("--transactions", type=int, default=2000, help="write transactions (2000)")
    parser.add_argument(
        "--database-url", default=None, help="database of the HTTP benchmark (default: a fresh SQLite file)"
    )
    parser.add_argument("--ledger-rounds", type=int, default=10, help="alternating rounds of the ledger (10)")
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="duration of pgbench -N (10)")
    parser.add_argument(
        "--ledger-entries", type=int, default=1_000_000, help="entries of the balance-read account (1000000)"
    )
    parser.add_argument("--crash-processes", type=int, default=4, help="processes of the crash test (4)")
    parser.add_argument("--crash-seconds", type=int, default=60, help="duration of the crash test (60)")
    parser.add_argument("--crash-seed", type=int, default=1, help="seed of the crash test (1)")
    return parser.parse_args(argv)


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def render(rows: list[Measurement]) -> str:
    table = [("figure", "value", "ceiling / reference", "value", "ratio", "")]
    for m in rows:
        ratio = m.ratio
        table.append(
            (
                m.figure,
                f"{_fmt(m.value)} {m.unit}",
                m.ceiling,
                f"{_fmt(m.ceiling_value)} {m.ceiling_unit or m.unit}",
                "n/a" if ratio is None or ratio != ratio else f"{ratio:.2f}",
                "(higher is better)" if m.higher_is_better else "(lower is better)",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        for b in BENCHMARKS.values():
            print(f"{b.name}\t{b.description}")
        return 0
    names = args.only or list(BENCHMARKS)
    print(
        f"entremise benchmarks on Python {platform.python_version()}, {platform.machine()}, {platform.system()}"
    )
    rows: list[Measurement] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="entremise-bench-") as tmp:
        ctx = Context(args=args, workdir=Path(tmp))
        for name in names:
            bench = BENCHMARKS[name]
            print(f"running {name}: {bench.description} ...", flush=True)
            try:
                rows += bench.fn(ctx)
            except Exception:
                failed.append(name)
                traceback.print_exc()
        print()
        print(render(rows))
        notes = ctx.notes + [f"{m.figure}: {m.note}" for m in rows if m.note]
    if notes:
        print()
        print("\n".join(f"- {n}" for n in notes))
    if failed:
        print(f"\nbenchmarks that could not run: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
