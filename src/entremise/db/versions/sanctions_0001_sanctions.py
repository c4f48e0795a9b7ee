"""sanctions: sanctions and registration bans

Revision ID: sanctions_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "sanctions_0001"
down_revision = None
branch_labels = ("sanctions",)
depends_on = ("platforms_0001", "accounts_0001")


def upgrade() -> None:
    op.create_table(
        "sanctions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cure_until", entremise.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sworn_statement", sa.Text(), nullable=True),
        sa.Column("sworn_at", entremise.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=True),
        sa.Column("lifted_at", entremise.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=36), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_sanctions_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sanctions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
    )
    op.create_index("ix_sanctions_user", "sanctions", ["platform_id", "user_id", "status"], unique=False)
    op.create_table(
        "sanction_bans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("sanction_id", sa.String(length=36), nullable=False),
        sa.Column("key_kind", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_sanction_bans_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["sanction_id"], ["sanctions.id"], name=op.f("fk_sanction_bans_sanction_id_sanctions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanction_bans")),
    )
    op.create_index("ix_sanction_bans_digest", "sanction_bans", ["platform_id", "digest"], unique=False)
    op.create_index(op.f("ix_sanction_bans_sanction_id"), "sanction_bans", ["sanction_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sanction_bans_sanction_id"), table_name="sanction_bans")
    op.drop_index("ix_sanction_bans_digest", table_name="sanction_bans")
    op.drop_table("sanction_bans")
    op.drop_index("ix_sanctions_user", table_name="sanctions")
    op.drop_table("sanctions")
