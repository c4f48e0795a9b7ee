"""The ledger's pure checks: balances after movements, or the refusal."""

from __future__ import annotations

import pytest

from entremise.kernel.errors import Conflict
from entremise.kernel.money import Money
from entremise.ledger.domain import (
    AccountFrozen,
    AccountState,
    Balance,
    InsufficientFunds,
    LimitExceeded,
    Movement,
    Transfer,
    apply_movements,
    check_transfers,
    fingerprint,
    sums_to_zero,
    transfer_movements,
)

ACCOUNTS = {
    "a": AccountState("a", "EUR", no_negative=True, no_positive=False, frozen=False),
    "b": AccountState("b", "EUR", no_negative=False, no_positive=True, frozen=False),
    "c": AccountState("c", "EUR", no_negative=False, no_positive=False, frozen=True),
}
START = {"a": Balance(1_000, 300), "b": Balance(-500, 0), "c": Balance(200, 0)}


def test_transfers_become_balanced_movements():
    moves = transfer_movements([Transfer("a", "b", Money(200)), Transfer("b", "c", Money(50))])
    assert sums_to_zero(moves)
    after = apply_movements(ACCOUNTS, START, moves)
    assert after == {"a": Balance(800, 300), "b": Balance(-350, 0), "c": Balance(250, 0)}


def test_held_money_is_not_available():
    assert (
        apply_movements(ACCOUNTS, START, transfer_movements([Transfer("a", "c", Money(700))]))["a"].available
        == 0
    )
    with pytest.raises(InsufficientFunds):
        apply_movements(ACCOUNTS, START, transfer_movements([Transfer("a", "c", Money(701))]))
    with pytest.raises(InsufficientFunds):
        apply_movements(ACCOUNTS, START, [Movement("a", "held", 701, "EUR")])


def test_no_positive_and_frozen_accounts():
    with pytest.raises(LimitExceeded):
        apply_movements(ACCOUNTS, START, transfer_movements([Transfer("a", "b", Money(501))]))
    with pytest.raises(AccountFrozen) as err:
        apply_movements(ACCOUNTS, START, transfer_movements([Transfer("c", "a", Money(1))]))
    assert err.value.rules == ("EXPERT-SANCTION-1", "CARPOOL-FRAUD-1")
    # a frozen account still receives money
    assert (
        apply_movements(ACCOUNTS, START, transfer_movements([Transfer("a", "c", Money(1))]))["c"].posted
        == 201
    )
    with pytest.raises(Conflict, match="negative amount"):
        apply_movements(ACCOUNTS, START, [Movement("c", "held", -1, "EUR")])


def test_shape_errors_and_fingerprints():
    errors = check_transfers([Transfer("a", "a", Money(0))])
    assert {e.reason for e in errors} == {"must be positive", "source and destination are the same account"}
    assert fingerprint({"x": 1, "y": [1, 2]}) == fingerprint({"y": [1, 2], "x": 1})
    assert fingerprint({"x": 1}) != fingerprint({"x": 2})
