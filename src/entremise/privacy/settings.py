"""Per-platform figures of the privacy module (the `privacy` section of the platform settings).

Retention periods are the platform's `retention_days` (COMMON-PRIVACY-3), which the closure of an
account already reads; `entremise.privacy.domain.RETENTION_KINDS` says what each one covers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # COMMON-PRIVACY-1 (GDPR art. 16): profile fields a user rectifies alone; the others (names, birth
    # date, e-mail, phone: identity and login) go through a rectification request that staff check.
    self_service_fields: list[str] = Field(
        default_factory=lambda: ["civility", "address", "country", "occupation", "landline", "company_name"]
    )
    # COMMON-PRIVACY-3: how often the worker runs the retention purge of this platform
    purge_interval_hours: int = Field(default=24, ge=1, le=24 * 7)
