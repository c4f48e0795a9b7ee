"""Delivering the sandbox's webhooks: the worker job `telephony-webhooks`.

Each due row is claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL), signed at the moment it is sent
and posted to `/api/v1/telephony/webhooks/sandbox` over HTTP (in tests, the real ASGI app through
its test client). A 2xx marks it delivered; another 4xx marks it rejected (the engine refused it,
sending it again would not help); a 5xx or a network error is retried with backoff, up to
`MAX_ATTEMPTS`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from entremise.kernel import signing
from entremise.kernel.backoff import exponential_backoff
from entremise.telephony.models import SandboxWebhook
from entremise.telephony.sandbox import NAME

PATH = f"/api/v1/telephony/webhooks/{NAME}"
MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)


def deliver_due(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    secret: str,
    http: httpx.Client,
    limit: int = 100,
    reference: str | None = None,
) -> int:
    """Send every webhook due at `now` (oldest first; of one call with `reference`); the number sent
    (whatever the answer)."""
    with sessions() as db, db.begin():
        q = (
            select(SandboxWebhook.id)
            .where(SandboxWebhook.status == "pending", SandboxWebhook.due_at <= now)
            .order_by(SandboxWebhook.due_at, SandboxWebhook.id)
            .limit(limit)
        )
        if reference is not None:
            q = q.where(SandboxWebhook.reference == reference)
        if db.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(db.scalars(q))
    sent = 0
    for webhook_id in ids:
        # claim: push the row's due time by the lease (a worker dying mid-send leaves it to retry),
        # commit, and only then talk HTTP, holding no transaction
        with sessions() as db, db.begin():
            row = db.get(SandboxWebhook, webhook_id, with_for_update=True)
            if row is None or row.status != "pending" or row.due_at > now:
                continue
            row.attempts += 1
            row.due_at = now + LEASE
            body = row.body.encode()
        status: int | None = None
        error: str | None = None
        try:
            answer = http.post(
                PATH,
                content=body,
                headers={"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body, now)},
            )
            status, text = answer.status_code, answer.text
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:500]
        with sessions() as db, db.begin():
            row = db.get(SandboxWebhook, webhook_id, with_for_update=True)
            if row is None:
                continue
            row.last_status = status
            if status is not None and status < 300:
                row.status, row.done_at, row.last_error = "delivered", now, None
            elif status is not None and status < 500:
                row.status, row.done_at, row.last_error = "rejected", now, text[:500]
            else:
                _retry(row, now, error or text[:500])
        sent += 1
    return sent


def _retry(row: SandboxWebhook, now: datetime, error: str) -> None:
    row.last_error = error
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.done_at = "dead", now
    else:
        row.due_at = now + exponential_backoff(row.attempts, timedelta(seconds=5), timedelta(minutes=10))
