"""The monthly invoice run (KIDRIDE-INVOICE-1): one invoice per customer (and seller) for the open
items supplied up to the end of the month, issued, rendered and e-mailed with its PDF.

Safe to repeat and to run in several workers at once: each customer's invoice is issued in its
own transaction that locks that customer's open items first, so an item is invoiced exactly once
(a second run finds nothing left and issues nothing), and the e-mail is queued once per invoice.
Items recorded late for an earlier month are gathered by the next run (everything supplied before
the end of the run's month that is still open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from entremise.audit.service import Actor, record
from entremise.billing import documents, domain
from entremise.billing import service as billing
from entremise.billing.models import BillingRun, Invoice
from entremise.kernel.errors import AppError, FieldError, InvalidInput
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView

log = structlog.get_logger(__name__)
RETRY_AFTER = timedelta(hours=1)  # an unfinished run (a customer not invoiceable) is retried hourly


@dataclass
class RunResult:
    platform_slug: str
    month: str
    issued: list[str] = field(default_factory=list)  # invoice numbers issued by this call
    refused: list[tuple[str, str]] = field(default_factory=list)  # (customer id, why)
    documents_failed: list[tuple[str, str]] = field(default_factory=list)  # (invoice number, why)


def _start(db: Session, platform_id: str, month: str, now: datetime) -> None:
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.execute(
        insert(BillingRun)
        .values(platform_id=platform_id, month=month, started_at=now, attempted_at=now, invoices=0)
        .on_conflict_do_update(
            index_elements=[BillingRun.platform_id, BillingRun.month], set_={"attempted_at": now}
        )
    )


def is_finished(db: Session, *, platform_id: str, month: str) -> bool:
    row = db.get(BillingRun, (platform_id, month))
    return row is not None and row.finished_at is not None


def run_month(
    sessions: sessionmaker[Session],
    *,
    platform: PlatformView,
    month: str,
    now: datetime,
    actor: Actor | None = None,
) -> RunResult:
    """Invoice every customer's open items supplied before the end of `month` (YYYY-MM)."""
    try:
        _first, end = domain.parse_month(month)
    except ValueError as exc:
        raise InvalidInput([FieldError("month", str(exc))]) from exc
    if end > billing.local_today(platform, now):
        raise InvalidInput([FieldError("month", f"{month} is not over yet")], rules=["KIDRIDE-INVOICE-1"])
    result = RunResult(platform.slug, month)
    with sessions() as db, db.begin():
        _start(db, platform.id, month, now)
        pairs = billing.open_customers(db, platform_id=platform.id, before=end)
    for customer_id, seller_id in pairs:
        try:
            with sessions() as db, db.begin():
                invoice = billing.invoice_open_items(
                    db,
                    platform=platform,
                    customer_id=customer_id,
                    seller_id=seller_id,
                    before=end,
                    now=now,
                    run_month=month,
                    actor=actor,
                )
        except AppError as exc:  # this customer cannot be invoiced yet (identity incomplete...)
            log.warning(
                "billing.run_refused", platform=platform.slug, customer_id=customer_id, reason=exc.detail
            )
            result.refused.append((customer_id, exc.detail))
            continue
        if invoice is None:
            continue  # another run invoiced these items first
        result.issued.append(invoice.number)
        try:
            documents.ensure_documents(sessions, platform_id=platform.id, invoice_id=invoice.id, now=now)
        except Exception as exc:  # the invoice stands; the documents job will try again
            log.exception("billing.document_failed", invoice=invoice.number)
            result.documents_failed.append((invoice.number, f"{type(exc).__name__}: {exc}"))
    with sessions() as db, db.begin():
        row = db.scalar(
            select(BillingRun)
            .where(BillingRun.platform_id == platform.id, BillingRun.month == month)
            .with_for_update()
        )
        assert row is not None
        row.invoices = int(
            db.scalar(
                select(func.count())
                .select_from(Invoice)
                .where(Invoice.platform_id == platform.id, Invoice.run_month == month)
            )
            or 0
        )
        finishing = not result.refused and row.finished_at is None
        if finishing:
            row.finished_at = now
        if not (result.issued or result.refused or finishing):
            return result  # a repeated run that found nothing: nothing to tell the audit trail
        record(
            db,
            platform_id=platform.id,
            actor=actor,
            action="billing.run",
            obj=("billing_run", f"{month}"),
            at=now,
            rules=["KIDRIDE-INVOICE-1"],
            data={
                "issued": result.issued,
                "refused": [c for c, _ in result.refused],
                "finished": not result.refused,
            },
        )
    return result


def due_runs(db: Session, *, now: datetime) -> list[tuple[PlatformView, str]]:
    """(platform, month) runs the worker should do now: platforms with `billing.monthly_run`, once
    their local day of the month reaches `billing.monthly_run_day`, for the previous month, until
    that run has finished; an unfinished run is tried again an hour after its last attempt."""
    out: list[tuple[PlatformView, str]] = []
    for platform in platforms.list_platforms(db):
        settings = platform.settings.billing
        if not settings.monthly_run:
            continue
        today: date = billing.local_today(platform, now)
        if today.day < settings.monthly_run_day:
            continue
        month = domain.previous_month(today)
        row = db.get(BillingRun, (platform.id, month))
        if row is None or (row.finished_at is None and row.attempted_at <= now - RETRY_AFTER):
            out.append((platform, month))
    return out
