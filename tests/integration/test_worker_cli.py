"""`entremise tick` and `entremise worker` through the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from booking_processes import TRIP
from typer.testing import CliRunner

from entremise.booking import service
from entremise.booking.service import ProcessActor
from entremise.cli.main import app
from entremise.config import get_settings

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def cli_env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield {"DATABASE_URL": database_url}
    get_settings.cache_clear()


def test_tick_runs_the_due_timers_once_and_prints_counts(runtime, platform, clock, cli_env):
    # the command reads the system clock: start the trip three days ago, so its 48 h expiry is due
    clock.set(datetime.now(UTC) - timedelta(days=3))
    data = {"starts_at": datetime.now(UTC).isoformat(), "client_id": "c1", "provider_id": "p1"}
    with runtime.sessions() as db, db.begin():
        view = service.start(db, platform.id, TRIP.name, ProcessActor("client", "c1"), data, clock.now())
    result = CliRunner().invoke(app, ["tick"], env=cli_env)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ") for line in result.stdout.strip().splitlines())  # logs go to stderr
    assert int(lines["timers"]) >= 1
    with runtime.sessions() as db, db.begin():
        assert service.get_instance(db, platform.id, view.id).state == "expired"
    again = CliRunner().invoke(app, ["tick"], env=cli_env)
    assert again.exit_code == 0
    with runtime.sessions() as db, db.begin():
        assert [t.status for t in service.list_timers(db, platform.id, view.id)] == ["done"]


@pytest.mark.parametrize("command", ["worker", "tick"])
def test_help(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "job" in result.output


@pytest.mark.slow
def test_the_worker_stops_gracefully_on_sigterm(database_url, migrated_engine):
    env = dict(
        os.environ, DATABASE_URL=database_url, PYTHONPATH=str(SRC), ENTREMISE_WORKER_POLL_SECONDS="0.2"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "entremise.cli.main", "worker"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "worker started" in first, first
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "worker stopped" in err
