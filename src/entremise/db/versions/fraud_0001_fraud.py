"""fraud: identifiers (digests), incidents, verifications, cases and their signals

Revision ID: fraud_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "fraud_0001"
down_revision = None
branch_labels = ("fraud",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "fraud_identifiers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("first_seen", UTC(), nullable=False),
        sa.Column("last_seen", UTC(), nullable=False),
        _platform_fk("fraud_identifiers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_identifiers")),
        sa.UniqueConstraint("platform_id", "kind", "digest", "user_id", name="uq_fraud_identifiers_seen"),
    )
    op.create_index("ix_fraud_identifiers_user", "fraud_identifiers", ["platform_id", "user_id"])
    op.create_table(
        "fraud_incidents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        _platform_fk("fraud_incidents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_incidents")),
        sa.UniqueConstraint("platform_id", "kind", "reference", name="uq_fraud_incidents_reference"),
    )
    op.create_index("ix_fraud_incidents_user", "fraud_incidents", ["platform_id", "user_id"])
    op.create_table(
        "fraud_verifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        _platform_fk("fraud_verifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_verifications")),
        sa.UniqueConstraint("platform_id", "kind", "reference", name="uq_fraud_verifications_reference"),
    )
    op.create_index("ix_fraud_verifications_user", "fraud_verifications", ["platform_id", "user_id", "at"])
    op.create_table(
        "fraud_cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("opened_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        _platform_fk("fraud_cases"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_cases")),
    )
    op.create_index("ix_fraud_cases_status", "fraud_cases", ["platform_id", "status", "opened_at"])
    op.create_table(
        "fraud_case_signals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        _platform_fk("fraud_case_signals"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["fraud_cases.id"], name=op.f("fk_fraud_case_signals_case_id_fraud_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_case_signals")),
        sa.UniqueConstraint("platform_id", "key", name="uq_fraud_case_signals_key"),
    )
    op.create_index("ix_fraud_case_signals_case", "fraud_case_signals", ["case_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_fraud_case_signals_case", table_name="fraud_case_signals")
    op.drop_table("fraud_case_signals")
    op.drop_index("ix_fraud_cases_status", table_name="fraud_cases")
    op.drop_table("fraud_cases")
    op.drop_index("ix_fraud_verifications_user", table_name="fraud_verifications")
    op.drop_table("fraud_verifications")
    op.drop_index("ix_fraud_incidents_user", table_name="fraud_incidents")
    op.drop_table("fraud_incidents")
    op.drop_index("ix_fraud_identifiers_user", table_name="fraud_identifiers")
    op.drop_table("fraud_identifiers")
