"""privacy: marketing consents and their proof, data-protection requests, processing limits,
post-mortem directives, retention purge runs

Revision ID: privacy_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "privacy_0001"
down_revision = None
branch_labels = ("privacy",)
depends_on = ("platforms_0001", "accounts_0001")


def upgrade() -> None:
    op.create_table(
        "retention_purge_runs",
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("last_run_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_run_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_retention_purge_runs_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("platform_id", name=op.f("pk_retention_purge_runs")),
    )
    op.create_table(
        "consent_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_consent_events_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_consent_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_user", "consent_events", ["platform_id", "user_id", "id"], unique=False
    )
    op.create_table(
        "marketing_consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_marketing_consents_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_marketing_consents_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_consents")),
        sa.UniqueConstraint("platform_id", "user_id", "channel", name="uq_marketing_consents_channel"),
    )
    op.create_table(
        "postmortem_directives",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("data_fate", sa.String(length=16), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("trusted_person_name", sa.String(length=200), nullable=True),
        sa.Column("trusted_person_contact", sa.String(length=320), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_postmortem_directives_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_postmortem_directives_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortem_directives")),
        sa.UniqueConstraint("platform_id", "user_id", name="uq_postmortem_directives_user"),
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("received_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("received_via", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("first_due_on", sa.Date(), nullable=False),
        sa.Column("extended_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("answered_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("grounds", sa.JSON(), nullable=False),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("user_notified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_privacy_requests_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_privacy_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(
        "ix_privacy_requests_queue", "privacy_requests", ["platform_id", "status", "due_on"], unique=False
    )
    op.create_index("ix_privacy_requests_user", "privacy_requests", ["platform_id", "user_id"], unique=False)
    op.create_table(
        "processing_limits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("since", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_processing_limits_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_processing_limits_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_limits")),
        sa.UniqueConstraint(
            "platform_id", "user_id", "purpose", "basis", name="uq_processing_limits_purpose"
        ),
    )


def downgrade() -> None:
    op.drop_table("processing_limits")
    op.drop_index("ix_privacy_requests_user", table_name="privacy_requests")
    op.drop_index("ix_privacy_requests_queue", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    op.drop_table("postmortem_directives")
    op.drop_table("marketing_consents")
    op.drop_index("ix_consent_events_user", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_table("retention_purge_runs")
