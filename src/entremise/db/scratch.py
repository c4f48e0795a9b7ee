"""Scratch PostgreSQL databases, created fresh and dropped afterwards: for the PostgreSQL test run,
the benchmarks and the ledger crash test, never for data anyone keeps.

The server is found at ENTREMISE_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
a URL of a database the role may connect to, with the right to create databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnreachable(Exception):
    """The PostgreSQL server could not be reached (the caller says it skipped PostgreSQL)."""


def admin_url() -> str:
    return os.environ.get("ENTREMISE_PG_ADMIN_URL", DEFAULT_ADMIN_URL)


@contextmanager
def scratch_database(prefix: str, admin: str | None = None) -> Iterator[str]:
    """Create a database named `<prefix>_<random>`, yield its URL, drop it (with its connections)."""
    admin = admin or admin_url()
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise PostgresUnreachable(f"PostgreSQL not reachable at {admin}: {exc}".strip()) from exc
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.rsplit("/", 1)[0] + "/" + name
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()
