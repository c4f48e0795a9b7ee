"""Run the integration suite against PostgreSQL on a fresh database, then drop it.

PostgreSQL is found at ENTREMISE_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
When it cannot be reached this prints that PostgreSQL was skipped and exits 0, unless
ENTREMISE_REQUIRE_POSTGRES=1 (as `.ci/run` sets), in which case it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys

from entremise.db.scratch import PostgresUnreachable, scratch_database


def main() -> int:
    required = os.environ.get("ENTREMISE_REQUIRE_POSTGRES") == "1"
    try:
        with scratch_database("entremise_test") as url:
            print(f"PostgreSQL integration run on fresh database {url.rsplit('/', 1)[1]}")
            env = dict(os.environ, ENTREMISE_TEST_DATABASE_URL=url)
            extra = sys.argv[1:]
            paths = [] if any(not a.startswith("-") for a in extra) else ["tests/integration"]
            args = [sys.executable, "-m", "pytest", "-q", *paths, *extra]
            return subprocess.call(args, env=env)  # noqa: S603
    except PostgresUnreachable as exc:
        print(exc)
        if required:
            print("FAILED: PostgreSQL is required (ENTREMISE_REQUIRE_POSTGRES=1)")
            return 1
        print("SKIPPED the PostgreSQL integration run; the suite above ran on SQLite only.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
