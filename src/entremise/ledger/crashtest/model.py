"""The reference model of the crash test: what the ledger must decide, computed without it.

Pure: accounts by name with their two buckets (posted, held), holds and reversible transactions by
the index of the operation that created them. The rules are the ledger's (docs/ledger.md): a
no-negative account's available balance (posted - held) may not drop below zero; a hold never gives
more than it still reserves; a transaction is reversed once; a partly captured hold cannot be voided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# the refusals the model predicts, by the name of the ledger's error class
INSUFFICIENT = "InsufficientFunds"
CONFLICT = "Conflict"


@dataclass
class Account:
    name: str
    no_negative: bool
    posted: int = 0
    held: int = 0

    @property
    def available(self) -> int:
        return self.posted - self.held


@dataclass
class Hold:
    op: int  # index of the operation that placed it
    account: str
    amount: int
    captured: int = 0
    remaining: int = 0
    voided: bool = False


@dataclass
class Posted:
    op: int
    transfers: list[tuple[str, str, int]]  # (debit account, credit account, amount)
    reversed: bool = False


@dataclass
class Model:
    """One process's view: its own accounts in full, shared accounts as what this process moved."""

    accounts: dict[str, Account]
    holds: dict[int, Hold] = field(default_factory=dict)
    reversible: dict[int, Posted] = field(default_factory=dict)
    results: dict[int, str] = field(default_factory=dict)  # op index -> ledger id (transaction or hold)

    @staticmethod
    def changes_of(
        transfers: list[tuple[str, str, int]], held: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, int]]:
        """(posted delta, held delta) per account."""
        out: dict[str, list[int]] = {}
        for debit, credit, amount in transfers:
            out.setdefault(debit, [0, 0])[0] -= amount
            out.setdefault(credit, [0, 0])[0] += amount
        for name, delta in (held or {}).items():
            out.setdefault(name, [0, 0])[1] += delta
        return {k: (v[0], v[1]) for k, v in out.items()}

    def refusal(self, changes: Mapping[str, tuple[int, int]]) -> str | None:
        """What the ledger refuses these changes with, None when it accepts them."""
        for name, (d_posted, d_held) in changes.items():
            a = self.accounts[name]
            after = a.posted + d_posted - (a.held + d_held)
            if a.no_negative and after < 0 and after < a.available:
                return INSUFFICIENT
        return None

    def move(self, changes: Mapping[str, tuple[int, int]]) -> None:
        for name, (d_posted, d_held) in changes.items():
            self.accounts[name].posted += d_posted
            self.accounts[name].held += d_held

    def open_holds(self) -> list[Hold]:
        return [h for _, h in sorted(self.holds.items()) if h.remaining > 0]
