"""Payments' part of a user's data export (COMMON-PRIVACY-1): their payments, refunds, mandates
(holder name and the IBAN's last four characters: the IBAN itself is never stored) and
chargebacks.

No purger: payment records are accounting evidence (kept ten years, Code de commerce L123-22),
and the card and bank-account fingerprints are one-way hashes kept with them for fraud checks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from entremise.payments import service
from entremise.platforms.service import PlatformView
from entremise.privacy.registry import register_exporter


def export_data(db: Session, platform: PlatformView, user_id: str) -> dict[str, Any]:
    payments = service.list_payments(db, platform_id=platform.id, payer_id=user_id, limit=100_000)
    return {
        "payments": [
            {
                "id": p.id,
                "kind": p.kind,
                "status": p.status,
                "amount": p.amount.amount,
                "currency": p.amount.currency,
                "captured": p.captured.amount,
                "refunded": p.refunded.amount,
                "charged_back": p.charged_back.amount,
                "provider": p.provider,
                "provider_ref": p.provider_ref,
                "created_at": p.created_at.isoformat(),
                "refunds": [
                    {"id": r.id, "amount": r.amount.amount, "status": r.status, "reason": r.reason}
                    for r in service.refunds_of(db, platform_id=platform.id, payment_id=p.id)
                ],
            }
            for p in payments
        ],
        "mandates": [
            {
                "id": m.id,
                "status": m.status,
                "holder_name": m.holder_name,
                "iban_last4": m.iban_last4,
                "created_at": m.created_at.isoformat(),
            }
            for m in service.mandates_of(db, platform_id=platform.id, user_id=user_id)
        ],
        "chargebacks": [
            {
                "id": c.id,
                "payment_id": c.payment_id,
                "amount": c.amount.amount,
                "reason": c.reason,
                "status": c.status,
            }
            for c in service.chargebacks_of(db, platform_id=platform.id, user_id=user_id)
        ],
    }


register_exporter("payments", export_data)
