"""scheduling: provider schedules, availability overrides, appointments

Revision ID: scheduling_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "scheduling_0001"
down_revision = None
branch_labels = ("scheduling",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime
BIGINT = sa.BigInteger()


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "provider_schedules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("per_minute_rate", BIGINT, nullable=True),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("provider_schedules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_schedules")),
        sa.UniqueConstraint("platform_id", "provider_id", name="uq_provider_schedules_provider"),
    )
    op.create_table(
        "availability_overrides",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("availability_overrides"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_overrides")),
        sa.UniqueConstraint("platform_id", "provider_id", "day", name="uq_availability_overrides_day"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("blocked_from", UTC(), nullable=False),
        sa.Column("blocked_until", UTC(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price", BIGINT, nullable=False),
        sa.Column("rate_per_minute", BIGINT, nullable=True),
        sa.Column("fee_per_minute", BIGINT, nullable=False),
        sa.Column("fee", BIGINT, nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("charged", BIGINT, nullable=False),
        sa.Column("provider_fee", BIGINT, nullable=False),
        sa.Column("withdrawal_deadline", UTC(), nullable=True),
        sa.Column("client_joined_at", UTC(), nullable=True),
        sa.Column("provider_joined_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("appointments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(
        "ix_appointments_provider", "appointments", ["platform_id", "provider_id", "active", "blocked_from"]
    )
    op.create_index("ix_appointments_client", "appointments", ["platform_id", "client_id", "starts_at"])


def downgrade() -> None:
    op.drop_table("appointments")
    op.drop_table("availability_overrides")
    op.drop_table("provider_schedules")
