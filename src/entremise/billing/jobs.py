"""Worker jobs of billing: the monthly invoice run, and documents still to render and e-mail."""

from __future__ import annotations

from datetime import datetime

import structlog

from entremise.billing import documents, run
from entremise.runtime import Runtime

log = structlog.get_logger(__name__)
DOCUMENTS_BATCH = 20


def monthly_runs(runtime: Runtime, now: datetime) -> int:
    """KIDRIDE-INVOICE-1: run last month's invoices on every platform where it is due; invoices issued."""
    with runtime.sessions() as db, db.begin():
        due = run.due_runs(db, now=now)
    issued = 0
    for platform, month in due:
        result = run.run_month(runtime.sessions, platform=platform, month=month, now=now)
        issued += len(result.issued)
    return issued


def pending_documents(runtime: Runtime, now: datetime, *, platform_id: str | None = None) -> int:
    """Render, store and e-mail the PDF of invoices issued without one yet (by other modules'
    transactions, or after a crash), the oldest first, `DOCUMENTS_BATCH` a round; the number of
    documents made. `platform_id` restricts the round to one platform (operations, tests)."""
    with runtime.sessions() as db, db.begin():
        pending = documents.without_documents(db, limit=DOCUMENTS_BATCH, platform_id=platform_id)
    made = 0
    for platform_id, invoice_id in pending:
        try:
            documents.ensure_documents(
                runtime.sessions, platform_id=platform_id, invoice_id=invoice_id, now=now
            )
        except Exception:  # one broken invoice must not stop the others; it is retried next round
            log.exception("billing.document_failed", invoice_id=invoice_id)
            continue
        made += 1
    return made
