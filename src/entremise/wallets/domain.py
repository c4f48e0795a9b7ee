"""Wallets, pure: credit pack presets, the spending order, refund and closure quotes, promo checks.

A client's wallet is two ledger accounts: `client_credit` (paid credit: money the client paid in)
and `client_bonus` (bonus credit: value the platform gave, funded by its `promotions` account).

Decisions taken here (documented in docs/wallets.md):
- Spending order: **bonus first**, then paid credit. The bonus can never be cashed out, while paid
  credit left over is refundable; spending the bonus first keeps as much refundable money on the
  client's side as possible.
- Refund of a pack: only the pack's paid price still unspent on the paid balance is refundable. The
  bonus that came with the pack is withdrawn in proportion to the part of the price refunded (half
  the price refunded, half the bonus withdrawn, rounded half-up); what of that bonus is no longer on
  the bonus balance (already spent) is deducted from the cash refunded, so buying a bonus pack,
  spending the bonus and refunding the price never turns the bonus into cash (CONSULT-CREDIT-1).
- Closure: the paid balance is refundable (set aside for the refund), the bonus balance is forfeited
  back to the promotions account; a bonus is never paid out in cash.

No I/O: the service reads balances and rows and asks these functions what to post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.errors import FieldError
from entremise.kernel.money import Money, is_currency, round_half_up

RULE_CREDIT = "CONSULT-CREDIT-1"
RULES_PROMO = ("CARPOOL-PROMO-1", "CONSULT-PROMO-1")

SPENDING_ORDER = ("bonus", "paid")

MAX_PACK_AMOUNT = 10_000_00  # 10 000 € in cents: no pack, bonus or promo value is larger
CONDITIONS = ("none", "new_client", "min_purchase")


@dataclass(frozen=True)
class PackSpec:
    """A credit pack: what the client pays (`price`, credited as paid credit) and the bonus given."""

    name: str
    price: Money
    bonus: Money

    @property
    def credited(self) -> Money:
        return self.price + self.bonus


def consult_packs(currency: str = "EUR") -> list[PackSpec]:
    """CONSULT-CREDIT-1: 10 €; 10 € + 5 € offered; 30 €; 30 € + 15 € offered; 50 €; 50 € + 25 €
    offered; 100 €."""
    figures = [(1000, 0), (1000, 500), (3000, 0), (3000, 1500), (5000, 0), (5000, 2500), (10000, 0)]
    out: list[PackSpec] = []
    for price, bonus in figures:
        p, b = Money(price, currency), Money(bonus, currency)
        name = f"{p}" if not bonus else f"{p} + {b} offered"
        out.append(PackSpec(name=name, price=p, bonus=b))
    return out


def check_pack(name: object, price: object, bonus: object, currency: object) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append(FieldError("body.name", "a name of 1 to 120 characters"))
    if isinstance(price, bool) or not isinstance(price, int) or not 0 < price <= MAX_PACK_AMOUNT:
        errors.append(FieldError("body.price", f"a whole number of cents, 1 to {MAX_PACK_AMOUNT}"))
    if isinstance(bonus, bool) or not isinstance(bonus, int) or not 0 <= bonus <= MAX_PACK_AMOUNT:
        errors.append(FieldError("body.bonus", f"a whole number of cents, 0 to {MAX_PACK_AMOUNT}"))
    if not is_currency(currency):
        errors.append(FieldError("body.currency", f"unsupported currency {currency!r}"))
    return errors


# --- spending order ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """How much of an amount each balance pays."""

    bonus: Money
    paid: Money

    @property
    def total(self) -> Money:
        return self.bonus + self.paid


def allocate(amount: Money, *, bonus_available: Money, paid_available: Money) -> Decision[Allocation | None]:
    """Bonus first, then paid credit (CONSULT-CREDIT-1); None when both together fall short."""
    zero = Money.zero(amount.currency)
    from_bonus = min(max(bonus_available, zero), amount)
    from_paid = amount - from_bonus
    if from_paid > max(paid_available, zero):
        return Decision(
            None,
            rules=(RULE_CREDIT,),
            reason=f"{amount} needed, {max(bonus_available, zero) + max(paid_available, zero)} available",
        )
    return Decision(
        Allocation(from_bonus, from_paid),
        rules=(RULE_CREDIT,),
        reason=f"{from_bonus} from the bonus balance first, then {from_paid} from paid credit",
    )


def split_between(
    due_bonus: Money, due_paid: Money, shares: Sequence[tuple[str, Money]]
) -> tuple[list[tuple[str, Money]], list[tuple[str, Money]]]:
    """Distribute the destinations of a settlement over the two sources: the shares in their order
    are filled from the bonus part first, then from the paid part. The parts add up to each share."""
    from_bonus: list[tuple[str, Money]] = []
    from_paid: list[tuple[str, Money]] = []
    left_bonus = due_bonus
    for account, share in shares:
        take = min(left_bonus, share)
        if take.is_positive:
            from_bonus.append((account, take))
        rest = share - take
        if rest.is_positive:
            from_paid.append((account, rest))
        left_bonus = left_bonus - take
    assert sum((m.amount for _, m in from_paid), 0) == due_paid.amount
    return from_bonus, from_paid


# --- refunds and closure -------------------------------------------------------------------------


@dataclass(frozen=True)
class PackRefund:
    """What refunding a pack moves: `cash` back to the client's card, `paid_kept` of the paid credit
    back to the promotions account (the spent bonus, deducted), `bonus_withdrawn` off the bonus."""

    cash: Money
    paid_kept: Money
    bonus_withdrawn: Money

    @property
    def paid_debited(self) -> Money:
        return self.cash + self.paid_kept


def pack_refund(
    *, price: Money, bonus: Money, already_refunded: Money, paid_available: Money, bonus_available: Money
) -> Decision[PackRefund]:
    """CONSULT-CREDIT-1: only the unspent paid part of a pack is refundable; its bonus is withdrawn
    in proportion (half-up), and the part of that bonus already spent is kept from the cash."""
    zero = Money.zero(price.currency)
    refundable = min(price - already_refunded, max(paid_available, zero))
    if not refundable.is_positive:
        return Decision(
            PackRefund(zero, zero, zero),
            rules=(RULE_CREDIT,),
            reason="nothing of this pack's paid price is left to refund",
        )
    owed_bonus = Money(
        round_half_up(Decimal(bonus.amount) * Decimal(refundable.amount) / Decimal(price.amount)),
        price.currency,
    )
    withdrawn = min(owed_bonus, max(bonus_available, zero))
    kept = min(owed_bonus - withdrawn, refundable)
    cash = refundable - kept
    return Decision(
        PackRefund(cash, kept, withdrawn),
        rules=(RULE_CREDIT,),
        reason=(
            f"{refundable} of the paid price is unspent; the pack's bonus is withdrawn in proportion "
            f"({owed_bonus}): {withdrawn} from the bonus balance, {kept} already spent is kept from "
            f"the refund; {cash} is refunded"
        ),
    )


@dataclass(frozen=True)
class Closure:
    refundable: Money  # paid credit, set aside for the refund to the client
    forfeited: Money  # bonus credit, back to the promotions account


def closure(*, paid_available: Money, bonus_available: Money) -> Decision[Closure]:
    """Closing a wallet: paid credit is refundable, bonus credit is forfeited, never paid out."""
    zero = Money.zero(paid_available.currency)
    c = Closure(max(paid_available, zero), max(bonus_available, zero))
    return Decision(
        c,
        rules=(RULE_CREDIT,),
        reason=f"{c.refundable} of paid credit is refundable; {c.forfeited} of bonus is forfeited (never cashed)",
    )


# --- promo codes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromoFacts:
    """What a redemption check needs to know about the promotion and the client."""

    active: bool
    starts_at: datetime
    ends_at: datetime
    max_uses: int | None
    uses: int
    condition: str
    min_purchase: int  # cents, for `min_purchase`
    confirmed_purchases: int
    largest_purchase: int  # cents


def describe_condition(condition: str, min_purchase: Money) -> str:
    """The condition as the client reads it (CONSULT-PROMO-1: a promotion states its conditions)."""
    if condition == "new_client":
        return "for clients who have not bought a credit pack yet"
    if condition == "min_purchase":
        return f"for clients who have bought a credit pack of at least {min_purchase}"
    return "no condition"


def may_redeem(f: PromoFacts, now: datetime) -> Verdict:
    """CARPOOL-PROMO-1: promotions are time-limited; CONSULT-PROMO-1: the stated condition holds."""
    if not f.active:
        return Verdict.refuse(*RULES_PROMO, reason="this promotion is withdrawn")
    if now < f.starts_at:
        return Verdict.refuse(*RULES_PROMO, reason="this promotion has not started yet")
    if now >= f.ends_at:
        return Verdict.refuse(*RULES_PROMO, reason="this promotion has ended")
    if f.max_uses is not None and f.uses >= f.max_uses:
        return Verdict.refuse(*RULES_PROMO, reason="this promotion has been used as many times as it allows")
    if f.condition == "new_client" and f.confirmed_purchases > 0:
        return Verdict.refuse(
            *RULES_PROMO, reason="this promotion is for clients who have not bought a pack yet"
        )
    if f.condition == "min_purchase" and f.largest_purchase < f.min_purchase:
        return Verdict.refuse(
            *RULES_PROMO, reason="this promotion needs a purchased credit pack of the stated minimum first"
        )
    return Verdict.allow(*RULES_PROMO, reason="the promotion is open and its condition holds")
