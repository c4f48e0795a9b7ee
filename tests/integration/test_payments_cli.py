"""`entremise payments webhook-log` on a real database."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from entremise.cli.main import app


def test_webhook_log_lists_rejected_deliveries(client, monkeypatch, database_url):
    from entremise.config import get_settings

    marker = uuid.uuid4().hex
    r = client.post("/api/v1/psp/webhooks/sandbox", content=f'{{"account": "{marker}"}}'.encode())
    assert r.status_code == 400
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["payments", "webhook-log", "--rejected", "--limit", "1000"])
        assert out.exit_code == 0, out.output
        assert "rejected" in out.output and "unknown sandbox account" in out.output
        assert "webhook(s)" in out.output
    finally:
        get_settings.cache_clear()
