"""VAT: split an all-taxes-included amount into net + VAT and back, and invoice totals (LAW-VAT-1).

Rates are Decimal percentages (`Decimal("20.0")` for the French standard rate), never floats.

The one rounding rule: **half-up to the minor unit** (away from zero for negative amounts, so a
credit note mirrors its invoice), applied to a single figure per operation; the other figure is
obtained by subtraction or addition, so the parts always add up to the whole exactly.

- `add_vat(net, rate)`: VAT = round(net x rate / 100); gross = net + VAT.
- `split_gross(gross, rate)`: net = round(gross / (1 + rate / 100)); VAT = gross - net.

`split_gross(add_vat(net, r).gross, r).net == net` for every net and rate (the division can never
move the result by half a cent). The other way round is exact too, except for the few gross amounts
that no net can produce (3 cents at 20 %: a net of 2 gives 2, a net of 3 gives 4); for those the VAT
of the split differs by one cent from the VAT computed on its net.

Invoice totals follow EN 16931 (LAW-VAT-1): each line net (quantity x unit price) is rounded to the
cent, the line nets are summed, VAT is computed per rate on the sum of the nets at that rate and
rounded to the cent, and gross = net + VAT exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from entremise.kernel.money import DEFAULT_CURRENCY, Money, minor_units, round_half_up

HUNDRED = Decimal(100)


def check_rate(rate: Decimal) -> Decimal:
    """A VAT rate is a finite Decimal percentage between 0 and 100."""
    if not isinstance(rate, Decimal):
        raise TypeError("a VAT rate is a Decimal such as Decimal('20.0'), never a float")
    if not rate.is_finite() or rate < 0 or rate > HUNDRED:
        raise ValueError(f"VAT rate {rate} is not a percentage between 0 and 100")
    return rate


@dataclass(frozen=True)
class VatSplit:
    """An amount split into its net part and its VAT at one rate; `gross` is always net + VAT."""

    net: Money
    vat: Money
    rate: Decimal

    @property
    def gross(self) -> Money:
        return self.net + self.vat


def vat_on(net: Money, rate: Decimal) -> Money:
    """The VAT on a net amount, rounded half-up to the minor unit."""
    check_rate(rate)
    return Money(round_half_up(Decimal(net.amount) * rate / HUNDRED), net.currency)


def add_vat(net: Money, rate: Decimal) -> VatSplit:
    """Net -> net + VAT (VAT rounded half-up; gross = net + VAT exactly)."""
    return VatSplit(net=net, vat=vat_on(net, rate), rate=rate)


def split_gross(gross: Money, rate: Decimal) -> VatSplit:
    """All taxes included -> net + VAT (net rounded half-up; VAT = gross - net exactly)."""
    check_rate(rate)
    net = Money(round_half_up(Decimal(gross.amount) * HUNDRED / (HUNDRED + rate)), gross.currency)
    return VatSplit(net=net, vat=gross - net, rate=rate)


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice line: `quantity` units at `unit_price` (major units, may be finer than a cent)."""

    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal

    def __post_init__(self) -> None:
        for name in ("quantity", "unit_price"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"InvoiceLine.{name} must be a finite Decimal")
        check_rate(self.vat_rate)

    def net(self, currency: str = DEFAULT_CURRENCY) -> Money:
        """The line net, rounded half-up to the minor unit (EN 16931 BT-131)."""
        return Money(round_half_up((self.quantity * self.unit_price).scaleb(minor_units(currency))), currency)


@dataclass(frozen=True)
class VatSubtotal:
    """One VAT breakdown row (EN 16931 BG-23): the taxable base at a rate and its VAT."""

    rate: Decimal
    taxable: Money
    vat: Money


@dataclass(frozen=True)
class InvoiceTotals:
    line_nets: tuple[Money, ...]
    breakdown: tuple[VatSubtotal, ...]  # one row per distinct rate, in increasing rate order
    net: Money
    vat: Money

    @property
    def gross(self) -> Money:
        return self.net + self.vat


def invoice_totals(lines: Iterable[InvoiceLine], currency: str = DEFAULT_CURRENCY) -> InvoiceTotals:
    """LAW-VAT-1: line nets rounded and summed, VAT per rate on the net total, gross = net + VAT."""
    items = list(lines)
    line_nets = tuple(line.net(currency) for line in items)
    by_rate: dict[Decimal, Money] = {}
    for line, net in zip(items, line_nets, strict=True):
        key = line.vat_rate.normalize()
        by_rate[key] = by_rate.get(key, Money.zero(currency)) + net
    breakdown = tuple(
        VatSubtotal(rate=rate, taxable=taxable, vat=vat_on(taxable, rate))
        for rate, taxable in sorted(by_rate.items())
    )
    net_total = sum((b.taxable for b in breakdown), Money.zero(currency))
    vat_total = sum((b.vat for b in breakdown), Money.zero(currency))
    return InvoiceTotals(line_nets=line_nets, breakdown=breakdown, net=net_total, vat=vat_total)
