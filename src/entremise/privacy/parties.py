"""Helpers for module exporters (COMMON-PRIVACY-1): the other party of a record is shown by its
display name only, never by its contact details."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts.models import User


def display_name(db: Session, platform_id: str, user_id: str | None) -> str | None:
    """The first name another user shows on the platform, or None (unknown or erased)."""
    if user_id is None:
        return None
    return db.scalar(select(User.first_name).where(User.platform_id == platform_id, User.id == user_id))


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
