"""The registry of payment provider adapters, and which one a platform uses.

An adapter is built per use by a factory from a `ProviderContext` (the caller's session and the
time: the sandbox keeps its records in the engine's database; a real adapter ignores them and
talks HTTP). The platform's setting `payments.provider` names the adapter (default `sandbox`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.kernel.errors import Conflict
from entremise.payments.port import PaymentProvider
from entremise.platforms import service as platforms


@dataclass(frozen=True)
class ProviderContext:
    db: Session
    now: datetime
    platform_id: str | None  # None when a webhook has not yet said which platform it is about


AdapterFactory = Callable[[ProviderContext], PaymentProvider]

_ADAPTERS: dict[str, AdapterFactory] = {}
_LOCK = threading.Lock()


def register_adapter(name: str, factory: AdapterFactory) -> None:
    with _LOCK:
        if _ADAPTERS.get(name, factory) is not factory:
            raise ValueError(f"another payment provider adapter is registered as {name!r}")
        _ADAPTERS[name] = factory


def adapter_names() -> list[str]:
    return sorted(_ADAPTERS)


def adapter(name: str, context: ProviderContext) -> PaymentProvider:
    factory = _ADAPTERS.get(name)
    if factory is None:
        raise Conflict(
            f"the payment provider {name!r} is not available on this deployment",
            extra={"provider": name, "available": adapter_names()},
        )
    return factory(context)


def provider_name(db: Session, platform_id: str) -> str:
    return platforms.get(db, platform_id).settings.payments.provider


def for_platform(db: Session, *, platform_id: str, now: datetime) -> PaymentProvider:
    """The adapter the platform's settings name."""
    return adapter(provider_name(db, platform_id), ProviderContext(db, now, platform_id))
