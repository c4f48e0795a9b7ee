"""Per-platform figures of digital jobs (DJobs), each beside the rule it implements."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

DOCUMENTS = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
]


class OrdersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "EUR"
    # consult §6.1: the platform buys each DJob from the provider and resells it, keeping a
    # commission agreed with each provider (CONSULT-DJOB-1); `commission_percent` applies to
    # providers without an agreed figure of their own
    commission_percent: Decimal = Field(default=Decimal("30"), ge=0, le=100)
    commission_percent_by_provider: dict[str, Decimal] = Field(default_factory=dict)
    # CONSULT-DJOB-1: the cart (offer, quantity, price to pay) and the client's brief
    max_quantity: int = Field(default=10, ge=1, le=1000)
    brief_max_chars: int = Field(default=5000, ge=1, le=100_000)
    brief_max_files: int = Field(default=10, ge=0, le=50)
    brief_file_types: list[str] = Field(default_factory=lambda: list(DOCUMENTS))
    brief_file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # CONSULT-DJOB-1: delivered through the platform
    delivery_max_files: int = Field(default=20, ge=1, le=100)
    delivery_file_types: list[str] = Field(
        default_factory=lambda: [*DOCUMENTS, "application/zip", "audio/mpeg", "video/mp4"]
    )
    delivery_file_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    # the provider answers an order within this time, or it expires and the hold is released
    answer_within_hours: int = Field(default=72, ge=1, le=24 * 30)
    # a delivery the client neither accepts nor sends back for revision is accepted after this
    auto_accept_days: int = Field(default=7, ge=1, le=90)
    # how many times the client may ask for a revision of a delivery
    max_revisions: int = Field(default=2, ge=0, le=20)
    # offers
    title_max_chars: int = Field(default=120, ge=10, le=500)
    description_max_chars: int = Field(default=5000, ge=10, le=100_000)
    max_delivery_days: int = Field(default=90, ge=1, le=365)
