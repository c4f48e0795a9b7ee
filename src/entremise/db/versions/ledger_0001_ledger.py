"""ledger: accounts, cached balances, holds, transactions and entries (append-only)

Revision ID: ledger_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = "platforms_0001"

APPEND_ONLY = ("ledger_transactions", "ledger_entries", "ledger_holds")
# the only column of an account that may change after it is opened
ACCOUNT_FIXED = ("id", "platform_id", "key", "type", "owner_id", "currency", "no_negative", "no_positive")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("no_negative", sa.Boolean(), nullable=False),
        sa.Column("no_positive", sa.Boolean(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_ledger_accounts_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("platform_id", "key", name="uq_ledger_accounts_key"),
    )
    op.create_index("ix_ledger_accounts_owner", "ledger_accounts", ["platform_id", "owner_id"])
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_balances_account_id_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_holds_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_ledger_holds_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_holds")),
    )
    op.create_index("ix_ledger_holds_account", "ledger_holds", ["account_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("reverses_id", sa.String(36), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["ledger_holds.id"], name=op.f("fk_ledger_transactions_hold_id_ledger_holds")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_ledger_transactions_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("platform_id", "idempotency_key", name="uq_ledger_transactions_key"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_transactions_reverses"),
    )
    op.create_index(
        "ix_ledger_transactions_cause", "ledger_transactions", ["platform_id", "object_type", "object_id"]
    )
    op.create_index("ix_ledger_transactions_hold", "ledger_transactions", ["hold_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("transaction_id", sa.String(36), nullable=False),
        sa.Column("transfer_no", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("bucket", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["ledger_holds.id"], name=op.f("fk_ledger_entries_hold_id_ledger_holds")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account_id", "bucket"])
    op.create_index("ix_ledger_entries_transaction", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_hold", "ledger_entries", ["hold_id"])
    _immutability_triggers()


def _immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME; END;
            $$ LANGUAGE plpgsql;
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        for table in ("ledger_accounts", "ledger_balances"):
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ACCOUNT_FIXED)
        op.execute(
            f"""
            CREATE FUNCTION ledger_accounts_fixed() RETURNS trigger AS $$
            BEGIN
              IF {changed} THEN
                RAISE EXCEPTION 'ledger_accounts: only the frozen flag may change';
              END IF;
              RETURN NEW;
            END; $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_accounts_fixed BEFORE UPDATE ON ledger_accounts "
            "FOR EACH ROW EXECUTE FUNCTION ledger_accounts_fixed()"
        )
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: post a reversing transaction instead'); END"
                )
        for table in ("ledger_accounts", "ledger_balances"):
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )
        op.execute(
            f"CREATE TRIGGER ledger_accounts_fixed BEFORE UPDATE OF {', '.join(ACCOUNT_FIXED)} "
            "ON ledger_accounts BEGIN SELECT RAISE(ABORT, 'ledger_accounts: only the frozen flag may change'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*APPEND_ONLY, "ledger_accounts", "ledger_balances"):
            for suffix in ("no_change", "no_delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ledger_accounts_fixed ON ledger_accounts")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
        op.execute("DROP FUNCTION IF EXISTS ledger_accounts_fixed()")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_holds")
    op.drop_table("ledger_balances")
    op.drop_table("ledger_accounts")
