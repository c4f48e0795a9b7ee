"""The moderation section of a platform's settings (docs/moderation.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # COMMON-NOTICE-1 (000 §8.2, 004 §10.2): the French LCEN identity details, the addressee of the
    # content and the copy of the letter to its author are asked for; off, a notice needs only what
    # LAW-DSA-16 asks (explanation, exact location, name and e-mail, good faith).
    require_lcen_fields: bool = True
    # LAW-DSA-20: decisions can be contested for at least 6 months
    complaint_months: int = Field(default=6, ge=6, le=60)
    # abuse limits on the public notice form (per client address, per notifier e-mail)
    notices_per_ip_per_hour: int = Field(default=10, ge=1, le=10_000)
    notices_per_email_per_day: int = Field(default=20, ge=1, le=10_000)
