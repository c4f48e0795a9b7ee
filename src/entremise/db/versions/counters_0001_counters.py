"""counters: gap-free sequences per platform

Revision ID: counters_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "counters_0001"
down_revision = None
branch_labels = ("counters",)
depends_on = "platforms_0001"


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_counters_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("platform_id", "name", name=op.f("pk_counters")),
    )


def downgrade() -> None:
    op.drop_table("counters")
