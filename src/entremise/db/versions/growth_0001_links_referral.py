"""growth: personal links, sign-up attributions, referral commissions

Revision ID: growth_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "growth_0001"
down_revision = None
branch_labels = ("growth",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "personal_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _platform_fk("personal_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_links")),
        sa.UniqueConstraint("platform_id", "slug", name="uq_personal_links_slug"),
        sa.UniqueConstraint("platform_id", "provider_id", name="uq_personal_links_provider"),
    )
    op.create_table(
        "signup_attributions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _platform_fk("signup_attributions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attributions")),
        sa.UniqueConstraint("platform_id", "user_id", name="uq_signup_attributions_user"),
    )
    op.create_table(
        "referral_commissions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("consultation_id", sa.String(64), nullable=False),
        sa.Column("referrer_id", sa.String(36), nullable=False),
        sa.Column("referee_id", sa.String(36), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("ledger_transaction_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(400), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _platform_fk("referral_commissions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_commissions")),
        sa.UniqueConstraint("platform_id", "consultation_id", name="uq_referral_commissions_consultation"),
    )


def downgrade() -> None:
    op.drop_table("referral_commissions")
    op.drop_table("signup_attributions")
    op.drop_table("personal_links")
