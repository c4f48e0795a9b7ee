"""The ledger's pure core: account types and flags, transfers, movements and the balance checks.

Sign convention: an account's balance is its credits minus its debits. A transfer of 10 € from A
to B debits A (-10) and credits B (+10), so every transfer, hence every transaction, sums to zero.

Each account has two buckets: `posted` (money that moved) and `held` (money reserved by open
holds, still on the account). available = posted - held.

No I/O here: the service loads accounts and balances under lock, asks `apply_movements` for the new
balances (or a refusal), then writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from entremise.kernel.errors import Conflict, FieldError, InvalidInput
from entremise.kernel.money import Money

# No single amount may exceed this many minor units (10^15 cents = 10 000 billion euros): sums of
# many such amounts stay far inside a signed 64-bit column.
MAX_AMOUNT = 10**15
MAX_TRANSFERS = 100


class AccountType(StrEnum):
    CLIENT_CREDIT = "client_credit"
    CLIENT_BONUS = "client_bonus"
    PROVIDER_WALLET = "provider_wallet"
    PLATFORM_REVENUE = "platform_revenue"
    PLATFORM_FEES = "platform_fees"
    VAT_COLLECTED = "vat_collected"
    PSP_CLEARING = "psp_clearing"
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"
    PROMOTIONS = "promotions"
    PENALTIES = "penalties"


class TxKind(StrEnum):
    POST = "post"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    VOID = "void"
    REVERSAL = "reversal"


# Kinds whose posted transfers may be reversed.
REVERSIBLE = frozenset({TxKind.POST, TxKind.CAPTURE})


@dataclass(frozen=True)
class Flags:
    no_negative: bool = False  # debits may never exceed credits (counting held money)
    no_positive: bool = False  # credits may never exceed debits


# Money users own must never go below zero; platform-side accounts may (a clearing account is
# negative by construction: it mirrors money the payment provider holds for the platform).
DEFAULT_FLAGS: Mapping[AccountType, Flags] = {
    AccountType.CLIENT_CREDIT: Flags(no_negative=True),
    AccountType.CLIENT_BONUS: Flags(no_negative=True),
    AccountType.PROVIDER_WALLET: Flags(no_negative=True),
    AccountType.PAYOUTS_IN_TRANSIT: Flags(no_negative=True),
}


def default_flags(account_type: AccountType) -> Flags:
    return DEFAULT_FLAGS.get(account_type, Flags())


@dataclass(frozen=True)
class AccountState:
    """What the checks need to know about an account (loaded under lock by the service)."""

    id: str
    currency: str
    no_negative: bool
    no_positive: bool
    frozen: bool


@dataclass(frozen=True)
class Balance:
    posted: int
    held: int

    @property
    def available(self) -> int:
        return self.posted - self.held


@dataclass(frozen=True)
class Transfer:
    """Move `amount` from the `debit` account to the `credit` account."""

    debit: str
    credit: str
    amount: Money


@dataclass(frozen=True)
class Movement:
    """One entry: a signed change of one bucket of one account (`transfer_no` pairs posted entries)."""

    account_id: str
    bucket: str  # "posted" | "held"
    amount: int
    currency: str
    transfer_no: int | None = None
    hold_id: str | None = None


class InsufficientFunds(Conflict):
    """A no-negative account would go below zero (counting held money)."""


class LimitExceeded(Conflict):
    """A no-positive account would go above zero."""


class AccountFrozen(Conflict):
    """A frozen account refuses outgoing movements (EXPERT-SANCTION-1, CARPOOL-FRAUD-1)."""


def check_amount(amount: object, field: str) -> list[FieldError]:
    if not isinstance(amount, Money):
        return [FieldError(field, "must be Money")]
    if amount.amount <= 0:
        return [FieldError(field, "must be positive")]
    if amount.amount > MAX_AMOUNT:
        return [FieldError(field, f"must not exceed {MAX_AMOUNT} minor units")]
    return []


def check_text(value: object, field: str, max_len: int, *, required: bool = True) -> list[FieldError]:
    if not isinstance(value, str) or (required and not value.strip()):
        return [FieldError(field, "is required")]
    if len(value) > max_len:
        return [FieldError(field, f"at most {max_len} characters")]
    if "\x00" in value:
        return [FieldError(field, "must not contain NUL characters")]
    return []


def check_rules(rules: object, field: str = "rules") -> list[FieldError]:
    if not isinstance(rules, tuple | list) or not all(isinstance(r, str) and r.strip() for r in rules):
        return [FieldError(field, "rule IDs are non-empty strings")]
    return []


def check_transfers(transfers: Sequence[Transfer], field: str = "transfers") -> list[FieldError]:
    """Shape checks that need no database: positive amounts, distinct accounts, a sane count."""
    if not transfers:
        return [FieldError(field, "at least one transfer")]
    if len(transfers) > MAX_TRANSFERS:
        return [FieldError(field, f"at most {MAX_TRANSFERS} transfers")]
    errors: list[FieldError] = []
    for i, t in enumerate(transfers):
        if not isinstance(t, Transfer):
            errors.append(FieldError(f"{field}[{i}]", "must be a Transfer"))
            continue
        errors += check_amount(t.amount, f"{field}[{i}].amount")
        for side in ("debit", "credit"):
            if not isinstance(getattr(t, side), str) or not getattr(t, side):
                errors.append(FieldError(f"{field}[{i}].{side}", "an account id is required"))
        if t.debit == t.credit:
            errors.append(FieldError(f"{field}[{i}]", "source and destination are the same account"))
    return errors


def check_currencies(
    transfers: Sequence[Transfer], accounts: Mapping[str, AccountState], field: str = "transfers"
) -> list[FieldError]:
    """Every transfer is in the currency of both its accounts: currencies never mix in a transfer."""
    errors: list[FieldError] = []
    for i, t in enumerate(transfers):
        for side in ("debit", "credit"):
            account = accounts[getattr(t, side)]
            if account.currency != t.amount.currency:
                errors.append(
                    FieldError(
                        f"{field}[{i}].amount.currency",
                        f"{t.amount.currency} does not match the {side} account's {account.currency}",
                    )
                )
    return errors


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(errors)


def transfer_movements(transfers: Sequence[Transfer], hold_id: str | None = None) -> list[Movement]:
    """Two posted entries per transfer: -amount on the debit side, +amount on the credit side."""
    out: list[Movement] = []
    for no, t in enumerate(transfers):
        out.append(Movement(t.debit, "posted", -t.amount.amount, t.amount.currency, no, hold_id))
        out.append(Movement(t.credit, "posted", t.amount.amount, t.amount.currency, no, hold_id))
    return out


def apply_movements(
    accounts: Mapping[str, AccountState], balances: Mapping[str, Balance], movements: Iterable[Movement]
) -> dict[str, Balance]:
    """The balances after `movements`, or the refusal that stops them all.

    Refused: an outgoing movement (posted decreasing or held increasing) on a frozen account; a
    no-negative account whose available balance (posted - held) would drop below zero; a no-positive
    account whose posted balance would rise above zero.
    """
    posted = {i: b.posted for i, b in balances.items()}
    held = {i: b.held for i, b in balances.items()}
    outgoing: set[str] = set()
    for m in movements:
        if m.bucket == "posted":
            posted[m.account_id] += m.amount
            if m.amount < 0:
                outgoing.add(m.account_id)
        elif m.bucket == "held":
            held[m.account_id] += m.amount
            if m.amount > 0:
                outgoing.add(m.account_id)
        else:
            raise ValueError(f"unknown bucket {m.bucket!r}")
    after = {
        i: b if (posted[i], held[i]) == (b.posted, b.held) else Balance(posted[i], held[i])
        for i, b in balances.items()
    }
    for account_id in sorted(after):
        account, old, new = accounts[account_id], balances[account_id], after[account_id]
        if new is old:
            continue
        if new.held < 0:
            raise Conflict(f"account {account_id} would hold a negative amount")
        if account.frozen and account_id in outgoing:
            raise AccountFrozen(
                f"account {account_id} is frozen: outgoing movements are refused",
                rules=("EXPERT-SANCTION-1", "CARPOOL-FRAUD-1"),
                extra={"account_id": account_id},
            )
        if account.no_negative and new.available < 0 and new.available < old.available:
            missing = Money(-new.available, account.currency)
            raise InsufficientFunds(
                f"insufficient funds on account {account_id}: "
                f"{Money(old.available, account.currency)} available, {missing} missing",
                extra={"account_id": account_id, "available": old.available, "missing": missing.amount},
            )
        if account.no_positive and new.posted > 0 and new.posted > old.posted:
            raise LimitExceeded(
                f"account {account_id} may not go above zero",
                extra={"account_id": account_id, "posted": old.posted},
            )
    return after


def sums_to_zero(movements: Iterable[Movement]) -> bool:
    """Posted movements of one transaction sum to zero in every currency."""
    totals: dict[str, int] = {}
    for m in movements:
        if m.bucket == "posted":
            totals[m.currency] = totals.get(m.currency, 0) + m.amount
    return all(v == 0 for v in totals.values())


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A stable digest of a request, to tell a retry (same key, same body) from a key reuse."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def transfers_payload(transfers: Sequence[Transfer]) -> list[list[object]]:
    return [[t.debit, t.credit, t.amount.amount, t.amount.currency] for t in transfers]


def reversed_transfers(transfers: Sequence[Transfer]) -> list[Transfer]:
    """The transfers that undo `transfers`: each one swapped, same amount."""
    return [Transfer(debit=t.credit, credit=t.debit, amount=t.amount) for t in transfers]
