"""The background jobs. `JOBS` is the one place a job is registered.

A job is `(runtime, now) -> int`: it does the work due at `now` and returns how many items it
processed. Jobs must be safe to run in several worker processes at once (claim rows with locks).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from entremise.api import idempotency
from entremise.billing import jobs as billing_jobs
from entremise.booking import timers
from entremise.claims import deadlines as _claim_deadlines  # noqa: F401 (registers the claim-deadline process)
from entremise.fraud import jobs as fraud_jobs
from entremise.kyc import service as _kyc  # noqa: F401 - registers the KYC review timer and file purpose
from entremise.notify.dispatch import deliver_due
from entremise.orders import service as _djob_orders  # noqa: F401 - registers the djob process and its file purposes
from entremise.payments import sandbox as psp_sandbox
from entremise.payouts import jobs as payout_jobs
from entremise.privacy.retention import purge_due as purge_personal_data
from entremise.reviews import jobs as reviews_jobs
from entremise.runtime import Runtime
from entremise.scheduling import process as _appointment_process  # noqa: F401 - its timers run here

Job = Callable[[Runtime, datetime], int]


def worker_id() -> str:
    """Who claims: host, process and a random part (unique per run, even for threads of one process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def timer_policy(runtime: Runtime) -> timers.TimerPolicy:
    s = runtime.settings
    return timers.TimerPolicy(
        lease=timedelta(seconds=s.timer_lease_seconds),
        max_attempts=s.timer_max_attempts,
        retry_base=timedelta(seconds=s.timer_retry_base_seconds),
        retry_max=timedelta(seconds=s.timer_retry_max_seconds),
        batch_size=s.worker_batch_size,
    )


def run_due_timers(runtime: Runtime, now: datetime) -> int:
    """Run every due timer (see `booking.timers`); the number of timers handled."""
    counts = timers.run_due(runtime.sessions, now=now, worker_id=worker_id(), policy=timer_policy(runtime))
    return sum(n for outcome, n in counts.items() if outcome != "lost")


def purge_idempotency_keys(runtime: Runtime, now: datetime) -> int:
    """Forget `Idempotency-Key` answers past their 24 hours (expired ones are ignored already)."""
    with runtime.sessions() as db, db.begin():
        return idempotency.purge_expired(db, now)


JOBS: list[tuple[str, Job]] = [
    ("timers", run_due_timers),
    ("outbox", deliver_due),
    ("idempotency-purge", purge_idempotency_keys),
    ("privacy-purge", purge_personal_data),
    ("billing-monthly-run", billing_jobs.monthly_runs),
    ("billing-documents", billing_jobs.pending_documents),
    ("psp-sandbox-webhooks", psp_sandbox.deliver_job),
    ("reviews-blind-release", reviews_jobs.release_blind_reviews),
    ("fraud-scan", fraud_jobs.scan_all),
    ("payouts-scheduled", payout_jobs.scheduled_payouts),
]
