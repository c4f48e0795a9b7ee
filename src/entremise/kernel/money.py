"""Money: an integer number of minor units and an ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MINOR_UNITS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}


@dataclass(frozen=True, order=False)
class Money:
    amount: int  # minor units (cents)
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {self.currency!r}")

    @staticmethod
    def zero(currency: str = "EUR") -> Money:
        return Money(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def times(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def percent(self, pct: int | Decimal) -> Money:
        """`pct` per cent of this amount, rounded half-up to the minor unit."""
        value = (Decimal(self.amount) * Decimal(pct) / Decimal(100)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return Money(int(value), self.currency)

    def __str__(self) -> str:
        digits = MINOR_UNITS[self.currency]
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**digits) if digits else (abs(self.amount), 0)
        return (
            f"{sign}{whole}.{frac:0{digits}d} {self.currency}" if digits else f"{sign}{whole} {self.currency}"
        )
