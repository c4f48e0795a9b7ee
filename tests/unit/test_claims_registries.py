"""The registries other modules plug into: subjects by kind, refund methods by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entremise.claims import refunds, subjects
from entremise.claims.subjects import SubjectFacts
from entremise.kernel.errors import Conflict


def _lookup(db, platform_id, subject_id):
    return None


def test_a_subject_kind_is_registered_once() -> None:
    subjects.register_subject("unit_parcel", _lookup)
    subjects.register_subject("unit_parcel", _lookup)  # the same function again: fine
    assert subjects.lookup_for("unit_parcel") is _lookup and "unit_parcel" in subjects.registered_kinds()
    with pytest.raises(ValueError):
        subjects.register_subject("unit_parcel", lambda db, p, s: None)
    assert subjects.lookup_for("unit_nothing") is None


def test_facts_need_an_aware_reference_date() -> None:
    with pytest.raises(ValueError):
        SubjectFacts(reference_at=datetime(2026, 12, 1), parties=frozenset({"u"}))
    assert SubjectFacts(reference_at=datetime(2026, 12, 1, tzinfo=UTC), parties=frozenset({"u"})).paid is None


def test_refund_methods_credit_back_is_built_in_and_an_unknown_one_is_a_clear_refusal() -> None:
    assert "credit_back" in refunds.method_names()
    assert refunds.refund_method("credit_back") is refunds.credit_back
    with pytest.raises(Conflict) as exc:
        refunds.refund_method("carrier_pigeon")
    assert exc.value.extra["refund_method"] == "carrier_pigeon"
    with pytest.raises(ValueError):
        refunds.register_refund_method("credit_back", lambda db, r: refunds.RefundResult("done", "x"))
