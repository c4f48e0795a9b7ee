"""ledger: the balance row mirrors its account's frozen flag (read with the row lock)

Revision ID: ledger_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ledger_balances", sa.Column("frozen", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.execute(
        "UPDATE ledger_balances SET frozen = (SELECT a.frozen FROM ledger_accounts a"
        " WHERE a.id = ledger_balances.account_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("ledger_balances") as batch:
        batch.drop_column("frozen")
