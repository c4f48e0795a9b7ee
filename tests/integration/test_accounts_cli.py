"""`entremise user create-staff`: a staff account from the command line."""

from __future__ import annotations

import pytest
from accounts_helpers import PASSWORD, auth, login, url
from typer.testing import CliRunner

from entremise.cli.main import app
from entremise.config import get_settings


@pytest.fixture
def cli_env(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ENTREMISE_STAFF_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_create_staff_reads_password_from_stdin_or_environment(cli_env, client, platform, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "user",
            "create-staff",
            "--platform",
            platform.slug,
            "--email",
            "Boss@Example.fr",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    r = login(client, platform, "boss@example.fr")
    assert r.status_code == 201 and r.json()["role"] == "staff" and not r.json()["must_change_password"]
    assert client.get(url(platform, "/staff/users"), headers=auth(r.json()["token"])).status_code == 200

    monkeypatch.setenv("ENTREMISE_STAFF_PASSWORD", "password1234")  # COMMON-ACCOUNT-2: too common
    result = runner.invoke(
        app, ["user", "create-staff", "--platform", platform.slug, "--email", "b2@example.fr"]
    )
    assert result.exit_code == 1 and "refused" in result.output
    monkeypatch.setenv("ENTREMISE_STAFF_PASSWORD", PASSWORD)
    result = runner.invoke(
        app, ["user", "create-staff", "--platform", platform.slug, "--email", "boss@example.fr"]
    )
    assert result.exit_code == 1  # COMMON-ACCOUNT-1: the e-mail is taken
