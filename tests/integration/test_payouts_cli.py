"""`entremise kyc overdue` and `entremise payouts run` on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

from payouts_helpers import new_platform, provider, upload
from typer.testing import CliRunner

from entremise.cli.main import app
from entremise.kyc import service as kyc


def test_kyc_overdue_lists_reviews_past_their_deadline(client, runtime, monkeypatch, database_url):
    from entremise.config import get_settings

    platform = new_platform(runtime)
    user_id, token = provider(client, platform)
    file_id = upload(client, platform, token).json()["id"]
    long_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 48 hours have passed on any clock of today
    with runtime.sessions() as db, db.begin():
        doc = kyc.submit_document(
            db,
            platform=platform,
            user_id=user_id,
            document_type="identity_proof",
            file_id=file_id,
            issued_on=None,
            now=long_ago,
        )
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(app, ["kyc", "overdue", "--platform", platform.slug])
        assert out.exit_code == 0, out.output
        assert doc.id in out.output and "identity_proof" in out.output
        assert "1 overdue KYC review(s)" in out.output
        missing = runner.invoke(app, ["kyc", "overdue", "--platform", "no-such-platform"])
        assert missing.exit_code == 2
        ran = runner.invoke(app, ["payouts", "run"])
        assert ran.exit_code == 0, ran.output
        assert "payout(s) ordered" in ran.output
    finally:
        get_settings.cache_clear()
