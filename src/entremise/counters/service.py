"""Gap-free counters: `next_value` hands out 1, 2, 3... per (platform, name), safely under concurrency.

The increment is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement: on PostgreSQL it
takes the row lock (concurrent callers wait for the holder's transaction to end, then see its
value); on SQLite the writer's `BEGIN IMMEDIATE` already serializes transactions. Because the
increment belongs to the caller's transaction, a rolled-back transaction gives its number back:
the sequence has no gaps (what invoice numbering needs, LAW-INVOICE-1).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from entremise.counters.models import Counter


def next_value(db: Session, platform_id: str, name: str) -> int:
    """The next value of the counter `name` (1 the first time), in the caller's transaction."""
    if not name or len(name) > 80:
        raise ValueError("a counter name has 1 to 80 characters")
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Counter)
        .values(platform_id=platform_id, name=name, value=1)
        .on_conflict_do_update(
            index_elements=[Counter.platform_id, Counter.name], set_={"value": Counter.value + 1}
        )
        .returning(Counter.value)
    )
    value = db.execute(stmt).scalar_one()
    return int(value)


def current_value(db: Session, platform_id: str, name: str) -> int:
    """The last value handed out (0 when none was)."""
    value = db.scalar(select(Counter.value).where(Counter.platform_id == platform_id, Counter.name == name))
    return int(value or 0)
