"""payouts: payouts

Revision ID: payouts_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "payouts_0001"
down_revision = None
branch_labels = ("payouts",)
depends_on = ("platforms_0001", "kyc_0001")


def upgrade() -> None:
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("request_key", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("bank_account_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.String(length=200), nullable=False),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("requested_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("settled_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["kyc_bank_accounts.id"],
            name=op.f("fk_payouts_bank_account_id_kyc_bank_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_payouts_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("platform_id", "user_id", "request_key", name="uq_payouts_request_key"),
    )
    op.create_index("ix_payouts_provider_ref", "payouts", ["provider_ref"], unique=False)
    op.create_index("ix_payouts_user", "payouts", ["platform_id", "user_id", "requested_at"], unique=False)


def downgrade() -> None:
    op.drop_table("payouts")
