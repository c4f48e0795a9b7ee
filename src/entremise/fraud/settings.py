"""The fraud section of a platform's settings, each figure beside the rule it implements."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FraudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # CARPOOL-FRAUD-1: an abnormal share of verifications failing (trips, documents...) raises a case
    # once at least `failed_verification_min_count` verifications were made in the window
    failed_verification_percent: int = Field(default=30, ge=1, le=100)
    failed_verification_min_count: int = Field(default=5, ge=1, le=10_000)
    failed_verification_window_days: int = Field(default=90, ge=1, le=3660)
    # which shared identifiers link two accounts (COMMON-ACCOUNT-1, TEL-FRAUD-1)
    linking_identifiers: list[str] = Field(
        default_factory=lambda: ["device", "phone", "payment_instrument", "bank_account"]
    )
