"""Fraud data in the privacy export and its retention: identifiers (digests), incidents and
verifications of accounts closed longer than the `account` retention are purged (COMMON-PRIVACY-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.fraud import service
from entremise.fraud.models import FraudIdentifier, FraudIncident, FraudVerification
from entremise.platforms.service import PlatformView
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger


def _purge(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    if cutoff is None:
        return PurgeResult(0)
    users = accounts.closed_user_ids(db, platform_id=platform.id, closed_before=cutoff)
    if not users:
        return PurgeResult(0)
    n = 0
    for table in (FraudIdentifier, FraudIncident, FraudVerification):
        result = db.execute(delete(table).where(table.platform_id == platform.id, table.user_id.in_(users)))
        n += int(getattr(result, "rowcount", 0) or 0)
    return PurgeResult(n, {"accounts": len(users)})


register_exporter("fraud", lambda db, p, uid: service.export_data(db, platform_id=p.id, user_id=uid))
register_purger("fraud.closed_accounts", kind="account", fn=_purge)
