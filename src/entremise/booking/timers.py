"""Running due timers: claim, take the transition as the system, retry with backoff, dead-letter.

Claiming (one short transaction): pick timers whose `next_attempt_at` has come, that are pending or
awaiting a retry and not claimed (or whose claim is older than the lease: the worker died), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so concurrent workers take disjoint batches (on SQLite,
`BEGIN IMMEDIATE` already serializes writers), and stamp them with the worker's id.

Running (one transaction per timer): lock the instance, then the timer (always in that order, as
`service.take` does, so a user's transition and a timer cannot deadlock), check the timer is still
live and still claimed by this worker, take its transition as actor `system` and mark it done, all in
one commit. That check inside the commit is what makes a timer run exactly once, even when a lease
expired and another worker claimed it. A transition no longer allowed (the state moved on, a guard
says no) marks the timer done with a note. An exception rolls everything back; a new transaction
then counts the attempt, keeps the error and sets the next attempt, or marks the timer dead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from entremise.audit.service import Actor, record
from entremise.booking import service
from entremise.booking.models import ProcessInstance, Timer
from entremise.booking.registry import REGISTRY, ProcessRegistry
from entremise.booking.service import LIVE_TIMER, ProcessActor
from entremise.kernel.backoff import exponential_backoff
from entremise.kernel.errors import Conflict

log = logging.getLogger("entremise.timers")

Outcome = Literal["done", "not_taken", "failed", "dead", "lost"]


@dataclass(frozen=True)
class TimerPolicy:
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 10
    retry_base: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    batch_size: int = 100

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next attempt after `attempts` failures: base × 2^(attempts-1), capped."""
        return exponential_backoff(max(attempts, 1), self.retry_base, self.retry_max)


def claim_due(
    db: Session,
    *,
    now: datetime,
    worker_id: str,
    limit: int,
    lease: timedelta,
    platform_id: str | None = None,
) -> list[int]:
    """Claim up to `limit` due timers for `worker_id` (in the caller's transaction); their ids.

    The worker claims across platforms; `platform_id` narrows the claim to one platform.
    """
    q = (
        select(Timer.id)
        .where(
            Timer.status.in_(LIVE_TIMER),
            Timer.next_attempt_at <= now,
            or_(Timer.claimed_at.is_(None), Timer.claimed_at < now - lease),
        )
        .order_by(Timer.next_attempt_at, Timer.id)
        .limit(limit)
    )
    if platform_id is not None:
        q = q.where(Timer.platform_id == platform_id)
    if db.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(db.scalars(q))
    if ids:
        db.execute(
            update(Timer)
            .where(Timer.id.in_(ids))
            .values(claimed_by=worker_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def _lock_timer(db: Session, timer_id: int) -> Timer | None:
    return db.scalar(
        select(Timer).where(Timer.id == timer_id).with_for_update().execution_options(populate_existing=True)
    )


def run_timer(
    sessions: sessionmaker[Session],
    timer_id: int,
    *,
    worker_id: str,
    now: datetime,
    policy: TimerPolicy,
    registry: ProcessRegistry = REGISTRY,
) -> Outcome:
    """Run one claimed timer in its own transaction (see the module's docstring)."""
    try:
        with sessions() as db, db.begin():
            # lock the instance first (as `take` does), found through the timer in the same statement
            of_timer = select(Timer.instance_id).where(Timer.id == timer_id).scalar_subquery()
            db.execute(select(ProcessInstance.id).where(ProcessInstance.id == of_timer).with_for_update())
            timer = _lock_timer(db, timer_id)
            if timer is None or timer.status not in LIVE_TIMER or timer.claimed_by != worker_id:
                return "lost"
            outcome: Outcome = "done"
            try:
                service.take(
                    db,
                    timer.platform_id,
                    timer.instance_id,
                    timer.transition,
                    ProcessActor.system(),
                    now,
                    by_timer=timer.id,
                    registry=registry,
                )
                timer.note = None
            except Conflict as refused:
                # nothing was written: the state moved on, or the guard said no
                outcome = "not_taken"
                timer.note = f"not taken: {refused.detail}"
            timer.status = "done"
            timer.attempts += 1
            timer.done_at = now
            return outcome
    except Exception as exc:
        log.warning("timer %s failed: %s", timer_id, exc, exc_info=True)
        return _record_failure(sessions, timer_id, worker_id=worker_id, now=now, policy=policy, error=exc)


def _record_failure(
    sessions: sessionmaker[Session],
    timer_id: int,
    *,
    worker_id: str,
    now: datetime,
    policy: TimerPolicy,
    error: Exception,
) -> Outcome:
    with sessions() as db, db.begin():
        timer = _lock_timer(db, timer_id)
        if timer is None or timer.status not in LIVE_TIMER or timer.claimed_by != worker_id:
            return "lost"
        timer.attempts += 1
        timer.last_error = f"{type(error).__name__}: {error}"[:4000]
        timer.claimed_by = None
        timer.claimed_at = None
        if timer.attempts >= policy.max_attempts:
            timer.status = "dead"
            timer.done_at = now
            record(
                db,
                platform_id=timer.platform_id,
                actor=Actor.system(),
                action="timer.dead",
                obj=("timer", str(timer.id)),
                at=now,
                reason=f"gave up after {timer.attempts} attempts",
                data={
                    "instance_id": timer.instance_id,
                    "transition": timer.transition,
                    "error": timer.last_error,
                },
            )
            return "dead"
        timer.status = "failed"
        timer.next_attempt_at = now + policy.backoff(timer.attempts)
        return "failed"


def run_due(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    worker_id: str,
    policy: TimerPolicy,
    registry: ProcessRegistry = REGISTRY,
    max_batches: int = 100,
    platform_id: str | None = None,
) -> dict[Outcome, int]:
    """Claim and run due timers, batch after batch, until none is left (or `max_batches`)."""
    counts: dict[Outcome, int] = {}
    for _ in range(max_batches):
        with sessions() as db, db.begin():
            ids = claim_due(
                db,
                now=now,
                worker_id=worker_id,
                limit=policy.batch_size,
                lease=policy.lease,
                platform_id=platform_id,
            )
        if not ids:
            break
        for timer_id in ids:
            outcome = run_timer(
                sessions, timer_id, worker_id=worker_id, now=now, policy=policy, registry=registry
            )
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
