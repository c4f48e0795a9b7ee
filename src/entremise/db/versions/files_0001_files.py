"""files: stored files and read grants

Revision ID: files_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "files_0001"
down_revision = None
branch_labels = ("files",)
depends_on = "platforms_0001"


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_stored_files_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
    )
    op.create_index("ix_stored_files_owner", "stored_files", ["platform_id", "owner_id", "purpose"])
    op.create_table(
        "file_grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("file_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("cause_type", sa.String(40), nullable=False),
        sa.Column("cause_id", sa.String(64), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_file_grants_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_files.id"], name=op.f("fk_file_grants_file_id_stored_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_grants")),
        sa.UniqueConstraint("file_id", "user_id", "cause_type", "cause_id", name="uq_file_grants_grant"),
    )
    op.create_index("ix_file_grants_user", "file_grants", ["platform_id", "user_id", "file_id"])


def downgrade() -> None:
    op.drop_table("file_grants")
    op.drop_table("stored_files")
