"""The migrations create exactly the schema the models declare (no table is created by hand)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from entremise.db import migrate
from entremise.db.models import metadata


def test_migrations_are_current_and_match_the_models(migrated_engine):
    assert migrate.is_current(migrated_engine)
    with migrated_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], diff
