"""telephony: the sandbox provider's calls and webhooks

Revision ID: telephony_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "telephony_0001"
down_revision = None
branch_labels = ("telephony",)
depends_on = None

UTC = entremise.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "telephony_sandbox_calls",
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("script", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_telephony_sandbox_calls")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_telephony_sandbox_calls_idempotency_key")),
    )
    op.create_table(
        "telephony_sandbox_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("due_at", UTC(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("done_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_sandbox_webhooks")),
    )
    op.create_index("ix_telephony_sandbox_webhooks_due", "telephony_sandbox_webhooks", ["status", "due_at"])
    op.create_index("ix_telephony_sandbox_webhooks_reference", "telephony_sandbox_webhooks", ["reference"])


def downgrade() -> None:
    op.drop_table("telephony_sandbox_webhooks")
    op.drop_table("telephony_sandbox_calls")
