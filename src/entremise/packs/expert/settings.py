"""The expert pack's own figures, each beside the rule it implements (see docs/pack-expert.md).

Prices, packages, the one-third rule and the fixed fee (EXPERT-PRICE-1..4, EXPERT-FEE-1) are the
metering module's settings, which the pack fills.

Pure pydantic: imported by the platform settings to validate `pack_settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from entremise.packs.base import figure

SANCTIONS = ("suspend_access", "remove_content", "block_wallet", "publish_notice", "alert_authorities")


class ExpertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = figure(
        "EUR", "EXPERT-FEE-1", description="currency of every figure", pattern=r"^[A-Z]{3}$"
    )
    payout_minimum: int = figure(
        5000, "EXPERT-WALLET-2", description="wallet balance needed to order a payout", ge=0
    )
    kyc_answer_hours: int = figure(
        48, "EXPERT-WALLET-1", description="hours to tell the KYC outcome", ge=1, le=24 * 30
    )
    kyc_document_max_age_days: int = figure(
        90,
        "EXPERT-WALLET-1",
        description="proof of address and registry extract under this age",
        ge=1,
        le=366,
    )
    recording_enabled: Literal[False] = figure(
        False, "EXPERT-RECORD-1", description="the platform records no exchange (cannot be turned on)"
    )
    provider_may_oppose_rating: Literal[False] = figure(
        False, "EXPERT-RATING-1", description="a provider cannot oppose a rating's publication"
    )
    sanctions: list[
        Literal["suspend_access", "remove_content", "block_wallet", "publish_notice", "alert_authorities"]
    ] = figure(
        lambda: list(SANCTIONS), "EXPERT-SANCTION-1", description="sanctions staff may apply", min_length=1
    )
    min_age: int = figure(18, "EXPERT-SIGNUP-1", description="members are adults", ge=18, le=120)
