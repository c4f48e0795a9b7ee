from __future__ import annotations

import pytest

from entremise.kernel.decision import Decision
from entremise.kernel.money import Money


def test_money_is_integer_minor_units_and_never_mixes_currencies():
    assert Money(1050) + Money(25) == Money(1075)
    with pytest.raises(TypeError):
        Money(10.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, "EUR") + Money(1, "USD")


def test_percent_rounds_half_up():
    assert Money(125).percent(50) == Money(63)
    assert str(Money(-1205)) == "-12.05 EUR"


def test_decision_requires_rule_ids_as_strings():
    with pytest.raises(ValueError):
        Decision(1, rules=("",))
