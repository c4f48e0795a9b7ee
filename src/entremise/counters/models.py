"""One row per named sequence of a platform."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class Counter(Base):
    __tablename__ = "counters"

    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
