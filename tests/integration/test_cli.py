"""The `entremise` command: every command has --help; db and platform commands work on a real database."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from entremise.cli.main import app

COMMANDS = [
    ["serve"],
    ["worker"],
    ["tick"],
    ["db", "upgrade"],
    ["db", "current"],
    ["platform", "list"],
    ["platform", "create"],
    ["user", "create-staff"],
    ["ledger", "verify"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_db_and_platform_commands(monkeypatch, database_url, migrated_engine):
    from entremise.config import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        current = runner.invoke(app, ["db", "current"])
        assert current.exit_code == 0 and "up to date" in current.output
        slug = f"cli-{uuid.uuid4().hex[:8]}"
        created = runner.invoke(app, ["platform", "create", slug, "From the CLI"])
        assert created.exit_code == 0, created.output
        assert slug in runner.invoke(app, ["platform", "list"]).output
        again = runner.invoke(app, ["platform", "create", slug, "Twice"])
        assert again.exit_code == 1 and "refused" in again.output
        bad = runner.invoke(app, ["platform", "create", "Not A Slug", "x"])
        assert bad.exit_code == 1 and "slug" in bad.output
    finally:
        get_settings.cache_clear()
