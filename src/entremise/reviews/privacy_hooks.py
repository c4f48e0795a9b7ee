"""Reviews in the privacy export: the reviews a user wrote (whatever their status) and the published
reviews about them (COMMON-PRIVACY-1). Reviews are public content the platform keeps while the
account lives; they carry no retention kind of their own, so no purger is registered."""

from __future__ import annotations

from entremise.privacy.registry import register_exporter
from entremise.reviews import service

register_exporter("reviews", lambda db, p, uid: service.export_data(db, platform_id=p.id, user_id=uid))
