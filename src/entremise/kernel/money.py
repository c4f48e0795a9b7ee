"""Money: an integer number of minor units and an ISO 4217 currency. Never a float.

Rounding rule used everywhere a Decimal becomes Money: half-up to the minor unit, where "up"
means away from zero (Decimal's ROUND_HALF_UP), so a refund of an amount rounds exactly like the
amount itself: 0.125 € -> 0.13 €, -0.125 € -> -0.13 €.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies the engine accepts, with their number of minor-unit digits.
MINOR_UNITS = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "MAD": 2,
    "JPY": 0,
    "XOF": 0,  # CFA franc (BCEAO)
    "XAF": 0,  # CFA franc (BEAC)
    "XPF": 0,  # CFP franc (French Polynesia, New Caledonia, Wallis and Futuna)
}
DEFAULT_CURRENCY = "EUR"


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in MINOR_UNITS


def minor_units(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (2 for EUR, 0 for JPY)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def round_half_up(value: Decimal) -> int:
    """A Decimal number of minor units rounded half-up (away from zero) to an integer."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError("a finite Decimal is required")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, order=False)
class Money:
    amount: int  # minor units (cents)
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if not is_currency(self.currency):
            raise ValueError(f"unsupported currency {self.currency!r}")

    @staticmethod
    def zero(currency: str = DEFAULT_CURRENCY) -> Money:
        return Money(0, currency)

    @staticmethod
    def from_major(value: Decimal | str | int, currency: str = DEFAULT_CURRENCY) -> Money:
        """`Money.from_major("12.34")` is 1234 cents. Refuses anything finer than the minor unit."""
        if isinstance(value, float | bool):
            raise TypeError("money is never built from a float or a bool")
        try:
            dec = Decimal(value)
        except ArithmeticError:
            raise ValueError(f"not an amount: {value!r}") from None
        if not dec.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        scaled = dec.scaleb(minor_units(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} {currency} is finer than the minor unit")
        return Money(int(scaled), currency)

    def to_major(self) -> Decimal:
        """The amount in major units, exactly (1234 cents -> Decimal("12.34"))."""
        return Decimal(self.amount).scaleb(-minor_units(self.currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money only combines with Money")
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

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def times(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money.times takes an int; use percent() or allocate() for fractions")
        return Money(self.amount * factor, self.currency)

    def percent(self, pct: int | Decimal) -> Money:
        """`pct` per cent of this amount, rounded half-up to the minor unit."""
        if isinstance(pct, float | bool):
            raise TypeError("percentages are int or Decimal, never float")
        return Money(round_half_up(Decimal(self.amount) * Decimal(pct) / Decimal(100)), self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split into parts proportional to `weights` that add up exactly to this amount.

        Largest remainder method: each part gets its floor share, then the cents left over go one by
        one to the parts with the largest remainders (ties to the earliest part).
        """
        if not weights or any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in weights):
            raise ValueError("weights are non-negative ints, at least one")
        total = sum(weights)
        if total == 0:
            raise ValueError("weights must not all be zero")
        sign = -1 if self.amount < 0 else 1
        whole = abs(self.amount)
        shares = [divmod(whole * w, total) for w in weights]
        parts = [q for q, _ in shares]
        left = whole - sum(parts)
        order = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
        for i in order[:left]:
            parts[i] += 1
        return [Money(sign * p, self.currency) for p in parts]

    def split(self, n: int) -> list[Money]:
        """`n` parts differing by at most one minor unit, adding up exactly to this amount."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError("split needs a positive int")
        return self.allocate([1] * n)

    def __str__(self) -> str:
        digits = MINOR_UNITS[self.currency]
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**digits) if digits else (abs(self.amount), 0)
        return (
            f"{sign}{whole}.{frac:0{digits}d} {self.currency}" if digits else f"{sign}{whole} {self.currency}"
        )
