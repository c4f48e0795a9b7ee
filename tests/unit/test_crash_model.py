"""The crash test's reference model and its operation stream: the model refuses what the ledger
refuses, and the stream of a (seed, process) is the same every time it is planned again."""

from __future__ import annotations

import json

from entremise.ledger.crashtest import harness
from entremise.ledger.crashtest.model import CONFLICT, INSUFFICIENT, Account, Model
from entremise.ledger.crashtest.operations import OPERATIONS, World, plan


def model() -> Model:
    return World("p", 0, {"client": "c", "wallet": "w", "psp": "s", "fees": "f"}).model()


def run_stream(seed: int, n: int) -> list[tuple[str, dict, str | None]]:
    """Plan n operations, committing each that the model accepts (as a worker would)."""
    m, out = model(), []
    for op in range(n):
        kind, params = plan(m, harness.op_rng(seed, 0, op))
        must = kind.predict(m, params)
        out.append((kind.name, params, must))
        if must is None:
            kind.apply(m, op, params, f"id-{op}")
    return out


def test_the_stream_of_a_seed_is_planned_the_same_every_time_and_uses_every_kind():
    first = run_stream(11, 400)
    assert first == run_stream(11, 400)
    assert first != run_stream(12, 400)
    assert {name for name, _, _ in first} == set(OPERATIONS)
    assert {must for _, _, must in first} == {None, INSUFFICIENT, CONFLICT}


def test_the_model_refuses_what_overdraws_a_no_negative_account_counting_held_money():
    m = Model({"client": Account("client", True, posted=1_000, held=300), "psp": Account("psp", False)})
    assert m.refusal(m.changes_of([("client", "psp", 700)])) is None
    assert m.refusal(m.changes_of([("client", "psp", 701)])) == INSUFFICIENT
    assert m.refusal({"client": (0, 701)}) == INSUFFICIENT  # a hold counts against the available
    assert m.refusal(m.changes_of([("psp", "client", 10**9)])) is None  # psp may go negative


def test_holds_captures_releases_voids_and_reversals_follow_the_ledgers_rules():
    m = model()
    OPERATIONS["payin"].apply(m, 0, {"amount": 1_000}, "tx-0")
    OPERATIONS["hold"].apply(m, 1, {"amount": 600}, "hold-1")
    capture, final = OPERATIONS["capture"], OPERATIONS["capture-final"]
    assert capture.predict(m, {"hold": 1, "amount": 601}) == CONFLICT
    capture.apply(m, 2, {"hold": 1, "amount": 100}, "tx-2")
    assert OPERATIONS["void"].predict(m, {"hold": 1}) == CONFLICT  # partly captured
    final.apply(m, 3, {"hold": 1, "amount": 200}, "tx-3")  # the other 300 are released
    h = m.holds[1]
    assert (h.captured, h.remaining) == (300, 0)
    assert OPERATIONS["release"].predict(m, {"hold": 1, "amount": None}) == CONFLICT  # closed
    assert (m.accounts["client"].posted, m.accounts["client"].held) == (700, 0)
    assert (m.accounts["wallet"].posted, m.accounts["fees"].posted) == (270, 30)
    reverse = OPERATIONS["reverse"]
    assert reverse.predict(m, {"tx": 2}) is None
    reverse.apply(m, 4, {"tx": 2}, "tx-4")
    assert reverse.predict(m, {"tx": 2}) == CONFLICT  # reversed once
    OPERATIONS["payout"].apply(m, 5, {"amount": 180}, "tx-5")
    assert reverse.predict(m, {"tx": 3}) == INSUFFICIENT  # the wallet paid out what it would give back


def test_a_journal_line_cut_short_by_a_kill_is_ignored_and_a_retried_commit_kept(tmp_path):
    journal = tmp_path / "j.jsonl"
    lines = [
        {"op": 0, "kind": "payin", "params": {"amount": 5}, "outcome": "ok", "id": "a", "replayed": False},
        {"retried": 0},
        {"op": 1, "kind": "pay", "params": {"amount": 5}, "outcome": "ok", "id": "b", "replayed": True},
    ]
    journal.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"op": 2, "kind": "pa')
    read, stopped, retried = harness.read_journal(journal)
    assert [(x.op, x.id, x.replayed) for x in read] == [(0, "a", False), (1, "b", True)]
    assert (stopped, retried) == (None, 1)
