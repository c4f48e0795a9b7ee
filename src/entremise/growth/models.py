"""Tables of growth: personal links, sign-up attributions, referral commissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class PersonalLink(Base):
    """A provider's slug: `/consultation/<slug>` and `/inscription/<slug>` (EXPERT-LINK-1, EXPERT-REFER-1)."""

    __tablename__ = "personal_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    provider_id: Mapped[str] = mapped_column(String(36))
    slug: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "slug", name="uq_personal_links_slug"),
        UniqueConstraint("platform_id", "provider_id", name="uq_personal_links_provider"),
    )


class SignupAttribution(Base):
    """Through whose link an account signed up (EXPERT-SIGNUP-2; `inscription`: a referee, EXPERT-REFER-1)."""

    __tablename__ = "signup_attributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    provider_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # consultation | inscription
    slug: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("platform_id", "user_id", name="uq_signup_attributions_user"),)


class ReferralCommission(Base):
    """EXPERT-REFER-1: one commission per settled consultation of a referred provider."""

    __tablename__ = "referral_commissions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    consultation_id: Mapped[str] = mapped_column(String(64))
    referrer_id: Mapped[str] = mapped_column(String(36))
    referee_id: Mapped[str] = mapped_column(String(36))
    base: Mapped[int] = mapped_column(BigInteger)
    percent: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ledger_transaction_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("platform_id", "consultation_id", name="uq_referral_commissions_consultation"),
    )
