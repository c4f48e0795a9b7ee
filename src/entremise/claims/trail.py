"""Audit entries about a claim: object `claim`, citing the claim's rule IDs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.claims.models import Claim


def claim_event(
    db: Session,
    claim: Claim,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    record(
        db,
        platform_id=claim.platform_id,
        actor=actor,
        action=action,
        obj=("claim", claim.id),
        at=now,
        rules=list(claim.rules),
        reason=reason[:2000],
        data=data or {},
    )
