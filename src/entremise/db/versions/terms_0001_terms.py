"""terms: versions, acceptance evidence, withdrawal rights and waivers

Revision ID: terms_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "terms_0001"
down_revision = None
branch_labels = ("terms",)
depends_on = ("platforms_0001", "accounts_0001")


def upgrade() -> None:
    op.create_table(
        "terms_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("announced_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("effective_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_terms_versions_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_versions")),
        sa.UniqueConstraint("platform_id", "audience", "version", name="uq_terms_versions_label"),
    )
    op.create_index(
        "ix_terms_versions_effective",
        "terms_versions",
        ["platform_id", "audience", "effective_at"],
        unique=False,
    )
    op.create_table(
        "terms_acceptances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("terms_version_id", sa.String(length=36), nullable=False),
        sa.Column("accepted_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_terms_acceptances_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["terms_version_id"],
            ["terms_versions.id"],
            name=op.f("fk_terms_acceptances_terms_version_id_terms_versions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_terms_acceptances_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_acceptances")),
        sa.UniqueConstraint("platform_id", "user_id", "terms_version_id", name="uq_terms_acceptances_once"),
    )
    op.create_table(
        "withdrawal_rights",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("concluded_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("deadline", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("waived_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("waiver_text", sa.Text(), nullable=True),
        sa.Column("waiver_ip", sa.String(length=45), nullable=True),
        sa.Column("waiver_user_agent", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_withdrawal_rights_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_withdrawal_rights_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawal_rights")),
        sa.UniqueConstraint("platform_id", "object_type", "object_id", name="uq_withdrawal_rights_ref"),
    )


def downgrade() -> None:
    op.drop_table("withdrawal_rights")
    op.drop_table("terms_acceptances")
    op.drop_table("terms_versions")
