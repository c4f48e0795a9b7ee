"""What metered sessions hold about a person, for exports and the retention purge.

Export: every session the user took part in (as client or provider), with its statement.
Purge (COMMON-PRIVACY-3: account and telephony billing data one year; CONSULT-RECORD-1: a
recording reference twelve months): the phone numbers and recording reference of sessions updated
before the cutoff are erased; the amounts stay, the ledger still needs them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from entremise.metering.models import MeteredSession
from entremise.platforms.service import PlatformView
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger

FINISHED = ("ended", "no_show", "failed", "cancelled")


def export(db: Session, platform: PlatformView, user_id: str) -> Any:
    rows = db.scalars(
        select(MeteredSession)
        .where(
            MeteredSession.platform_id == platform.id,
            or_(MeteredSession.client_id == user_id, MeteredSession.provider_id == user_id),
        )
        .order_by(MeteredSession.created_at)
    )
    out: list[dict[str, Any]] = []
    for r in rows:
        as_client = r.client_id == user_id
        statement = dict(r.statement or {})
        if as_client:
            statement.pop("split", None)
        out.append(
            {
                "id": r.id,
                "role": "client" if as_client else "provider",
                "mode": r.mode,
                "state": r.state,
                "my_number": r.client_number if as_client else r.provider_number,
                "answered_at": r.answered_at.isoformat() if r.answered_at else None,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "billed_seconds": r.billed_seconds,
                "total": r.total,
                "currency": r.currency,
                "statement": statement or None,
                "created_at": r.created_at.isoformat(),
            }
        )
    return out


def purge_numbers(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    if cutoff is None:
        return PurgeResult(0)
    ids = list(
        db.scalars(
            select(MeteredSession.id).where(
                MeteredSession.platform_id == platform.id,
                MeteredSession.state.in_(FINISHED),
                MeteredSession.updated_at < cutoff,
                or_(
                    MeteredSession.client_number.is_not(None),
                    MeteredSession.provider_number.is_not(None),
                    MeteredSession.recording_ref.is_not(None),
                ),
            )
        )
    )
    if ids:
        db.execute(
            update(MeteredSession)
            .where(MeteredSession.id.in_(ids))
            .values(client_number=None, provider_number=None, recording_ref=None)
            .execution_options(synchronize_session=False)
        )
    return PurgeResult(len(ids), {"sessions": ids})


register_exporter("metering", export)
register_purger(
    "metering.call_numbers",
    kind="account",
    fn=purge_numbers,
    rules=("COMMON-PRIVACY-3", "CONSULT-RECORD-1"),
)
