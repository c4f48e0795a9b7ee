"""The retention purge (COMMON-PRIVACY-3, GDPR art. 5(1)(e)): every registered purger runs against a
platform with the cutoff of its retention kind (`now` minus the platform's `retention_days[kind]`),
in one transaction, and each purger that removed something writes an audit entry `retention.purged`
naming what it purged (counts, ids, field names: never the values), when, and under which rules.

Safe with several workers: a platform's purge holds the lock on its `retention_purge_runs` row
(`FOR UPDATE SKIP LOCKED` on PostgreSQL: a second worker skips the platform instead of waiting; SQLite
serialises writers), and a purge that committed less than `privacy.purge_interval_hours` ago is not
run again by the worker. Deleting what is already gone deletes nothing, so a forced run twice in a
row purges once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.privacy import domain
from entremise.privacy import hooks as _hooks  # noqa: F401 (registers the accounts and notify hooks)
from entremise.privacy.models import RetentionPurgeRun
from entremise.privacy.registry import PURGERS, load_module_hooks
from entremise.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgedItem:
    purger: str
    kind: str | None
    rules: tuple[str, ...]
    cutoff: datetime | None
    count: int
    note: str = ""


@dataclass(frozen=True)
class PurgeReport:
    platform_id: str
    ran: bool  # False: another worker holds the platform, or it ran recently
    items: list[PurgedItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(i.count for i in self.items)


def _claim(
    db: Session, platform_id: str, now: datetime, interval: timedelta, force: bool
) -> RetentionPurgeRun | None:
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(insert(RetentionPurgeRun).values(platform_id=platform_id).on_conflict_do_nothing())
    row = db.scalar(
        select(RetentionPurgeRun)
        .where(RetentionPurgeRun.platform_id == platform_id)
        .with_for_update(skip_locked=True)
    )
    if row is None:
        return None  # another worker is purging this platform right now
    if not force and row.last_run_at is not None and now - row.last_run_at < interval:
        return None
    return row


def purge_platform(
    db: Session, *, platform: PlatformView, now: datetime, worker: str = "cli", force: bool = False
) -> PurgeReport:
    """Run every purger against `platform`, in the caller's transaction (see the module docstring)."""
    load_module_hooks()
    interval = timedelta(hours=platform.settings.privacy.purge_interval_hours)
    run = _claim(db, platform.id, now, interval, force)
    if run is None:
        return PurgeReport(platform.id, ran=False)
    items: list[PurgedItem] = []
    for name in sorted(PURGERS):
        purger = PURGERS[name]
        cutoff: datetime | None = None
        rules = purger.rules
        if purger.kind is not None:
            days = domain.retention_days(platform.settings.retention_days, purger.kind)
            if days.outcome is None:
                log.warning("retention.skipped", platform_id=platform.id, purger=name, reason=days.reason)
                items.append(PurgedItem(name, purger.kind, days.rules, None, 0, days.reason))
                continue
            cutoff = now - timedelta(days=days.outcome)
        result = purger.fn(db, platform, cutoff, now)
        rules = tuple(sorted({*rules, *result.rules}))
        items.append(PurgedItem(name, purger.kind, rules, cutoff, result.count))
        if result.count:
            data: dict[str, Any] = {
                "purger": name,
                "kind": purger.kind,
                "cutoff": cutoff.isoformat() if cutoff else None,
                "count": result.count,
                **result.detail,
            }
            record(
                db,
                platform_id=platform.id,
                actor=Actor.system(),
                action="retention.purged",
                obj=("retention_purge", name),
                at=now,
                rules=list(rules),
                reason=f"{result.count} record(s) past their retention period",
                data=data,
            )
    run.last_run_at, run.last_run_by = now, worker[:100]
    db.flush()
    return PurgeReport(platform.id, ran=True, items=items)


def purge_due(runtime: Runtime, now: datetime) -> int:
    """Worker job: purge every platform whose purge is due; the number of records purged.

    A platform whose purge fails is rolled back and logged, and the others are still purged; the
    failure is raised once every platform had its turn (the worker logs it and tries next round)."""
    from entremise.worker.jobs import worker_id

    with runtime.sessions() as db, db.begin():
        every = platforms.list_platforms(db)
    me = worker_id()
    total = 0
    failed: list[str] = []
    for platform in every:
        try:
            with runtime.sessions() as db, db.begin():
                total += purge_platform(db, platform=platform, now=now, worker=me).total
        except Exception:
            log.exception("retention.purge_failed", platform_id=platform.id)
            failed.append(platform.slug)
    if failed:
        raise RuntimeError(f"the retention purge failed on {', '.join(failed)} (see the log)")
    return total
