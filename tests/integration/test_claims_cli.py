"""`entremise claims overdue` and `entremise claims presets` on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

from claims_helpers import person, settings_with
from typer.testing import CliRunner

from conftest import make_platform
from entremise.claims import service
from entremise.cli.main import app


def test_claims_commands(client, runtime, monkeypatch, database_url):
    from entremise.config import get_settings

    platform = make_platform(runtime, settings_with(("technology", {"preset": "expert-technology"})))
    alice = person(client, platform)
    filed = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # long ago: 45 days have passed on any clock of today
    with runtime.sessions() as db, db.begin():
        claim = service.file_claim(
            db,
            platform=platform,
            claimant_id=alice.id,
            role="client",
            data=service.FilingInput(
                kind="technology", comment="panne", occurred_at=datetime(2026, 1, 4, tzinfo=UTC)
            ),
            now=filed,
        )
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(app, ["claims", "overdue", "--platform", platform.slug])
        assert out.exit_code == 0, out.output
        assert claim.reference in out.output and "EXPERT-CLAIM-2" in out.output
        assert "1 overdue claim(s)" in out.output
        missing = runner.invoke(app, ["claims", "overdue", "--platform", "no-such-platform"])
        assert missing.exit_code == 2
        presets = runner.invoke(app, ["claims", "presets"])
        assert (
            presets.exit_code == 0
            and "CONSULT-CLAIM-1" in presets.output
            and "30 business days" in presets.output
        )
        for command in (["claims", "overdue"], ["claims", "presets"]):
            assert runner.invoke(app, [*command, "--help"]).exit_code == 0
    finally:
        get_settings.cache_clear()
