"""Exporters and purgers of the modules older than privacy (they must not import it), and privacy's
own. Each goes through its module's service functions, never its tables. Imported by
`registry.load_module_hooks()`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import list_entries
from entremise.booking import service as booking
from entremise.kernel.errors import NotFound
from entremise.ledger import service as ledger
from entremise.notify import outbox
from entremise.platforms.service import PlatformView
from entremise.privacy import consent, directives, domain
from entremise.privacy.models import (
    ConsentEvent,
    MarketingConsent,
    PostMortemDirective,
    PrivacyRequest,
    ProcessingLimit,
)
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger
from entremise.terms import service as terms

# --- exporters ---------------------------------------------------------------------------------


def _audit(db: Session, platform: PlatformView, user_id: str) -> list[dict[str, Any]]:
    """Audit entries about the user: on their account, made by them, or on their privacy requests."""
    request_ids = list(
        db.scalars(
            select(PrivacyRequest.id).where(
                PrivacyRequest.platform_id == platform.id, PrivacyRequest.user_id == user_id
            )
        )
    )
    seen: dict[int, Any] = {}
    queries = [{"object_type": "user", "object_id": user_id}, {"actor_id": user_id}]
    queries += [{"object_type": "privacy_request", "object_id": rid} for rid in request_ids]
    for query in queries:
        after: int | None = None
        while True:
            page = list_entries(db, platform_id=platform.id, after_id=after, limit=500, **query)
            for entry in page:
                seen[entry.id] = entry
            if len(page) < 500:
                break
            after = page[-1].id
    return [
        {
            "at": e.at.isoformat(),
            "actor_type": e.actor_type,
            "actor_id": e.actor_id,
            "action": e.action,
            "object": [e.object_type, e.object_id],
            "rules": list(e.rules),
            "reason": e.reason,
            "data": e.data,
        }
        for _id, e in sorted(seen.items())
    ]


def _privacy(db: Session, platform: PlatformView, user_id: str) -> dict[str, Any]:
    now_consents = consent.consents_of(db, platform_id=platform.id, user_id=user_id)
    try:
        directive = directives.get_directives(db, platform_id=platform.id, user_id=user_id)
        directive_out: dict[str, Any] | None = {
            "data_fate": directive.data_fate,
            "instructions": directive.instructions,
            "trusted_person_name": directive.trusted_person_name,
            "trusted_person_contact": directive.trusted_person_contact,
            "updated_at": directive.updated_at.isoformat(),
        }
    except NotFound:  # none recorded
        directive_out = None
    rows = db.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.platform_id == platform.id, PrivacyRequest.user_id == user_id)
        .order_by(PrivacyRequest.received_at, PrivacyRequest.id)
    )
    return {
        "marketing_consents": [
            {
                "channel": c.channel,
                "granted": c.granted,
                "updated_at": c.updated_at.isoformat() if c.updated_at else None,
            }
            for c in now_consents
        ],
        "consent_history": [
            {
                "channel": e.channel,
                "granted": e.granted,
                "at": e.at.isoformat(),
                "source": e.source,
                "ip": e.ip,
                "user_agent": e.user_agent,
            }
            for e in consent.consent_history(db, platform_id=platform.id, user_id=user_id)
        ],
        "processing_limits": [
            {
                "purpose": lim.purpose,
                "basis": lim.basis,
                "active": lim.active,
                "since": lim.since.isoformat(),
                "ended_at": lim.ended_at.isoformat() if lim.ended_at else None,
            }
            for lim in consent.limits_of(db, platform_id=platform.id, user_id=user_id, active_only=False)
        ],
        "post_mortem_directives": directive_out,
        "requests": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "received_at": r.received_at.isoformat(),
                "due_on": r.due_on.isoformat(),
                "outcome": r.outcome,
                "answer": r.answer,
                "grounds": list(r.grounds or []),
                "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            }
            for r in rows
        ],
    }


register_exporter("accounts", lambda db, p, uid: accounts.export_data(db, platform_id=p.id, user_id=uid))
register_exporter("terms", lambda db, p, uid: terms.export_data(db, platform_id=p.id, user_id=uid))
register_exporter("audit", _audit)
register_exporter("messages", lambda db, p, uid: outbox.export_data(db, platform_id=p.id, user_id=uid))
register_exporter("ledger", lambda db, p, uid: ledger.export_data(db, platform_id=p.id, owner_id=uid))
register_exporter("processes", lambda db, p, uid: booking.export_data(db, platform_id=p.id, user_id=uid))
register_exporter("privacy", _privacy)


# --- purgers -------------------------------------------------------------------------------------


def _connection(what: str):  # type: ignore[no-untyped-def]
    def purge(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
        assert cutoff is not None
        return PurgeResult(
            accounts.purge_connection_data(db, platform_id=platform.id, what=what, before=cutoff)
        )

    return purge


def _held_fields(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    ended = accounts.purge_ended_holds(db, platform=platform, now=now)
    return PurgeResult(
        sum(len(e.fields) for e in ended),
        {"users": [{"user_id": e.user_id, "fields": list(e.fields), "kinds": list(e.kinds)} for e in ended]},
        tuple(sorted({r for e in ended for r in e.rules})),
    )


def _closed_accounts_messages(
    db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime
) -> PurgeResult:
    closed = accounts.closed_user_ids(db, platform_id=platform.id)
    return PurgeResult(outbox.purge_finished(db, platform_id=platform.id, user_ids=closed))


def _old_messages(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    return PurgeResult(outbox.purge_finished(db, platform_id=platform.id, created_before=cutoff))


def _terms_evidence(
    db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime
) -> PurgeResult:
    users = accounts.closed_user_ids(db, platform_id=platform.id, closed_before=cutoff)
    return PurgeResult(terms.purge_evidence(db, platform_id=platform.id, user_ids=users))


def _privacy_records(
    db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime
) -> PurgeResult:
    users = accounts.closed_user_ids(db, platform_id=platform.id, closed_before=cutoff)
    total = 0
    for i in range(0, len(users), 500):
        chunk = users[i : i + 500]
        for model in (ConsentEvent, MarketingConsent, ProcessingLimit, PostMortemDirective, PrivacyRequest):
            result = db.execute(
                delete(model)
                .where(model.platform_id == platform.id, model.user_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
            total += int(getattr(result, "rowcount", 0) or 0)
    return PurgeResult(total)


for _what in accounts.CONNECTION_DATA:
    register_purger(f"accounts.{_what}", kind="connection", fn=_connection(_what))
register_purger("accounts.held_fields", kind=None, fn=_held_fields)
register_purger(
    "notify.closed_accounts_messages",
    kind=None,
    fn=_closed_accounts_messages,
    rules=("COMMON-ACCOUNT-4", domain.RULE_RETENTION),
)
register_purger("notify.sent_messages", kind="messages", fn=_old_messages)
register_purger("terms.closed_accounts_evidence", kind="civil_identity", fn=_terms_evidence)
register_purger("privacy.closed_accounts_records", kind="account", fn=_privacy_records)
