"""metering: providers' tariffs, metered sessions, provider events

Revision ID: metering_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "metering_0001"
down_revision = None
branch_labels = ("metering",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime
BIGINT = sa.BigInteger()


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "metering_tariffs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("rate_per_minute", BIGINT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("free_minutes", sa.Integer(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("commission_percent", sa.String(10), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("metering_tariffs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metering_tariffs")),
        sa.UniqueConstraint("platform_id", "provider_id", name="uq_metering_tariffs_provider"),
    )
    op.create_table(
        "metering_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("telephony", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Column("client_number", sa.String(20), nullable=True),
        sa.Column("provider_number", sa.String(20), nullable=True),
        sa.Column("to_mobile", sa.Boolean(), nullable=False),
        sa.Column("tariff", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("budget", BIGINT, nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("max_seconds", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("answered_at", UTC(), nullable=True),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.Column("end_status", sa.String(20), nullable=True),
        sa.Column("billed_seconds", sa.Integer(), nullable=True),
        sa.Column("total", BIGINT, nullable=True),
        sa.Column("statement", sa.JSON(), nullable=True),
        sa.Column("recording_ref", sa.String(100), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("metering_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metering_sessions")),
        sa.UniqueConstraint("telephony", "reference", name="uq_metering_sessions_reference"),
    )
    op.create_index("ix_metering_sessions_client", "metering_sessions", ["platform_id", "client_id"])
    op.create_index("ix_metering_sessions_provider", "metering_sessions", ["platform_id", "provider_id"])
    op.create_table(
        "metering_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("telephony", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(60), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("role", sa.String(10), nullable=True),
        sa.Column("end_status", sa.String(20), nullable=True),
        sa.Column("occurred_at", UTC(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        _platform_fk("metering_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metering_events")),
        sa.UniqueConstraint("telephony", "event_id", name="uq_metering_events_event"),
    )
    op.create_index("ix_metering_events_session", "metering_events", ["session_id"])


def downgrade() -> None:
    op.drop_table("metering_events")
    op.drop_table("metering_sessions")
    op.drop_table("metering_tariffs")
