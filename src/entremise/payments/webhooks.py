"""Incoming provider webhooks: verify, log, deduplicate, apply, all in the caller's transaction.

- The adapter verifies the signature and freshness of the raw body (`parse_webhook`); a forged,
  stale or malformed webhook is stored as `rejected` with the reason and refused (HTTP 400).
- A replay (the exact signature header of a delivery already received) is rejected too; a
  duplicate (the same event id in a new, validly signed delivery) changes nothing and answers 200.
- Events are applied by `service.apply_event`; an older event never moves an operation
  backwards. An event about something not known yet (a chargeback's outcome before its opening)
  is not stored, so that the provider's retry applies it later (HTTP 409).
- Events payments does not handle itself (payouts, KYC) go to handlers other modules register
  with `register_event_handler`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.kernel.ids import new_id
from entremise.payments import service
from entremise.payments.models import WebhookEvent
from entremise.payments.port import EventType, ProviderEvent, WebhookRejected
from entremise.payments.providers import ProviderContext, adapter

log = logging.getLogger("entremise.payments.webhooks")

# (db, provider name, event, now) -> the platform id it concerned, or None if not theirs
EventHandler = Callable[[Session, str, ProviderEvent, datetime], str | None]
_HANDLERS: dict[EventType, list[EventHandler]] = {}
_LOCK = threading.Lock()


def register_event_handler(types: Iterable[EventType], handler: EventHandler) -> None:
    """Let another module handle events payments does not (payouts, KYC). A handler returns the
    platform id of what it updated, or None when the event is not about anything of theirs."""
    with _LOCK:
        for type_ in types:
            handlers = _HANDLERS.setdefault(type_, [])
            if handler not in handlers:
                handlers.append(handler)


@dataclass(frozen=True)
class Receipt:
    status: str  # processed | duplicate | ignored | rejected
    detail: str = ""
    event_ids: tuple[str, ...] = ()


def _signature_hash(headers: Mapping[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "entremise-signature":
            return hashlib.sha256(value.encode()).hexdigest()
    return None


def _reject(
    db: Session, provider: str, reason: str, body: bytes, signature: str | None, now: datetime
) -> Receipt:
    log.warning("webhook from %s rejected: %s", provider, reason)
    db.add(
        WebhookEvent(
            id=new_id(),
            provider=provider,
            event_id=None,
            signature_hash=signature,
            status="rejected",
            detail=reason[:500],
            received_at=now,
            body=body[:4096].decode("utf-8", errors="replace"),
        )
    )
    db.flush()
    return Receipt("rejected", reason)


def receive(db: Session, *, provider: str, body: bytes, headers: Mapping[str, str], now: datetime) -> Receipt:
    """Verify and apply one webhook delivery (see the module docstring)."""
    signature = _signature_hash(headers)
    psp = adapter(provider, ProviderContext(db, now, None))
    try:
        events = psp.parse_webhook(body=body, headers=headers, now=now)
    except WebhookRejected as exc:
        return _reject(db, provider, exc.reason, body, signature, now)
    if signature is not None:
        seen = db.scalars(
            select(WebhookEvent.id).where(
                WebhookEvent.provider == provider, WebhookEvent.signature_hash == signature
            )
        ).first()
        if seen is not None:
            return _reject(
                db, provider, "replayed: this exact delivery was received already", body, signature, now
            )
    applied: list[str] = []
    duplicates = 0
    for event in events:
        known = db.scalars(
            select(WebhookEvent.id).where(
                WebhookEvent.provider == provider, WebhookEvent.event_id == event.event_id
            )
        ).first()
        if known is not None:
            duplicates += 1
            continue
        platform_id, changed = service.apply_event(db, provider=provider, event=event, now=now)
        if platform_id is None:
            for handler in _HANDLERS.get(event.type, []):
                platform_id = handler(db, provider, event, now)
                if platform_id is not None:
                    changed = True
                    break
        db.add(
            WebhookEvent(
                id=new_id(),
                provider=provider,
                event_id=event.event_id,
                signature_hash=signature,
                platform_id=platform_id,
                type=event.type.value,
                provider_ref=event.provider_ref[:100],
                status="processed" if changed else "ignored",
                detail="" if changed else "changed nothing (unknown, older or already applied)",
                occurred_at=event.occurred_at,
                received_at=now,
                body=body[:4096].decode("utf-8", errors="replace"),
            )
        )
        db.flush()
        applied.append(event.event_id)
    if not applied and duplicates:
        return Receipt("duplicate", "every event of this delivery was received already")
    return Receipt("processed", event_ids=tuple(applied))


def log_of(db: Session, *, provider: str, limit: int = 100) -> list[WebhookEvent]:
    return list(
        db.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.provider == provider)
            .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id)
            .limit(limit)
        )
    )
