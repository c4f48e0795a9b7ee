"""A decision: what a policy concluded, the rule IDs that produced it, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Decision(Generic[T]):
    """The outcome of a policy (an amount, allowed/refused, a due date...), with its rules.

    `rules` are IDs from RULES.md; `reason` is a short human sentence.
    """

    outcome: T
    rules: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""

    def __post_init__(self) -> None:
        if not all(isinstance(r, str) and r for r in self.rules):
            raise ValueError("rule IDs must be non-empty strings")


@dataclass(frozen=True)
class Verdict:
    """A yes/no decision (allowed or refused) with rules and reason."""

    allowed: bool
    rules: tuple[str, ...] = ()
    reason: str = ""

    @staticmethod
    def allow(*rules: str, reason: str = "") -> Verdict:
        return Verdict(True, tuple(rules), reason)

    @staticmethod
    def refuse(*rules: str, reason: str) -> Verdict:
        return Verdict(False, tuple(rules), reason)
