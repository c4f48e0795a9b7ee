"""The reviews section of a platform's settings, each figure beside the rule it implements."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReviewsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # whether a review must carry a text, and its length (CARPOOL-RATING-1: optional comment)
    text: Literal["optional", "required"] = "optional"
    text_min_chars: int = Field(default=10, ge=1, le=1000)  # when the text is required
    text_max_chars: int = Field(default=5000, ge=1, le=50_000)
    # CONSULT-REVIEW-1: a completed DJob can be reviewed within 21 days
    djob_window_days: int | None = Field(default=21, ge=1, le=3660)
    # EXPERT-RATING-1: clients rate providers after an appointment; None: no time limit
    appointment_window_days: int | None = Field(default=None, ge=1, le=3660)
    # whether providers may also review their clients (both sides, as on carpool)
    providers_review_clients: bool = False
    # double-blind: a review stays hidden until the other side's is in, or until the window ends
    # (the transaction's review window, or this many days after completion when it has none)
    double_blind: bool = False
    blind_window_days: int = Field(default=14, ge=1, le=365)
    # the pre-moderation filter (COMMON-MODERATION-1): flagged texts wait for a person
    content_filter: bool = True
