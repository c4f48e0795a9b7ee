"""Running the jobs: once (`entremise tick`, cron, tests) or forever (`entremise worker`)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from entremise.runtime import Runtime
from entremise.worker.jobs import JOBS

log = logging.getLogger("entremise.worker")


def run_once(runtime: Runtime, *, raise_errors: bool = True) -> dict[str, int]:
    """Run every job once, each at the runtime clock's current time; items processed per job.

    With `raise_errors=False` a failing job is logged (count -1) and the other jobs still run.
    """
    counts: dict[str, int] = {}
    for name, job in JOBS:
        try:
            counts[name] = job(runtime, runtime.clock.now())
        except Exception:
            if raise_errors:
                raise
            log.exception("job %s failed", name)
            counts[name] = -1
    return counts


def run_forever(runtime: Runtime, stop_event: threading.Event) -> None:
    """Run the jobs every `settings.worker_poll_seconds` until `stop_event` is set.

    In the main thread, SIGTERM and SIGINT set `stop_event`: the worker finishes the timer it is
    running (each runs in its own transaction) and stops between two rounds.
    """
    previous: dict[signal.Signals, object] = {}
    if threading.current_thread() is threading.main_thread():

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s received: stopping after this round", signum)
            stop_event.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _stop)
    log.info("worker started (jobs: %s)", ", ".join(name for name, _job in JOBS))
    try:
        while not stop_event.is_set():
            counts = run_once(runtime, raise_errors=False)
            if any(counts.values()):
                log.info("worker round: %s", counts)
            stop_event.wait(runtime.settings.worker_poll_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        log.info("worker stopped")
