"""Privacy hooks of the moderation module: the export section (COMMON-PRIVACY-1)."""

from __future__ import annotations

from entremise.moderation import service
from entremise.privacy.registry import register_exporter

register_exporter(
    "moderation",
    lambda db, platform, user_id: service.export_data(db, platform_id=platform.id, user_id=user_id),
)
