"""moderation: notices, the moderation queue, statements of reasons, complaints, hidden content

Revision ID: moderation_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "moderation_0001"
down_revision = None
branch_labels = ("moderation",)
depends_on = ("platforms_0001", "accounts_0001")


def upgrade() -> None:
    op.create_table(
        "moderation_hidden",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_moderation_hidden_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_hidden")),
        sa.UniqueConstraint("platform_id", "kind", "content_id", name="uq_moderation_hidden"),
    )
    op.create_table(
        "moderation_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("facts", sa.Text(), nullable=True),
        sa.Column("ground_kind", sa.String(length=8), nullable=True),
        sa.Column("ground", sa.Text(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", entremise.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_moderation_items_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_items")),
    )
    op.create_index(
        "ix_moderation_items_content", "moderation_items", ["platform_id", "kind", "content_id"], unique=False
    )
    op.create_index(
        "ix_moderation_items_queue", "moderation_items", ["platform_id", "status", "created_at"], unique=False
    )
    op.create_table(
        "moderation_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("notifier_user_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("contest_token_hash", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["moderation_items.id"], name=op.f("fk_moderation_notices_item_id_moderation_items")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_moderation_notices_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_notices")),
        sa.UniqueConstraint("contest_token_hash", name=op.f("uq_moderation_notices_contest_token_hash")),
    )
    op.create_index(
        "ix_moderation_notices_email",
        "moderation_notices",
        ["platform_id", "email_hash", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_moderation_notices_ip",
        "moderation_notices",
        ["platform_id", "ip_hash", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_moderation_notices_item_id"), "moderation_notices", ["item_id"], unique=False)
    op.create_table(
        "moderation_statements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("source_kind", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("automated_decision", sa.Boolean(), nullable=False),
        sa.Column("ground_kind", sa.String(length=8), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("redress", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("contest_until", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("contest_token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_moderation_statements_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_moderation_statements_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_statements")),
        sa.UniqueConstraint("contest_token_hash", name=op.f("uq_moderation_statements_contest_token_hash")),
    )
    op.create_index(
        op.f("ix_moderation_statements_user_id"), "moderation_statements", ["user_id"], unique=False
    )
    op.create_table(
        "moderation_complaints",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("source_kind", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=True),
        sa.Column("notice_id", sa.String(length=36), nullable=True),
        sa.Column("complainant", sa.String(length=16), nullable=False),
        sa.Column("complainant_user_id", sa.String(length=36), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_decider", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=36), nullable=True),
        sa.Column("answered_at", entremise.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["moderation_notices.id"],
            name=op.f("fk_moderation_complaints_notice_id_moderation_notices"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_moderation_complaints_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["moderation_statements.id"],
            name=op.f("fk_moderation_complaints_statement_id_moderation_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_complaints")),
    )
    op.create_index(
        "ix_moderation_complaints_queue",
        "moderation_complaints",
        ["platform_id", "status", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_moderation_complaints_queue", table_name="moderation_complaints")
    op.drop_table("moderation_complaints")
    op.drop_index(op.f("ix_moderation_statements_user_id"), table_name="moderation_statements")
    op.drop_table("moderation_statements")
    op.drop_index(op.f("ix_moderation_notices_item_id"), table_name="moderation_notices")
    op.drop_index("ix_moderation_notices_ip", table_name="moderation_notices")
    op.drop_index("ix_moderation_notices_email", table_name="moderation_notices")
    op.drop_table("moderation_notices")
    op.drop_index("ix_moderation_items_queue", table_name="moderation_items")
    op.drop_index("ix_moderation_items_content", table_name="moderation_items")
    op.drop_table("moderation_items")
    op.drop_table("moderation_hidden")
