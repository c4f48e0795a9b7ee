"""Per-platform figures of metered sessions, each beside the rule it implements. A pack fills them
(`consult`, `expert`); an operator overrides them without code."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MeteringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "EUR"
    provider: str = "sandbox"  # the telephony/video provider of the platform
    # how the split works on end: `resale` (consult: the platform buys from the provider and
    # resells, keeping a commission per provider, VAT on the whole price) or `fee` (expert: the
    # provider sells, the platform charges the provider a fixed fee per consultation, EXPERT-FEE-1)
    model: Literal["resale", "fee"] = "resale"
    # CONSULT-CALL-1, EXPERT-PRICE-1: per-second metering, billed by this increment (60: per started minute)
    billing_increment_seconds: int = Field(default=60, ge=1, le=3600)
    connection_fee: int = Field(default=125, ge=0)  # CONSULT-CALL-2: per call, minor units (1.25 €)
    mobile_surcharge_per_minute: int = Field(default=10, ge=0)  # CONSULT-CALL-3: minor units (0.10 €)
    # EXPERT-PRICE-4: a per-minute consultation never exceeds this, all taxes included (None: no cap)
    per_minute_cap: int | None = Field(default=None, ge=1)
    # EXPERT-PRICE-2: package bounds; EXPERT-PRICE-3: up to this many minutes, a package of which at
    # most one third was honoured costs one third of its price
    package_min_minutes: int = Field(default=5, ge=1)
    package_max_minutes: int = Field(default=90, ge=1)
    one_third_max_minutes: int = Field(default=60, ge=0)
    fee_per_consultation: int = Field(default=0, ge=0)  # EXPERT-FEE-1: charged to the provider
    default_commission_percent: Decimal = Field(default=Decimal("30"), ge=0, le=100)  # consult (§6.1)
    vat_rate: Decimal = Field(default=Decimal("20.0"), ge=0, le=100)
    warn_before_end_seconds: int = Field(default=60, ge=0)  # the client is warned a minute before the end
    ring_timeout_seconds: int = Field(default=60, ge=5, le=600)  # no answer by then: no_show
    max_session_minutes: int = Field(default=240, ge=1, le=24 * 60)  # a free call still ends
    # how long a consultation waits for a late "answered" after its "ended" before it is closed
    settle_grace_seconds: int = Field(default=600, ge=0)
