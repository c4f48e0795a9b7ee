"""Privacy hooks of the moderation module: the export section (COMMON-PRIVACY-1) and the erasure of
notifiers' identities from decided notices past the account retention (COMMON-PRIVACY-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from entremise.moderation import service
from entremise.platforms.service import PlatformView
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger


def _purge(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    if cutoff is None:
        return PurgeResult(0)
    ids = service.purge_notices(db, platform_id=platform.id, before=cutoff)
    return PurgeResult(len(ids), {"notice_ids": ids, "fields": ["name", "email", "identity details"]})


register_exporter(
    "moderation",
    lambda db, platform, user_id: service.export_data(db, platform_id=platform.id, user_id=user_id),
)
register_purger("moderation.notifiers", kind="account", fn=_purge)
