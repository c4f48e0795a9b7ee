"""The sanctions section of a platform's settings (docs/sanctions.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SanctionsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # CONSULT-SANCTION-1: a formal notice leaves 30 days to remedy (and to send a sworn statement)
    cure_days: int = Field(default=30, ge=1, le=365)
    cure_rules: list[str] = Field(default_factory=lambda: ["CONSULT-SANCTION-1"])
