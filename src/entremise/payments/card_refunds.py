"""The `card` refund method of claims (`claims.refunds`): a claim resolution refunded to the card.

The subject's facts say who paid (`payer_id`), how much may be refunded and which ledger account
received the money (`received_by`). The refund goes to the payer's most recent received card
payment (pay-in or captured pre-authorisation) that still has enough refundable; the money is
reserved at once on `received_by` (a ledger hold) and moves to the clearing account when the
provider confirms. The claim records the method as `pending` with the provider's refund reference.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.claims.refunds import RefundRequest, RefundResult, register_refund_method
from entremise.kernel.errors import Conflict
from entremise.payments import service
from entremise.payments.models import Payment


def refund_to_card(db: Session, request: RefundRequest) -> RefundResult:
    facts = request.facts
    if facts.payer_id is None or facts.received_by is None:
        raise Conflict(
            "this subject does not say who paid and which account received it", rules=request.rules
        )
    rows = db.scalars(
        select(Payment)
        .where(
            Payment.platform_id == request.platform_id,
            Payment.payer_id == facts.payer_id,
            Payment.kind.in_(("payin", "preauth")),
            Payment.status.in_(("succeeded", "captured")),
            Payment.currency == request.amount.currency,
        )
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    for payment in rows:
        view = service.get_payment(db, platform_id=request.platform_id, payment_id=payment.id)
        if view.refundable.amount >= request.amount.amount:
            refund = service.refund(
                db,
                platform_id=request.platform_id,
                payment_id=payment.id,
                amount=request.amount,
                reason=f"claim {request.claim_reference}",
                rules=request.rules,
                idempotency_key=f"claim:{request.idempotency_key}",
                now=request.now,
                actor=request.actor,
                source_account_id=facts.received_by,
            )
            return RefundResult("pending" if refund.status == "pending" else "done", refund.provider_ref)
    raise Conflict(f"no card payment of this payer has {request.amount} left to refund", rules=request.rules)


register_refund_method("card", refund_to_card)
