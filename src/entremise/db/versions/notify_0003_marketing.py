"""notify: a category per outbox message (transactional or marketing)

Revision ID: notify_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("category", sa.String(16), nullable=False, server_default="transactional"))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("category")
