"""Per-platform figures of personal links and referral, each beside the rule it implements."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GrowthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # EXPERT-LINK-1, EXPERT-REFER-1: the public address the personal links are built on
    # (`https://example.org` gives `https://example.org/consultation/zoe-durand`); when unset,
    # ENTREMISE_BASE_URL with `?platform=<slug>`
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+$")
    # EXPERT-REFER-1: the referrer earns `referral_percent` of the base (`platform_fee`: the fee the
    # platform earned on the referee's consultation; `price`: what the client paid for it) on each
    # consultation of a provider they referred, for `referral_days` after the referee signed up
    # (None: for as long as both accounts exist)
    referral_percent: Decimal = Field(default=Decimal("10"), ge=0, le=100)
    referral_base: Literal["platform_fee", "price"] = "platform_fee"
    referral_days: int | None = Field(default=None, ge=1)
