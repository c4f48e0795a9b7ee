"""What an appointment with a provider costs: the offer the client chose, resolved to `Terms`.

The provider rate catalog (another module) will register its resolver here with
`register_resolver(fn)`; until then the prices a provider publishes with the schedule
(a per-minute rate, and packages of 5 to 90 minutes) are used. The platform's fee in them comes from
the platform's tariff (`scheduling.fee_per_minute`, `scheduling.fee_per_package`, EXPERT-FEE-1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from entremise.kernel.errors import FieldError, InvalidInput
from entremise.kernel.money import Money
from entremise.platforms.service import PlatformView
from entremise.scheduling import domain
from entremise.scheduling.domain import Terms
from entremise.scheduling.models import ProviderSchedule


@dataclass(frozen=True)
class OfferChoice:
    """The client's choice: a per-minute appointment of `minutes`, or the provider's package of `minutes`."""

    kind: Literal["per_minute", "package"]
    minutes: int


Resolver = Callable[[Session, PlatformView, ProviderSchedule, OfferChoice, str], Terms]
_RESOLVERS: list[Resolver] = []


def register_resolver(fn: Resolver) -> None:
    """Replace the built-in resolution (the catalog module calls this once, at import)."""
    _RESOLVERS[:] = [fn]


def resolve(
    db: Session, platform: PlatformView, schedule: ProviderSchedule, choice: OfferChoice, field: str
) -> Terms:
    """The terms of the chosen offer; InvalidInput naming `field` when the provider offers no such thing."""
    if _RESOLVERS:
        return _RESOLVERS[0](db, platform, schedule, choice, field)
    return published_terms(platform, schedule, choice, field)


def published_terms(
    platform: PlatformView, schedule: ProviderSchedule, choice: OfferChoice, field: str
) -> Terms:
    s = platform.settings.scheduling
    currency = schedule.currency
    if not s.package_min_minutes <= choice.minutes <= s.package_max_minutes:
        raise InvalidInput(
            [
                FieldError(
                    f"{field}.minutes", f"from {s.package_min_minutes} to {s.package_max_minutes} minutes"
                )
            ],
            rules=["EXPERT-PRICE-2"],
        )
    if choice.kind == "per_minute":
        if schedule.per_minute_rate is None:
            raise InvalidInput(
                [FieldError(f"{field}.kind", "this provider takes no per-minute appointments")]
            )
        decision = domain.per_minute_terms(
            Money(schedule.per_minute_rate, currency),
            Money(s.fee_per_minute, currency),
            choice.minutes,
            Money(s.per_minute_budget_cap, currency),
        )
        if decision.outcome is None:
            raise InvalidInput([FieldError(f"{field}.minutes", decision.reason)], rules=decision.rules)
        return decision.outcome
    for package in schedule.packages:
        if package["minutes"] == choice.minutes:
            return domain.package_terms(
                Money(package["price"], currency), Money(s.fee_per_package, currency), choice.minutes
            ).outcome
    offered = ", ".join(str(p["minutes"]) for p in schedule.packages) or "none"
    raise InvalidInput(
        [FieldError(f"{field}.minutes", f"no package of that length (offered: {offered} minutes)")]
    )
