"""Claims in the privacy export (COMMON-PRIVACY-1): the claims the user filed, in full; the claims
filed against them as provider, without the claimant's name and contact (the claimant shows by display
name); the evidence and answers they wrote, the answers they received, their claims' refunds, and the
mediator a provider declared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entremise.claims.models import Claim, ClaimAnswer, ClaimEvidence, ClaimRefund, ProviderMediator
from entremise.privacy.parties import display_name, iso
from entremise.privacy.registry import register_exporter


def _claim(db: Session, c: Claim, as_claimant: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "reference": c.reference,
        "as": "claimant" if as_claimant else "respondent",
        "kind": c.kind,
        "rules": c.rules,
        "subject_id": c.subject_id,
        "state": c.state,
        "object": c.object,
        "comment": c.comment,
        "occurred_at": iso(c.occurred_at),
        "filed_at": iso(c.filed_at),
        "acknowledged_at": iso(c.acknowledged_at),
        "answer_due_at": iso(c.answer_due_at),
        "answered_at": iso(c.answered_at),
        "decision": c.decision,
        "escalated_at": iso(c.escalated_at),
        "closed_at": iso(c.closed_at),
    }
    if as_claimant:
        out |= {"name": c.name, "contact": c.contact, "pseudonym": c.pseudonym}
        out["other_party"] = display_name(db, c.platform_id, c.respondent_id or c.provider_id)
    else:
        out["other_party"] = display_name(db, c.platform_id, c.claimant_id)
    return out


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    claims = db.scalars(
        select(Claim)
        .where(
            Claim.platform_id == platform_id,
            or_(Claim.claimant_id == user_id, Claim.respondent_id == user_id, Claim.provider_id == user_id),
        )
        .order_by(Claim.filed_at, Claim.id)
    ).all()
    own = [c.id for c in claims if c.claimant_id == user_id]
    evidence = db.scalars(
        select(ClaimEvidence)
        .where(ClaimEvidence.platform_id == platform_id, ClaimEvidence.added_by == user_id)
        .order_by(ClaimEvidence.added_at, ClaimEvidence.id)
    ).all()
    answers = db.scalars(
        select(ClaimAnswer)
        .where(
            ClaimAnswer.platform_id == platform_id,
            or_(ClaimAnswer.author_id == user_id, ClaimAnswer.claim_id.in_(own)),
        )
        .order_by(ClaimAnswer.answered_at, ClaimAnswer.id)
    ).all()
    refunds = db.scalars(
        select(ClaimRefund)
        .where(ClaimRefund.platform_id == platform_id, ClaimRefund.claim_id.in_(own))
        .order_by(ClaimRefund.created_at, ClaimRefund.id)
    ).all()
    mediator = db.scalar(
        select(ProviderMediator).where(
            ProviderMediator.platform_id == platform_id, ProviderMediator.provider_id == user_id
        )
    )
    return {
        "claims": [_claim(db, c, c.claimant_id == user_id) for c in claims],
        "evidence": [
            {
                "claim_id": e.claim_id,
                "kind": e.kind,
                "text": e.text,
                "reference": e.reference,
                "added_as": e.added_as,
                "added_at": iso(e.added_at),
            }
            for e in evidence
        ],
        "answers": [
            {
                "claim_id": a.claim_id,
                "as": "author" if a.author_id == user_id else "claimant",
                "decision": a.decision,
                "reasons": a.reasons,
                "remedy": a.remedy,
                "answered_at": iso(a.answered_at),
                "on_time": a.on_time,
            }
            for a in answers
        ],
        "refunds": [
            {
                "claim_id": r.claim_id,
                "kind": r.kind,
                "amount": r.amount,
                "currency": r.currency,
                "method": r.method,
                "status": r.status,
                "created_at": iso(r.created_at),
            }
            for r in refunds
        ],
        "mediator": None
        if mediator is None
        else {
            "name": mediator.name,
            "address": mediator.address,
            "website": mediator.website,
            "email": mediator.email,
            "updated_at": iso(mediator.updated_at),
        },
    }


register_exporter("claims", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
