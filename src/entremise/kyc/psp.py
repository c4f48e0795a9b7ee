"""Which payment provider adapter KYC and payouts talk to.

The adapters and their registry belong to the payments module; this module only needs a function
`(db, platform_id, now) -> PaymentProvider`. The payments module (or a deployment, or a test)
installs it with `set_provider_lookup`; until then calls that need the provider are refused with
a Conflict, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.kernel.errors import Conflict
from entremise.payments.port import PaymentProvider

ProviderLookup = Callable[[Session, str, datetime], PaymentProvider]

_lookup: ProviderLookup | None = None


def set_provider_lookup(fn: ProviderLookup | None) -> None:
    global _lookup
    _lookup = fn


def provider_for(db: Session, platform_id: str, now: datetime) -> PaymentProvider:
    if _lookup is None:
        raise Conflict("no payment provider adapter is installed on this deployment")
    return _lookup(db, platform_id, now)
