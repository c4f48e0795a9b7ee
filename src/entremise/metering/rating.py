"""Rating a metered session (pure): from seconds to itemised lines citing their rules.

Per-minute: the seconds are rounded up to the billing increment (per started minute by default,
CONSULT-CALL-1 / EXPERT-PRICE-1); the first increments covered by free minutes cost nothing
(CONSULT-GIFT-1); the rest is charged at the rate, plus the mobile surcharge per minute
(CONSULT-CALL-3) and one connection fee per call (CONSULT-CALL-2) when anything is charged. The
total never exceeds the cap (EXPERT-PRICE-4) nor the budget: the billed seconds are clamped to what
the lower of the two buys (`max_seconds`), so no line ever has to take money back.

Package (EXPERT-PRICE-2): the price of the package, or one third of it when at most one third of
its minutes were honoured and the package lasts at most `one_third_max_minutes` (EXPERT-PRICE-3;
the third is rounded down to the cent, in the client's favour).

Amounts are integers in minor units; `Decimal` is used inside and rounded half-up at one named
point per line. `total == sum(line.amount)` always.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from entremise.kernel.money import Money, round_half_up
from entremise.kernel.vat import split_gross

Kind = Literal["per_minute", "package"]


@dataclass(frozen=True)
class Tariff:
    """What a session costs, frozen when it starts. Amounts all taxes included."""

    kind: Kind
    currency: str
    rate_per_minute: int = 0  # per_minute
    increment_seconds: int = 60
    connection_fee: int = 0  # CONSULT-CALL-2
    mobile_surcharge_per_minute: int = 0  # CONSULT-CALL-3, non-zero only when bridged to a mobile
    free_minutes: int = 0  # CONSULT-GIFT-1
    cap: int | None = None  # EXPERT-PRICE-4
    package_minutes: int = 0  # package
    package_price: int = 0
    one_third_max_minutes: int = 60  # EXPERT-PRICE-3
    max_minutes: int = 240  # per-minute sessions never last longer
    rate_rule: str = "CONSULT-CALL-1"  # the rule of the per-minute rate (expert: EXPERT-PRICE-1)

    def __post_init__(self) -> None:
        if self.increment_seconds < 1:
            raise ValueError("increment_seconds must be at least 1")
        for name in (
            "rate_per_minute",
            "connection_fee",
            "mobile_surcharge_per_minute",
            "free_minutes",
            "package_price",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.kind == "package" and self.package_minutes < 1:
            raise ValueError("a package lasts at least a minute")

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @staticmethod
    def from_dict(raw: dict[str, object]) -> Tariff:
        return Tariff(**raw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Line:
    code: str  # connection_fee, minutes, free_minutes, mobile_surcharge, package, package_one_third
    label: str
    quantity: int  # seconds for time lines, 1 otherwise
    unit_price: int | None  # minor units per minute, when the line is priced per minute
    amount: int  # minor units; negative for a reduction
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Rating:
    tariff: Tariff
    duration_seconds: int  # what the events say
    billed_seconds: int  # clamped to what the budget buys
    lines: tuple[Line, ...]

    @property
    def total(self) -> Money:
        return Money(sum(line.amount for line in self.lines), self.tariff.currency)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for line in self.lines for r in line.rules))


def _per_minute(amount_per_minute: int, seconds: int) -> int:
    return round_half_up(Decimal(amount_per_minute) * seconds / 60)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _free_units(t: Tariff) -> int:
    # in the client's favour: free minutes cover every increment they touch
    return _ceil_div(t.free_minutes * 60, t.increment_seconds)


def _uncapped(t: Tariff, seconds: int) -> int:
    """The price of `seconds` before the cap (per-minute tariffs)."""
    if seconds <= 0:
        return 0
    units = _ceil_div(seconds, t.increment_seconds)
    paid = max(0, units - _free_units(t)) * t.increment_seconds
    if paid == 0:
        return 0
    return (
        t.connection_fee
        + _per_minute(t.rate_per_minute, paid)
        + _per_minute(t.mobile_surcharge_per_minute, paid)
    )


def price_ceiling(t: Tariff, budget: int | None) -> int | None:
    """The most a session may cost: the budget, the cap, whichever is lower."""
    limits = [x for x in (budget, t.cap if t.kind == "per_minute" else None) if x is not None]
    return min(limits) if limits else None


def max_seconds(t: Tariff, budget: int | None) -> int:
    """The longest session the budget buys (whole increments), at most `max_minutes` (or the package)."""
    if t.kind == "package":
        return t.package_minutes * 60
    ceiling_seconds = t.max_minutes * 60
    limit = price_ceiling(t, budget)
    if limit is None:
        return ceiling_seconds
    inc = t.increment_seconds
    lo, hi = 0, _ceil_div(ceiling_seconds, inc)  # units: lo affordable, search the largest
    if _uncapped(t, hi * inc) <= limit:
        return ceiling_seconds
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _uncapped(t, mid * inc) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo * inc


def minimum_price(t: Tariff) -> int:
    """What the first charged increment costs (with the connection fee): a budget must cover it."""
    if t.kind == "package":
        return package_budget(t)
    first_paid = (_free_units(t) + 1) * t.increment_seconds
    return _uncapped(t, first_paid)


def package_budget(t: Tariff) -> int:
    """What a package session may cost at most: the price, the connection fee, the surcharge."""
    seconds = t.package_minutes * 60
    return t.package_price + t.connection_fee + _per_minute(t.mobile_surcharge_per_minute, seconds)


def rate(t: Tariff, duration_seconds: int, budget: int | None = None) -> Rating:
    """The bill of a session that lasted `duration_seconds` (0 when nobody talked)."""
    duration = max(0, duration_seconds)
    billed = min(duration, max_seconds(t, budget))
    if t.kind == "package":
        return Rating(t, duration, billed, _package_lines(t, billed))
    return Rating(t, duration, billed, _per_minute_lines(t, billed))


def _per_minute_lines(t: Tariff, seconds: int) -> tuple[Line, ...]:
    if seconds <= 0:
        return ()
    inc = t.increment_seconds
    units = _ceil_div(seconds, inc)
    free_units = min(units, _free_units(t))
    paid_seconds = (units - free_units) * inc
    lines: list[Line] = []
    if free_units:
        lines.append(
            Line(
                "free_minutes",
                "free minutes offered by the provider",
                free_units * inc,
                t.rate_per_minute,
                0,
                ("CONSULT-GIFT-1",),
            )
        )
    if paid_seconds:
        lines.append(
            Line(
                "minutes",
                f"consultation, billed by {inc} s",
                paid_seconds,
                t.rate_per_minute,
                _per_minute(t.rate_per_minute, paid_seconds),
                (t.rate_rule,),
            )
        )
        if t.mobile_surcharge_per_minute:
            lines.append(
                Line(
                    "mobile_surcharge",
                    "surcharge for a call bridged to a mobile",
                    paid_seconds,
                    t.mobile_surcharge_per_minute,
                    _per_minute(t.mobile_surcharge_per_minute, paid_seconds),
                    ("CONSULT-CALL-3",),
                )
            )
        if t.connection_fee:
            lines.insert(
                0, Line("connection_fee", "connection fee", 1, None, t.connection_fee, ("CONSULT-CALL-2",))
            )
    return tuple(lines)


def _package_lines(t: Tariff, seconds: int) -> tuple[Line, ...]:
    if seconds <= 0:
        return ()
    package_seconds = t.package_minutes * 60
    lines: list[Line] = []
    if t.connection_fee:
        lines.append(Line("connection_fee", "connection fee", 1, None, t.connection_fee, ("CONSULT-CALL-2",)))
    if t.package_minutes <= t.one_third_max_minutes and seconds * 3 <= package_seconds:
        third = int((Decimal(t.package_price) / 3).to_integral_value(rounding=ROUND_DOWN))
        lines.append(
            Line(
                "package_one_third",
                f"{t.package_minutes}-minute package, at most a third honoured: a third of its price",
                seconds,
                None,
                third,
                ("EXPERT-PRICE-2", "EXPERT-PRICE-3"),
            )
        )
    else:
        lines.append(
            Line(
                "package",
                f"{t.package_minutes}-minute package",
                seconds,
                None,
                t.package_price,
                ("EXPERT-PRICE-2",),
            )
        )
    if t.mobile_surcharge_per_minute:
        lines.append(
            Line(
                "mobile_surcharge",
                "surcharge for a call bridged to a mobile",
                seconds,
                t.mobile_surcharge_per_minute,
                _per_minute(t.mobile_surcharge_per_minute, _ceil_div(seconds, 60) * 60),
                ("CONSULT-CALL-3",),
            )
        )
    return tuple(lines)


# --- the split of what the client pays --------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Where the total goes: the provider's earnings, the platform's part (net of VAT) and the VAT
    the platform collects. `provider + platform + vat == total`."""

    total: Money
    provider: Money
    platform: Money
    vat: Money
    rules: tuple[str, ...]
    reason: str


def split_resale(total: Money, commission_percent: Decimal, vat_rate: Decimal) -> Split:
    """consult: the platform resells the consultation; VAT on the whole price, the platform keeps its
    commission (agreed per provider) of the net, the provider earns the rest of the net."""
    vs = split_gross(total, vat_rate)
    commission = Money(round_half_up(Decimal(vs.net.amount) * commission_percent / 100), total.currency)
    return Split(
        total,
        vs.net - commission,
        commission,
        vs.vat,
        ("CONSULT-CALL-1",),
        f"resold by the platform: {commission_percent} % commission on the net, VAT {vat_rate} %",
    )


def split_fee(total: Money, fee: Money, vat_rate: Decimal) -> Split:
    """expert (EXPERT-FEE-1): the provider sells; the platform's fixed fee per consultation is taken
    from the price (never more than the price), VAT included in the fee."""
    taken = min(fee, total) if fee.is_positive else Money.zero(total.currency)
    vs = split_gross(taken, vat_rate)
    return Split(
        total,
        total - taken,
        vs.net,
        vs.vat,
        ("EXPERT-FEE-1",),
        f"platform fee of {taken} charged to the provider, VAT {vat_rate} % included",
    )
