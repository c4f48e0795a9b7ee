"""The KYC section of a platform's settings (EXPERT-WALLET-1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KYC_FILE_TYPES = ("application/pdf", "image/jpeg", "image/png")


class KycSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_hours: int = Field(default=48, ge=1, le=24 * 30)  # EXPERT-WALLET-1: outcome within 48 h
    max_document_age_months: int = Field(default=3, ge=1, le=24)  # EXPERT-WALLET-1: < 3 months
    file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
