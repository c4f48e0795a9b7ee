"""Privacy hooks of the sanctions module: the export section (COMMON-PRIVACY-1)."""

from __future__ import annotations

from entremise.privacy.registry import register_exporter
from entremise.sanctions import service

register_exporter(
    "sanctions",
    lambda db, platform, user_id: service.export_data(db, platform_id=platform.id, user_id=user_id),
)
