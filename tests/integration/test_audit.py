"""COMMON-EVIDENCE-1: the audit trail is append-only, enforced by the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from entremise.audit import service as audit
from entremise.audit.service import Actor


def test_COMMON_EVIDENCE_1_audit_entries_cannot_be_updated_or_deleted(runtime, platform):
    with runtime.sessions() as db, db.begin():
        entry = audit.record(
            db,
            platform_id=platform.id,
            actor=Actor("user", "u1"),
            action="thing.done",
            obj=("thing", "t1"),
            at=runtime.clock.now(),
            rules=["COMMON-EVIDENCE-1"],
            reason="because",
        )
        db.flush()
        entry_id = entry.id
    for statement in (
        "UPDATE audit_entries SET reason = 'x' WHERE id = :id",
        "DELETE FROM audit_entries WHERE id = :id",
    ):
        with pytest.raises(DBAPIError), runtime.sessions() as db, db.begin():
            db.execute(text(statement), {"id": entry_id})
    with runtime.sessions() as db, db.begin():
        rows = audit.list_entries(db, platform_id=platform.id, object_type="thing", object_id="t1")
    assert [(r.reason, r.rules, r.actor_id) for r in rows] == [("because", ["COMMON-EVIDENCE-1"], "u1")]
