"""Growth in the privacy export (COMMON-PRIVACY-1): a provider's personal links and the referral
commissions earned, and how the user was attributed at sign-up. A referrer sees the people they
brought by display name only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.growth.models import PersonalLink, ReferralCommission, SignupAttribution
from entremise.privacy.parties import display_name, iso
from entremise.privacy.registry import register_exporter


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    links = db.scalars(
        select(PersonalLink)
        .where(PersonalLink.platform_id == platform_id, PersonalLink.provider_id == user_id)
        .order_by(PersonalLink.created_at, PersonalLink.id)
    ).all()
    attributions = db.scalars(
        select(SignupAttribution)
        .where(
            SignupAttribution.platform_id == platform_id,
            or_(SignupAttribution.user_id == user_id, SignupAttribution.provider_id == user_id),
        )
        .order_by(SignupAttribution.created_at, SignupAttribution.id)
    ).all()
    commissions = db.scalars(
        select(ReferralCommission)
        .where(ReferralCommission.platform_id == platform_id, ReferralCommission.referrer_id == user_id)
        .order_by(ReferralCommission.created_at, ReferralCommission.id)
    ).all()
    return {
        "links": [{"slug": k.slug, "created_at": iso(k.created_at)} for k in links],
        "attributions": [
            {
                "as": "referred" if a.user_id == user_id else "referrer",
                "other_party": display_name(
                    db, platform_id, a.provider_id if a.user_id == user_id else a.user_id
                ),
                "kind": a.kind,
                "slug": a.slug,
                "created_at": iso(a.created_at),
            }
            for a in attributions
        ],
        "commissions": [
            {
                "id": c.id,
                "consultation_id": c.consultation_id,
                "referee": display_name(db, platform_id, c.referee_id),
                "base": c.base,
                "percent": c.percent,
                "amount": c.amount,
                "currency": c.currency,
                "reason": c.reason,
                "created_at": iso(c.created_at),
            }
            for c in commissions
        ],
    }


register_exporter("growth", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
