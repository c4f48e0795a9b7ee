"""The crash test's workers, supervisor and checker.

A worker process runs the operation stream of its process number: operation `i` is planned from a
generator seeded with (seed, process, i) and from the model of what committed before it, and
carries the idempotency key `crash-<seed>-p<process>-<i>`. It appends each answer to its journal
(one line, one `write`) and applies committed ones to its model. Restarted after a SIGKILL, it
rebuilds its model from the journal, retries its last committed operations with their keys (each
must come back as a replay of the same transaction or hold), then the operation it was killed in
(committed or not: its key decides), and goes on.

The supervisor opens the accounts, starts the workers (each life a new process, forked by a
zygote that has imported the code once), kills each with SIGKILL at a random moment after it has
made progress, restarts it, and so on until the time is up; then it asks them to stop and checks
the ledger against the model (see `check`).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from entremise.db.engine import make_engine, make_sessionmaker
from entremise.kernel.errors import AppError
from entremise.ledger import service as ledger
from entremise.ledger.crashtest.model import Model
from entremise.ledger.crashtest.operations import OPERATIONS, World, account_specs, plan
from entremise.ledger.models import LedgerEntry, LedgerTransaction

# modules whose import registers operation kinds; another module adds its own with --plugin
DEFAULT_PLUGINS = ("entremise.ledger.crashtest.operations",)
REWIND = 3  # committed operations a restarted worker retries before going on
EXIT_MISMATCH = 3  # a worker saw the ledger answer otherwise than the model
STARTUP_SECONDS = 120
LIFE_SECONDS = 1.0  # a worker is killed at a random moment this long at most after its first new operation


def load_plugins(plugins: Sequence[str] = ()) -> None:
    for name in (*DEFAULT_PLUGINS, *plugins):
        importlib.import_module(name)


def op_key(seed: int, process: int, op: int) -> str:
    return f"crash-{seed}-p{process}-{op}"


def op_rng(seed: int, process: int, op: int) -> random.Random:
    return random.Random(f"{seed}:{process}:{op}")


# --- journals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    op: int
    kind: str
    params: dict[str, Any]
    outcome: str  # "ok" or the ledger's error class name
    id: str | None  # the transaction or hold it made
    replayed: bool


def read_journal(path: Path) -> tuple[list[Line], int | None, int]:
    """(one line per operation, in order; where the worker stopped, if it did; retried replays).

    A line cut short by a SIGKILL is ignored: its operation is retried with its key."""
    lines: dict[int, Line] = {}
    stopped: int | None = None
    retried = 0
    if path.exists():
        for raw in path.read_text().splitlines():
            try:
                item = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if "stopped" in item:
                stopped = item["stopped"]
            elif "retried" in item:
                retried += 1
            elif "mismatch" in item:
                continue
            elif item["op"] not in lines or item["outcome"] == "ok":
                lines[item["op"]] = Line(**item)
    ordered = [lines[i] for i in range(len(lines))]
    return ordered, stopped, retried


def _write(fd: int, item: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(item, sort_keys=True) + "\n").encode())


def rebuild(seed: int, process: int, world: World, lines: Sequence[Line]) -> Model:
    """The model after the journaled operations, planning each again (it must plan the same)."""
    model = world.model()
    for line in lines:
        kind, params = plan(model, op_rng(seed, process, line.op))
        if (kind.name, params) != (line.kind, line.params):
            raise RuntimeError(f"operation {line.op} planned {kind.name} {params}, journal says {line}")
        if line.outcome == "ok":
            assert line.id is not None
            kind.apply(model, line.op, params, line.id)
    return model


# --- a worker ----------------------------------------------------------------------------------


def worker(
    url: str, platform_id: str, process: int, seed: int, journal: str, stop: str, plugins: Sequence[str]
) -> None:
    """The entry point of a worker process (see the module docstring)."""
    load_plugins(plugins)
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        world = World.load(db, platform_id, process)
    lines, _stopped, _retried = read_journal(Path(journal))
    model = rebuild(seed, process, world, lines)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for line in [x for x in lines if x.outcome == "ok"][-REWIND:]:
        with sessions() as db, db.begin():
            found, replayed = OPERATIONS[line.kind].run(
                db, world, model, line.params, op_key(seed, process, line.op), datetime.now(UTC)
            )
        if not replayed or found != line.id:
            _write(fd, {"mismatch": line.op, "got": found, "replayed": replayed})
            sys.exit(EXIT_MISMATCH)
        _write(fd, {"retried": line.op})
    op = len(lines)
    while True:  # the first operation of a restarted worker is the one it was killed in: retried
        kind, params = plan(model, op_rng(seed, process, op))
        expected = kind.predict(model, params)
        result: str | None = None
        replayed = False
        try:
            with sessions() as db, db.begin():
                result, replayed = kind.run(
                    db, world, model, params, op_key(seed, process, op), datetime.now(UTC)
                )
            outcome = "ok"
        except AppError as exc:
            outcome = type(exc).__name__
        item = {
            "op": op,
            "kind": kind.name,
            "params": params,
            "outcome": outcome,
            "id": result,
            "replayed": replayed,
        }
        if outcome != (expected or "ok"):
            _write(fd, {"mismatch": op, "expected": expected or "ok", **item})
            sys.exit(EXIT_MISMATCH)
        _write(fd, item)
        if result is not None:
            kind.apply(model, op, params, result)
        op += 1
        if os.path.exists(stop):
            break
    _write(fd, {"stopped": op})
    os.close(fd)
    engine.dispose()


# --- the supervisor ----------------------------------------------------------------------------


@dataclass
class Report:
    processes: int
    seconds: float
    seed: int
    platform_slug: str = ""
    operations: int = 0
    committed: int = 0
    refused: int = 0
    kills: int = 0
    replays: int = 0  # operations that were in flight at a kill and came back as replays
    retried: int = 0  # committed operations retried after a restart, each replayed
    by_kind: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        head = (
            f"crash test, seed {self.seed}: {self.processes} processes for {self.seconds:.0f} s,"
            f" {self.kills} SIGKILLs and restarts; {self.operations} operations ({kinds}):"
            f" {self.committed} committed, {self.refused} refused as the model predicted;"
            f" {self.replays} in flight at a kill and found committed, {self.retried} committed ones"
            f" retried after a restart and replayed"
        )
        if self.ok:
            return (
                head + "; `entremise ledger verify` exits 0, every transaction sums to zero, every committed"
                " operation is in the ledger exactly once with one audit entry, nothing else is, and every"
                " balance and hold equals the model"
            )
        return head + "\nPROBLEMS:\n" + "\n".join(f"- {p}" for p in self.problems)


@dataclass(frozen=True)
class Setup:
    """A platform of its own, its accounts opened, and the workers (not started) of a crash test."""

    url: str
    platform_id: str
    slug: str
    seed: int
    workers: list[_Worker]

    @property
    def journals(self) -> list[Path]:
        return [w.journal for w in self.workers]


def prepare(url: str, *, processes: int, seed: int, workdir: Path, plugins: Sequence[str] = ()) -> Setup:
    """Migrate `url` if needed, create the test's platform and open every process's accounts."""
    from entremise.db import migrate  # the supervisor's imports: workers start without them
    from entremise.platforms import service as platforms

    load_plugins(plugins)
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as db, db.begin():
        platform = platforms.create_platform(
            db, slug=f"crash-{seed}-{uuid.uuid4().hex[:8]}", name="Crash test", now=now
        )
        for p in range(processes):
            World.open(db, platform.id, p, now)
    engine.dispose()
    workdir.mkdir(parents=True, exist_ok=True)
    base, stop = workdir / platform.slug, workdir / f"{platform.slug}.stop"
    workers = [
        _Worker(url, platform.id, p, seed, Path(f"{base}-p{p}"), stop, plugins) for p in range(processes)
    ]
    return Setup(url, platform.id, platform.slug, seed, workers)


def run(
    url: str,
    *,
    processes: int,
    seconds: float,
    seed: int,
    workdir: Path,
    plugins: Sequence[str] = (),
    kill: bool = True,
) -> Report:
    """Run the crash test on a migrated (or empty) database `url`, in a new platform of its own."""
    setup = prepare(url, processes=processes, seed=seed, workdir=workdir, plugins=plugins)
    report = Report(processes, seconds, seed, platform_slug=setup.slug)
    zygote = _Zygote(plugins, workdir / f"{setup.slug}-zygote.log")
    try:
        for w in setup.workers:
            w.start(zygote)
        _supervise(setup.workers, zygote, seconds, random.Random(seed), report, kill=kill)
    finally:
        for w in setup.workers:
            w.kill()
        zygote.close()
    if not report.problems:
        check(url, setup.platform_id, report, setup.journals)
        verify_cli(url, setup.slug, report)
    return report


class _Zygote:
    """A process that has imported what a worker needs and forks a worker on request: a restart
    costs a fork (milliseconds) instead of an interpreter start (seconds on a busy machine), and
    each worker is still a new process with its own connection and no memory but its journal. The
    zygote holds no connection. Commands and answers are JSON lines on its stdin and stdout."""

    def __init__(self, plugins: Sequence[str], log: Path) -> None:
        src = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
        with log.open("ab") as err:
            self.proc = subprocess.Popen(  # noqa: S603 (our interpreter, our module)
                [sys.executable, "-m", "entremise.ledger.crashtest.harness", "zygote", *plugins],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
            )

    def ask(self, **command: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the crash test's zygote died")
        return json.loads(answer)["answer"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def serve_zygote() -> None:
    """`python -m entremise.ledger.crashtest.harness zygote [PLUGIN...]` (see `_Zygote`)."""
    import psycopg  # noqa: F401 (imported once, before the forks)
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401

    for line in sys.stdin:
        command = json.loads(line)
        answer: Any = None
        if command["do"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(command["args"], command["log"])
            answer = pid
        elif command["do"] in ("poll", "wait"):
            done, status = os.waitpid(command["pid"], os.WNOHANG if command["do"] == "poll" else 0)
            answer = os.waitstatus_to_exitcode(status) if done else None
        sys.stdout.write(json.dumps({"answer": answer}) + "\n")
        sys.stdout.flush()


def _child(args: list[Any], log: str) -> None:
    """A forked worker: its output to its log, then its life, then out (no inherited cleanup)."""
    code = 1
    try:
        out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        worker(*args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class _Worker:
    """One worker: a new process each life (forked by the zygote), killed with SIGKILL."""

    def __init__(
        self,
        url: str,
        platform_id: str,
        process: int,
        seed: int,
        base: Path,
        stop: Path,
        plugins: Sequence[str],
    ) -> None:
        self.process, self.stop = process, stop
        self.journal, self.log = Path(f"{base}.jsonl"), Path(f"{base}.log")
        self.args = [url, platform_id, process, seed, str(self.journal), str(stop), list(plugins)]
        self.zygote: _Zygote | None = None
        self.pid: int | None = None
        self.code: int | None = None
        self.size_at_start = 0
        self.kill_at: float | None = None
        self.kills = 0

    def start(self, zygote: _Zygote) -> None:
        self.zygote = zygote
        self.size_at_start = self.size()
        self.kill_at = None
        self.code = None
        self.pid = zygote.ask(do="spawn", args=self.args, log=str(self.log))

    def size(self) -> int:
        return self.journal.stat().st_size if self.journal.exists() else 0

    def at_work(self) -> bool:
        """It has journaled an operation since it (re)started (its retries do not count)."""
        if self.size() == self.size_at_start:
            return False
        with self.journal.open("rb") as f:
            f.seek(self.size_at_start)
            return b'"kind"' in f.read()

    def exit_code(self, wait: bool = False) -> int | None:
        if self.code is None and self.pid is not None and self.zygote is not None:
            self.code = self.zygote.ask(do="wait" if wait else "poll", pid=self.pid)
        return self.code

    def kill(self) -> None:
        if self.pid is not None and self.exit_code() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.exit_code(wait=True)


def _supervise(
    workers: list[_Worker], zygote: _Zygote, seconds: float, rng: random.Random, report: Report, *, kill: bool
) -> None:
    """Kill each worker at a random moment of its work (at most LIFE_SECONDS after its first new
    operation, so that each life moves the stream on), restart it; until the time is up.
    Then ask them to stop (each first finishes, or retries, its operation in flight)."""
    began = time.monotonic()  # the clock starts once every worker is at work
    while not all(w.at_work() for w in workers):
        if any(w.exit_code() is not None for w in workers) or time.monotonic() - began > STARTUP_SECONDS:
            report.problems.append(f"workers not at work: see {', '.join(str(w.log) for w in workers)}")
            return
        time.sleep(0.02)
    deadline = time.monotonic() + seconds

    def going() -> bool:  # until the time is up and each worker was killed at least once
        now = time.monotonic()
        return now < deadline or (
            kill and any(not w.kills for w in workers) and now < deadline + STARTUP_SECONDS
        )

    while going():
        for w in workers:
            code = w.exit_code()
            if code is not None:
                report.problems.append(f"worker {w.process} died on its own (exit code {code}); see {w.log}")
                return
            if not kill:
                continue
            if w.kill_at is None and w.at_work():
                w.kill_at = time.monotonic() + rng.uniform(0.0, LIFE_SECONDS)
            if w.kill_at is not None and time.monotonic() >= w.kill_at:
                w.kill()
                w.kills += 1
                report.kills += 1
                w.start(zygote)
        time.sleep(0.005)
    workers[0].stop.touch()
    stopping = time.monotonic() + STARTUP_SECONDS
    while any(w.exit_code() is None for w in workers) and time.monotonic() < stopping:
        time.sleep(0.02)
    for w in workers:
        code = w.exit_code()
        if code is None:
            report.problems.append(f"worker {w.process} did not stop; see {w.log}")
        elif code != 0:
            report.problems.append(f"worker {w.process} exited with code {code}; see {w.log}")


def verify_cli(url: str, slug: str, report: Report) -> None:
    """`entremise ledger verify --platform <slug>`, as an operator runs it: it must exit 0."""
    env = dict(os.environ, DATABASE_URL=url)
    done = subprocess.run(  # noqa: S603 (our own CLI, with our interpreter)
        [sys.executable, "-m", "entremise.cli.main", "ledger", "verify", "--platform", slug],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        report.problems.append(
            f"entremise ledger verify exited {done.returncode}: {done.stdout}{done.stderr}"
        )


# --- the checker -------------------------------------------------------------------------------


def check(url: str, platform_id: str, report: Report, journals: Sequence[Path]) -> None:
    """Prove the ledger against the model, from the operations the ledger reports as committed.

    For each process, the stream is planned again operation by operation: the ledger is asked,
    by key, whether the operation committed; the model says whether it must have. A committed one
    is applied to the model. Then: every balance and hold equals the model; the keys of the
    platform's ledger transactions are exactly those of the committed operations (so each
    committed once, and nothing unexplained); each transaction has one audit entry and sums to
    zero; `verify` finds nothing.
    """
    from entremise.audit.models import AuditEntry

    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    problems = report.problems
    expected_keys: set[str] = set()
    shared: dict[str, list[int]] = {}
    try:
        with sessions() as db, db.begin():
            for p, journal in enumerate(journals):
                lines, stopped, retried = read_journal(journal)
                report.retried += retried
                report.replays += sum(1 for x in lines if x.replayed)
                if stopped is None or stopped != len(lines):
                    problems.append(f"process {p}: journal of {len(lines)} operations, stopped at {stopped}")
                    continue
                world = World.load(db, platform_id, p)
                model = world.model()
                for op in range(stopped):
                    kind, params = plan(model, op_rng(report.seed, p, op))
                    report.by_kind[kind.name] = report.by_kind.get(kind.name, 0) + 1
                    must = kind.predict(model, params)
                    key = op_key(report.seed, p, op)
                    found = kind.committed(db, world, key)
                    if found is None and must is None:
                        problems.append(
                            f"process {p} operation {op} ({kind.name} {params}) was lost: not in the ledger"
                        )
                    elif found is not None and must is not None:
                        problems.append(
                            f"process {p} operation {op} ({kind.name} {params}) committed, the model refuses it ({must})"
                        )
                    report.operations += 1
                    if found is None:
                        report.refused += 1
                        continue
                    report.committed += 1
                    expected_keys.update(kind.ledger_keys(key))
                    kind.apply(model, op, params, found)
                _compare(db, world, model, shared, problems)
            for name, (posted, held) in shared.items():
                b = ledger.balance(db, platform_id=platform_id, account_id=name)
                if (b.total.amount, b.held.amount) != (posted, held):
                    problems.append(
                        f"shared account {name}: ledger {b.total}/{b.held}, model {posted}/{held}"
                    )
            keys = set(
                db.scalars(
                    select(LedgerTransaction.idempotency_key).where(
                        LedgerTransaction.platform_id == platform_id
                    )
                )
            )
            if keys - expected_keys:
                problems.append(
                    f"ledger transactions no committed operation explains: {sorted(keys - expected_keys)[:5]}"
                )
            if expected_keys - keys:
                problems.append(
                    f"committed operations missing from the ledger: {sorted(expected_keys - keys)[:5]}"
                )
            audits = dict(
                db.execute(
                    select(AuditEntry.object_id, func.count())
                    .where(
                        AuditEntry.platform_id == platform_id, AuditEntry.object_type == "ledger_transaction"
                    )
                    .group_by(AuditEntry.object_id)
                ).all()
            )
            tx_ids = set(
                db.scalars(select(LedgerTransaction.id).where(LedgerTransaction.platform_id == platform_id))
            )
            wrong = [t for t in tx_ids if audits.get(t) != 1] + [t for t in audits if t not in tx_ids]
            if wrong:
                problems.append(f"transactions without exactly one audit entry: {sorted(wrong)[:5]}")
            unbalanced = db.execute(
                select(LedgerEntry.transaction_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.platform_id == platform_id, LedgerEntry.bucket == "posted")
                .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
                .having(func.sum(LedgerEntry.amount) != 0)
            ).all()
            if unbalanced:
                problems.append(f"transactions that do not sum to zero: {unbalanced[:5]}")
            problems.extend(str(d) for d in ledger.verify(db, platform_id=platform_id))
    finally:
        engine.dispose()


def _compare(
    db: Session, world: World, model: Model, shared: dict[str, list[int]], problems: list[str]
) -> None:
    """This process's accounts and holds against its model; add its moves on shared accounts."""
    specs = {s.name: s for s in account_specs()}
    for name, acc in model.accounts.items():
        account_id = world.ids[name]
        if specs[name].shared:
            total = shared.setdefault(account_id, [0, 0])
            total[0] += acc.posted
            total[1] += acc.held
            continue
        b = ledger.balance(db, platform_id=world.platform_id, account_id=account_id)
        if (b.total.amount, b.held.amount) != (acc.posted, acc.held):
            problems.append(
                f"process {world.process} account {name}: ledger {b.total}/{b.held} held, model {acc.posted}/{acc.held}"
            )
    for op, h in model.holds.items():
        view = ledger.get_hold(db, platform_id=world.platform_id, hold_id=model.results[op])
        if (view.captured.amount, view.remaining.amount) != (h.captured, h.remaining):
            problems.append(
                f"process {world.process} hold of operation {op}: ledger captured {view.captured} remaining"
                f" {view.remaining}, model {h.captured}/{h.remaining}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["zygote"]:
        load_plugins(sys.argv[2:])
        serve_zygote()
    else:
        sys.exit("usage: python -m entremise.ledger.crashtest.harness zygote [PLUGIN...]")
