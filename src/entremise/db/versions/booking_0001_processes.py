"""booking: process instances and timers

Revision ID: booking_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "booking_0001"
down_revision = None
branch_labels = ("booking",)
depends_on = "platforms_0001"


def upgrade() -> None:
    op.create_table(
        "process_instances",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("process", sa.String(40), nullable=False),
        sa.Column("process_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_process_instances_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instances")),
    )
    op.create_index(
        "ix_process_instances_subject", "process_instances", ["platform_id", "subject_type", "subject_id"]
    )
    op.create_index("ix_process_instances_state", "process_instances", ["platform_id", "process", "state"])
    op.create_table(
        "timers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=False),
        sa.Column("transition", sa.String(40), nullable=False),
        sa.Column("due_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("done_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_timers_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_timers_instance_id_process_instances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    op.create_index("ix_timers_due", "timers", ["status", "next_attempt_at"])
    op.create_index("ix_timers_instance", "timers", ["instance_id", "status"])


def downgrade() -> None:
    op.drop_table("timers")
    op.drop_table("process_instances")
