"""Alembic, driven from code: upgrade, current revisions, and whether the schema is current.

Each module owns a branch of migrations (branch label = module name) in `db/versions/`, so
modules evolve their own tables; `upgrade` goes to every head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(HERE / "alembic"))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def script_heads(engine: Engine) -> set[str]:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def current_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def pending(engine: Engine) -> set[str]:
    """Revisions not yet applied (a revision another depends on is applied with it)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    script = ScriptDirectory.from_config(cfg)
    applied: set[str] = set()
    for rev in script.revision_map.iterate_revisions(
        tuple(current_heads(engine)), "base", select_for_downgrade=True
    ):
        applied.add(rev.revision)
    return {rev.revision for rev in script.walk_revisions()} - applied


def is_current(engine: Engine) -> bool:
    return not pending(engine)
