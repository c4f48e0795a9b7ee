"""Per-platform figures of availability and appointments, each beside the rule it implements."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SchedulingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "EUR"
    # EXPERT-CONSULT-1: slots on a chosen time; their starts fall every `slot_step_minutes` from the
    # start of each availability interval; booking at most `max_days_ahead` days ahead; a listing
    # of free slots covers at most `max_listing_days` days
    slot_step_minutes: int = Field(default=15, ge=5, le=240)
    max_days_ahead: int = Field(default=90, ge=1, le=730)
    max_listing_days: int = Field(default=31, ge=1, le=92)
    # bounds within which each provider sets a minimum booking notice and buffers (EXPERT-CONSULT-1)
    min_notice_minutes_default: int = Field(default=120, ge=0)
    min_notice_minutes_floor: int = Field(default=0, ge=0)
    min_notice_minutes_ceiling: int = Field(default=7 * 24 * 60, ge=0)
    buffer_minutes_max: int = Field(default=120, ge=0, le=24 * 60)
    # EXPERT-PRICE-2: a package lasts 5 to 90 minutes; a per-minute appointment books a duration
    # chosen within the same bounds
    package_min_minutes: int = Field(default=5, ge=1)
    package_max_minutes: int = Field(default=90, ge=1, le=24 * 60)
    # EXPERT-PRICE-4: a per-minute (free-rate) consultation never exceeds 50 € all taxes included
    per_minute_budget_cap: int = Field(default=5000, ge=1)  # minor units
    # EXPERT-FEE-1: the platform's fee, part of the price the client pays (tariff sheet): per minute
    # of a per-minute consultation, and per package consultation (minor units)
    fee_per_minute: int = Field(default=0, ge=0)
    fee_per_package: int = Field(default=0, ge=0)
    # EXPERT-CANCEL-1: a client cancelling less than 48 hours before pays 10 minutes at the rate
    # (per-minute) or 15 % of the package; the platform's part is 10 minutes / 15 % of its fee
    cancel_free_hours: int = Field(default=48, ge=0)
    cancel_per_minute_fee_minutes: int = Field(default=10, ge=0)
    cancel_package_fee_percent: int = Field(default=15, ge=0, le=100)
    # EXPERT-CANCEL-2: a provider cancelling less than this many hours before, or missing the
    # appointment, is charged the cancellation fee for the platform
    provider_fee_free_hours: int = Field(default=48, ge=0)
    # reminders, joining, deciding who missed it, closing a consultation metering never settled
    reminder_minutes_before: int = Field(default=24 * 60, ge=0)
    join_opens_minutes_before: int = Field(default=15, ge=0, le=24 * 60)
    no_show_grace_minutes: int = Field(default=15, ge=0, le=24 * 60)
    settle_within_hours: int = Field(default=24, ge=1, le=24 * 30)

    @model_validator(mode="after")
    def _bounds(self) -> SchedulingSettings:
        if (
            not self.min_notice_minutes_floor
            <= self.min_notice_minutes_default
            <= self.min_notice_minutes_ceiling
        ):
            raise ValueError("min_notice_minutes_default must lie between the floor and the ceiling")
        if self.package_min_minutes > self.package_max_minutes:
            raise ValueError("package_min_minutes must not exceed package_max_minutes")
        return self
