"""Prepared statements (`entremise.db.prepared`) write exactly what `Connection.execute` writes,
and their errors are SQLAlchemy's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from entremise.audit import service as audit
from entremise.audit.service import Actor
from entremise.ledger import service as ledger
from entremise.ledger import store


def stored(db, platform_id, object_id):
    """The audit row as the database holds it (text on SQLite), not as the ORM would read it."""
    return db.execute(
        text(
            "SELECT at, actor_type, actor_id, action, object_type, rules, reason, data FROM audit_entries"
            " WHERE platform_id = :p AND object_id = :o"
        ),
        {"p": platform_id, "o": object_id},
    ).all()


def test_a_prepared_insert_stores_the_same_values_as_the_orm(runtime, platform):
    now = runtime.clock.now()  # whole seconds: SQLAlchemy still writes ".000000", sqlite3 would not
    entry = {
        "platform_id": platform.id,
        "actor": Actor("user", "u-1"),
        "action": "test.probe",
        "at": now,
        "rules": ["RULE-1", "RULE-2"],
        "reason": 'é, 12 € and a "quote"',
        "data": {"amount": 1234, "nested": {"list": [1, "two"]}},
    }
    with runtime.sessions() as db, db.begin():
        audit.record(db, obj=("probe", "orm"), **entry)
        audit.append(db, obj=("probe", "prepared"), **entry)
        db.flush()
        orm, prepared = stored(db, platform.id, "orm"), stored(db, platform.id, "prepared")
    assert len(orm) == len(prepared) == 1
    assert orm == prepared


def test_a_timestamp_remembered_from_the_last_row_is_never_given_to_another(runtime, platform):
    first = runtime.clock.now()
    stamps = [first, first + timedelta(seconds=1), first, first, first + timedelta(days=1)]
    with runtime.sessions() as db, db.begin():
        for i, at in enumerate(stamps):
            audit.append(db, platform_id=platform.id, actor=None, action="test.t", obj=("t", str(i)), at=at)
        read = [
            audit.list_entries(db, platform_id=platform.id, object_type="t", object_id=str(i))[0].at
            for i in range(5)
        ]
    assert read == stamps


def test_a_database_error_is_raised_as_sqlalchemys(runtime, platform):
    row = {
        "id": "0" * 36,
        "platform_id": platform.id,
        "idempotency_key": f"dup-{platform.id}",
        "request_hash": "0" * 64,
        "kind": "post",
        "code": "c",
        "rules": [],
        "reason": "",
        "object_type": "t",
        "object_id": "1",
        "hold_id": None,
        "reverses_id": None,
        "created_at": runtime.clock.now(),
    }
    with pytest.raises(IntegrityError), runtime.sessions() as db, db.begin():
        conn = db.connection()
        store.insert_transaction(conn, row, or_nothing=False)
        store.insert_transaction(conn, {**row, "id": "1" * 36}, or_nothing=False)
    with runtime.sessions() as db, db.begin():  # the failed transaction wrote nothing
        assert (
            ledger.find_transaction(db, platform_id=platform.id, idempotency_key=row["idempotency_key"])
            is None
        )
