"""Payout policies (pure): whether a payout may be ordered, and what the monthly run pays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money

RULE_KYC = "EXPERT-WALLET-1"
RULE_MINIMUM = "EXPERT-WALLET-2"
RULE_PERIOD = "CARPOOL-PAY-1"
SANCTION_RULES = ("EXPERT-SANCTION-1", "CARPOOL-FRAUD-1")

REQUESTED = "requested"
IN_TRANSIT = "in_transit"
PAID = "paid"
BOUNCED = "bounced"
STATES = (REQUESTED, IN_TRANSIT, PAID, BOUNCED)
FINAL = (PAID, BOUNCED)


@dataclass(frozen=True)
class PayoutFacts:
    kyc: Decision[bool]
    wallet_frozen: bool
    account_active: bool
    available: Money  # what the wallet holds, less held money
    amount: Money
    minimum_balance: Money  # EXPERT-WALLET-2
    minimum_transfer: Money  # CARPOOL-PAY-1


def may_pay_out(f: PayoutFacts) -> Verdict:
    """A payout needs validated KYC (EXPERT-WALLET-1), a wallet not frozen and an account not
    suspended (EXPERT-SANCTION-1, CARPOOL-FRAUD-1), a wallet holding at least the platform's minimum
    (EXPERT-WALLET-2), an amount at least the minimum transfer (CARPOOL-PAY-1), and no more than
    the wallet holds."""
    if not f.account_active:
        return Verdict.refuse(
            *SANCTION_RULES, reason="payouts are blocked while the account is suspended or closed"
        )
    if f.wallet_frozen:
        return Verdict.refuse(*SANCTION_RULES, reason="the wallet is frozen: payouts are blocked")
    if not f.kyc.outcome:
        return Verdict.refuse(RULE_KYC, reason=f"KYC is not validated ({f.kyc.reason})")
    if f.available < f.minimum_balance:
        return Verdict.refuse(
            RULE_MINIMUM,
            reason=f"the wallet holds {f.available}: a payout needs at least {f.minimum_balance}",
        )
    if not f.amount.is_positive or f.amount < f.minimum_transfer:
        return Verdict.refuse(RULE_PERIOD, reason=f"no transfer under {f.minimum_transfer}")
    if f.amount > f.available:
        return Verdict.refuse(RULE_MINIMUM, reason=f"the wallet holds only {f.available}")
    return Verdict.allow(RULE_KYC, RULE_MINIMUM, reason=f"{f.amount} may be paid out")


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(now: datetime) -> str:
    """The billing period (month) that ended last before `now` (CARPOOL-PAY-1)."""
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def scheduled_amount(
    available: Money, minimum_transfer: Money, minimum_balance: Money
) -> Decision[Money | None]:
    """What the end-of-period run pays: the whole (netted) wallet, unless under the minimum
    transfer, in which case it carries over to the next period (CARPOOL-PAY-1)."""
    floor = max(minimum_transfer, minimum_balance)
    if available < floor or not available.is_positive:
        return Decision(None, (RULE_PERIOD,), f"{available} is under {floor}: it carries over")
    return Decision(available, (RULE_PERIOD,), f"the period's balance {available} is paid out")
