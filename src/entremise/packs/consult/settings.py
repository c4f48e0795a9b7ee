"""The consult pack's own figures, each beside the rule it implements (see docs/pack-consult.md).

The call tariff (CONSULT-CALL-1/2/3) and the chargeback figures (CONSULT-CHARGEBACK-1) are the
metering and payments modules' settings, which the pack fills.

Pure pydantic: imported by the platform settings to validate `pack_settings`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from entremise.packs.base import figure


class CreditPack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: int = Field(ge=1, description="what the client pays, minor units")
    bonus: int = Field(default=0, ge=0, description="credit offered on top, minor units")


def _packs() -> list[CreditPack]:
    return [
        CreditPack(price=p, bonus=b)
        for p, b in ((1000, 0), (1000, 500), (3000, 0), (3000, 1500), (5000, 0), (5000, 2500), (10000, 0))
    ]


class ConsultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = figure(
        "EUR", "CONSULT-CREDIT-1", description="currency of every figure", pattern=r"^[A-Z]{3}$"
    )
    credit_packs: list[CreditPack] = figure(
        _packs, "CONSULT-CREDIT-1", description="prepaid credit packs on sale", min_length=1, max_length=30
    )
    cut_call_refund_max_minutes: int = figure(
        5, "CONSULT-CALL-4", description="a cut call is refundable only up to this duration", ge=0, le=600
    )
    gift_minutes_default: int = figure(
        10, "CONSULT-GIFT-1", description="free minutes of the discovery offer", ge=0, le=600
    )
    inactivity_months: int = figure(
        12,
        "CONSULT-GIFT-1",
        description="months without login that close the offer and the account",
        ge=1,
        le=120,
    )
    review_min_minutes: int = figure(
        3,
        "CONSULT-REVIEW-1",
        description="a consultation must last longer than this to be reviewed",
        ge=0,
        le=600,
    )
    review_window_days: int = figure(
        21,
        "CONSULT-REVIEW-1",
        description="days after the consultation a review may be written",
        ge=1,
        le=366,
    )
    recording_enabled: bool = figure(
        True, "CONSULT-RECORD-1", description="conversations are recorded as evidence"
    )
    recording_retention_months: int = figure(
        12, "CONSULT-RECORD-1", description="months a recording is kept", ge=1, le=120
    )
    sanction_remedy_days: int = figure(
        30,
        "CONSULT-SANCTION-1",
        description="days a formal notice gives to remedy a lesser breach",
        ge=1,
        le=365,
    )
    outage_refund_within_days: int = figure(
        30, "CONSULT-OUTAGE-1", description="days within which an outage is refunded", ge=1, le=365
    )
    package_unused_notice_months: int = figure(
        2, "CONSULT-PACKAGE-1", description="months unused after which the client is told", ge=1, le=24
    )

    @model_validator(mode="after")
    def _distinct_packs(self) -> ConsultSettings:
        seen = {(p.price, p.bonus) for p in self.credit_packs}
        if len(seen) != len(self.credit_packs):
            raise ValueError("credit_packs: two packs have the same price and bonus")
        return self
