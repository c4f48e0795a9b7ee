"""Test harness: a migrated database (SQLite file, or PostgreSQL when DATABASE_URL says so),
a runtime with a frozen clock, the real HTTP app, and a fresh platform per test.

Every test gets its own platform, so tests share one database without seeing each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from entremise.config import Settings
from entremise.db import migrate
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.kernel.clock import FrozenClock
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

# a real browser on the real app: the `live_server` and `page` fixtures
pytest_plugins = ["browser_fixtures"]

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("ENTREMISE_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url, pool_size=45)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def is_postgres(migrated_engine) -> bool:  # type: ignore[no-untyped-def]
    return bool(migrated_engine.dialect.name == "postgresql")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        ENTREMISE_MAIL_DIR=str(tmp_path / "mail"),
        ENTREMISE_SMS_DIR=str(tmp_path / "sms"),
        ENTREMISE_FILES_DIR=str(tmp_path / "files"),
    )


@pytest.fixture
def runtime(settings: Settings, migrated_engine, clock: FrozenClock) -> Runtime:  # type: ignore[no-untyped-def]
    return Runtime(
        settings=settings, engine=migrated_engine, sessions=make_sessionmaker(migrated_engine), clock=clock
    )


def make_platform(runtime: Runtime, settings: dict | None = None, prefix: str = "p") -> PlatformView:
    slug = f"{prefix}-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms.create_platform(
            db, slug=slug, name=slug.title(), now=runtime.clock.now(), settings=settings
        )


@pytest.fixture
def platform(runtime: Runtime) -> PlatformView:
    return make_platform(runtime)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    from entremise.api.app import create_app

    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c
