"""Which payment provider adapter KYC and payouts talk to.

The adapters and their registry belong to the payments module; this module only needs a function
`(db, platform_id, now) -> PaymentProvider`. By default it is the adapter the platform's settings
name (`payments.provider`, the sandbox unless set); `set_provider_lookup` replaces it (a test
standing a recording provider behind the port), `set_provider_lookup(None)` restores the default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.payments import providers
from entremise.payments.port import PaymentProvider

ProviderLookup = Callable[[Session, str, datetime], PaymentProvider]


def _platform_adapter(db: Session, platform_id: str, now: datetime) -> PaymentProvider:
    return providers.for_platform(db, platform_id=platform_id, now=now)


_lookup: ProviderLookup = _platform_adapter


def set_provider_lookup(fn: ProviderLookup | None) -> None:
    global _lookup
    _lookup = fn or _platform_adapter


def provider_for(db: Session, platform_id: str, now: datetime) -> PaymentProvider:
    """The platform's adapter; Conflict when the one its settings name is not installed."""
    return _lookup(db, platform_id, now)
