"""The payouts section of a platform's settings (EXPERT-WALLET-2, CARPOOL-PAY-1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PayoutSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "EUR"
    # EXPERT-WALLET-2: a payout is ordered only when the wallet holds at least this much (cents)
    minimum_balance: int = Field(default=5000, ge=0)
    # CARPOOL-PAY-1: no transfer under this amount (cents); what is left carries over
    minimum_transfer: int = Field(default=100, ge=1)
    # "on_request": the provider asks; "monthly": the worker pays every wallet after each month ends
    schedule: Literal["on_request", "monthly"] = "on_request"
    rules: list[str] = Field(default_factory=lambda: ["EXPERT-WALLET-1", "EXPERT-WALLET-2"])
