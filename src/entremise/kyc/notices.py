"""E-mails to a provider about their KYC documents and payouts (templates `kyc.*`, `payouts.*`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms


def tell(
    db: Session,
    platform_id: str,
    user_id: str,
    template: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe: str,
) -> bool:
    """Queue one e-mail to the user (once per `dedupe`); False when the account has no address."""
    contact = accounts.contact_of(db, platform_id, user_id)
    if not contact.email:
        return False
    platform = platforms.get(db, platform_id)
    enqueue(
        db,
        platform_id=platform_id,
        channel="email",
        template=template,
        recipient=contact.email,
        payload={"platform_name": platform.name, **payload},
        now=now,
        locale=contact.locale,
        user_id=user_id,
        dedupe_key=dedupe,
    )
    return True
