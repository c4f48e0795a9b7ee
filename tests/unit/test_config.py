from __future__ import annotations

import pytest
from pydantic import ValidationError

from entremise.config import Settings


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ValidationError, match="ENTREMISE_SECRET_KEY"):
        Settings(ENTREMISE_ENV="production")
    with pytest.raises(ValidationError, match="ENTREMISE_SECRET_KEY"):
        Settings(ENTREMISE_ENV="production", ENTREMISE_SECRET_KEY="short")


def test_production_accepts_a_strong_secret_and_development_needs_none():
    assert Settings(ENTREMISE_ENV="production", ENTREMISE_SECRET_KEY="k" * 40).production
    assert not Settings(ENTREMISE_ENV="development").production


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("SMTP_PORT", "2525")
    s = Settings()
    assert s.database_url.endswith("/x")
    assert s.smtp_port == 2525
