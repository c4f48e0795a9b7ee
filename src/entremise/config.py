"""Settings, read from environment variables and an optional `.env` file.

Every setting is documented in the README ("Settings").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105 - marker value, refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="sqlite:///var/entremise.sqlite3", alias="DATABASE_URL")
    env: str = Field(default="development", alias="ENTREMISE_ENV")
    secret_key: str = Field(default=DEV_SECRET, alias="ENTREMISE_SECRET_KEY")
    base_url: str = Field(default="http://127.0.0.1:8000", alias="ENTREMISE_BASE_URL")
    # outbound mail: "smtp" sends through the SMTP server below, "file" writes .eml files under mail_dir
    mail_backend: Literal["smtp", "file"] = Field(default="file", alias="ENTREMISE_MAIL_BACKEND")
    mail_dir: str = Field(default="var/mail", alias="ENTREMISE_MAIL_DIR")
    sms_dir: str = Field(default="var/sms", alias="ENTREMISE_SMS_DIR")
    mail_from: str = Field(default="entremise <no-reply@entremise.localhost>", alias="ENTREMISE_MAIL_FROM")
    smtp_host: str = Field(default="127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(default=25, alias="SMTP_PORT")
    smtp_user: str | None = Field(default=None, alias="SMTP_USER")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS")
    smtp_timeout: float = Field(default=10.0, alias="SMTP_TIMEOUT")
    # outbox delivery (see docs/notifications.md): a message is dead after this many failed attempts;
    # a claimed message is re-offered to another worker when its claim is older than the lease
    mail_max_attempts: int = Field(default=8, ge=1, alias="ENTREMISE_MAIL_MAX_ATTEMPTS")
    mail_lease_seconds: int = Field(default=300, ge=30, alias="ENTREMISE_MAIL_LEASE_SECONDS")
    mail_batch_size: int = Field(default=100, ge=1, alias="ENTREMISE_MAIL_BATCH_SIZE")
    session_ttl_hours: int = Field(default=24 * 14, alias="ENTREMISE_SESSION_TTL_HOURS")
    max_body_bytes: int = Field(default=1024 * 1024, alias="ENTREMISE_MAX_BODY_BYTES")
    db_pool_size: int = Field(default=40, alias="ENTREMISE_DB_POOL_SIZE")
    log_level: str = Field(default="INFO", alias="ENTREMISE_LOG_LEVEL")
    worker_poll_seconds: float = Field(default=1.0, alias="ENTREMISE_WORKER_POLL_SECONDS")
    # timers (docs/worker.md): claimed in batches; a claim expires after the lease (a worker that died);
    # a failing timer is retried after retry_base × 2^(attempts-1) seconds, capped, then marked dead
    worker_batch_size: int = Field(default=100, ge=1, alias="ENTREMISE_WORKER_BATCH_SIZE")
    timer_lease_seconds: int = Field(default=300, ge=1, alias="ENTREMISE_TIMER_LEASE_SECONDS")
    timer_max_attempts: int = Field(default=10, ge=1, alias="ENTREMISE_TIMER_MAX_ATTEMPTS")
    timer_retry_base_seconds: int = Field(default=30, ge=1, alias="ENTREMISE_TIMER_RETRY_BASE_SECONDS")
    timer_retry_max_seconds: int = Field(default=3600, ge=1, alias="ENTREMISE_TIMER_RETRY_MAX_SECONDS")
    # uploaded files (docs/files.md): stored outside the web root; the upload route alone accepts
    # bodies up to max_upload_bytes (each purpose sets its own, smaller or equal, limit)
    files_dir: str = Field(default="var/files", alias="ENTREMISE_FILES_DIR")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, alias="ENTREMISE_MAX_UPLOAD_BYTES")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @model_validator(mode="after")
    def _secret_required_in_production(self) -> Settings:
        if self.production and (
            not self.secret_key or self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "ENTREMISE_SECRET_KEY must be set to a random value of at least 32 characters "
                "when ENTREMISE_ENV=production"
            )
        return self

    def ensure_dirs(self) -> None:
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
