"""KYC and payouts data in a person's export, and the retention of KYC documents.

KYC documents are identity data: refused or superseded documents, and every document of a closed
account, are deleted once older than the platform's `civil_identity` retention (COMMON-PRIVACY-3).
Validated documents of an open account stay: the payment provider's KYC depends on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.kyc import service as kyc
from entremise.payouts import service as payouts
from entremise.platforms.service import PlatformView
from entremise.privacy import domain
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger


def _purge(db: Session, platform: PlatformView, cutoff: datetime | None, now: datetime) -> PurgeResult:
    assert cutoff is not None
    closed = accounts.closed_user_ids(db, platform_id=platform.id, closed_before=cutoff)
    ids = kyc.purge_documents(db, platform_id=platform.id, before=cutoff, closed_user_ids=closed)
    return PurgeResult(len(ids), {"kyc_documents": ids})


register_exporter("kyc", lambda db, p, uid: kyc.export_data(db, platform_id=p.id, user_id=uid))
register_exporter("payouts", lambda db, p, uid: payouts.export_data(db, platform_id=p.id, user_id=uid))
register_purger(
    "kyc.documents", kind="civil_identity", fn=_purge, rules=("EXPERT-WALLET-1", domain.RULE_RETENTION)
)
