"""DJobs, the pure part: the price of a cart, the commission, the brief, revisions, the rights
clause recorded with each order (CONSULT-DJOB-1)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money

RIGHTS_CLAUSE = (
    "The client remains the holder of the intellectual and industrial property rights on the brief and "
    "on every file they hand over for this job, and states that they hold those rights; the provider "
    "uses them only to carry out this job."
)


@dataclass(frozen=True)
class Split:
    """What the client pays for an order: `commission` to the platform, the rest to the provider."""

    total: Money
    commission: Money

    @property
    def provider(self) -> Money:
        return self.total - self.commission


def cart_total(unit_price: Money, quantity: int) -> Decision[Money]:
    """CONSULT-DJOB-1: the cart shows the offer, the quantity and the price to pay."""
    total = unit_price.times(quantity)
    return Decision(total, rules=("CONSULT-DJOB-1",), reason=f"{quantity} × {unit_price} = {total}")


def commission_split(total: Money, percent: Decimal) -> Decision[Split]:
    """CONSULT-DJOB-1 (consult §6.1): the platform resells the job and keeps its commission."""
    commission = total.percent(percent)
    return Decision(
        Split(total, commission),
        rules=("CONSULT-DJOB-1",),
        reason=f"{percent} % commission on {total}: {commission} to the platform, {total - commission} to the provider",
    )


def brief_verdict(brief: str, max_chars: int) -> Verdict:
    if not brief.strip():
        return Verdict.refuse("CONSULT-DJOB-1", reason="the brief is required: say what you expect")
    if len(brief) > max_chars:
        return Verdict.refuse("CONSULT-DJOB-1", reason=f"at most {max_chars} characters ({len(brief)} given)")
    return Verdict.allow("CONSULT-DJOB-1", reason="the client's brief")


def revision_verdict(used: int, limit: int) -> Verdict:
    if used >= limit:
        return Verdict.refuse(
            "CONSULT-DJOB-1",
            reason=f"the {limit} revision{'s' if limit != 1 else ''} this order allows {'have' if limit != 1 else 'has'} been used",
        )
    return Verdict.allow("CONSULT-DJOB-1", reason=f"revision {used + 1} of {limit}")
