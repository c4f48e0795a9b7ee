"""The runtime: what entry points (API, CLI, worker) share: settings, database, clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from entremise.config import Settings, get_settings
from entremise.db import models as _all_tables  # noqa: F401 - every table known, whatever the entry point
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.kernel.clock import Clock, SystemClock


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)


def build_runtime(settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
    settings = settings or get_settings()
    settings.ensure_dirs()
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    return Runtime(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock or SystemClock()
    )
