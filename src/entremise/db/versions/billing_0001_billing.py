"""billing: invoices, credit notes, lines, documents (immutable), billable items, profiles, mandates, runs

Revision ID: billing_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "billing_0001"
down_revision = None
branch_labels = ("billing",)
depends_on = ("platforms_0001", "accounts_0001")

IMMUTABLE = ("billing_invoices", "billing_invoice_lines", "billing_documents")
# the columns of a billable item fixed once it is recorded (only invoice_id and cancelled_at change)
ITEM_FIXED = (
    "id",
    "platform_id",
    "key",
    "customer_id",
    "seller_id",
    "description",
    "quantity",
    "price_mode",
    "given_price",
    "unit_price",
    "vat_rate",
    "currency",
    "supply_date",
    "cause_type",
    "cause_id",
    "created_at",
)
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _party_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address_line1", sa.String(200), nullable=False),
        sa.Column("address_line2", sa.String(200), nullable=True),
        sa.Column("postcode", sa.String(20), nullable=True),
        sa.Column("city", sa.String(100), nullable=True),
        sa.Column("country", sa.String(2), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "billing_profiles",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        *_party_columns(),
        sa.Column("siren", sa.String(20), nullable=True),
        sa.Column("vat_number", sa.String(20), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_billing_profiles_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_billing_profiles_user_id_users")),
        sa.PrimaryKeyConstraint("platform_id", "user_id", name=op.f("pk_billing_profiles")),
    )
    op.create_table(
        "billing_sellers",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("mandate_reference", sa.String(200), nullable=False),
        sa.Column("mandate_signed_on", sa.Date(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_billing_sellers_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["users.id"], name=op.f("fk_billing_sellers_provider_id_users")
        ),
        sa.PrimaryKeyConstraint("platform_id", "provider_id", name=op.f("pk_billing_sellers")),
        sa.UniqueConstraint("platform_id", "code", name="uq_billing_sellers_code"),
    )
    op.create_table(
        "billing_invoices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("series", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("supply_start", sa.Date(), nullable=False),
        sa.Column("supply_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=True),
        sa.Column("seller", sa.JSON(), nullable=False),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("business", sa.Boolean(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("einvoice", sa.Boolean(), nullable=False),
        sa.Column("credited_invoice_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_month", sa.String(7), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_invoices_credited_invoice_id_billing_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_billing_invoices_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_billing_invoices_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_billing_invoices_seller_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoices")),
        sa.UniqueConstraint("platform_id", "number", name="uq_billing_invoices_number"),
        sa.UniqueConstraint("platform_id", "series", "year", "seq", name="uq_billing_invoices_seq"),
    )
    op.create_index("ix_billing_invoices_customer", "billing_invoices", ["platform_id", "customer_id", "id"])
    op.create_index("ix_billing_invoices_credited", "billing_invoices", ["credited_invoice_id"])
    op.create_table(
        "billing_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=True),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("price_mode", sa.String(8), nullable=False),
        sa.Column("given_price", sa.String(32), nullable=False),
        sa.Column("unit_price", sa.String(32), nullable=False),
        sa.Column("vat_rate", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("supply_date", sa.Date(), nullable=False),
        sa.Column("cause_type", sa.String(40), nullable=False),
        sa.Column("cause_id", sa.String(64), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("cancelled_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_billing_items_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["billing_invoices.id"], name=op.f("fk_billing_items_invoice_id_billing_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_billing_items_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_billing_items_seller_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_items")),
        sa.UniqueConstraint("platform_id", "key", name="uq_billing_items_key"),
    )
    op.create_index(
        "ix_billing_items_open", "billing_items", ["platform_id", "invoice_id", "customer_id", "supply_date"]
    )
    op.create_index("ix_billing_items_cause", "billing_items", ["platform_id", "cause_type", "cause_id"])
    op.create_table(
        "billing_invoice_lines",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("unit_price", sa.String(32), nullable=False),
        sa.Column("vat_rate", sa.String(8), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_invoice_lines_invoice_id_billing_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["billing_items.id"], name=op.f("fk_billing_invoice_lines_item_id_billing_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoice_lines")),
    )
    op.create_index("ix_billing_invoice_lines_invoice", "billing_invoice_lines", ["invoice_id", "position"])
    op.create_table(
        "billing_documents",
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_documents_invoice_id_billing_invoices"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "kind", name=op.f("pk_billing_documents")),
    )
    op.create_table(
        "billing_runs",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("started_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("attempted_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_billing_runs_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("platform_id", "month", name=op.f("pk_billing_runs")),
    )
    _immutability_triggers()


def _immutability_triggers() -> None:
    message = "an issued invoice never changes (LAW-INVOICE-1): issue a credit note instead"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION billing_immutable() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '%: {message}', TG_TABLE_NAME; END;
            $$ LANGUAGE plpgsql;
            """
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION billing_immutable()"
            )
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ITEM_FIXED)
        op.execute(
            f"""
            CREATE FUNCTION billing_items_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'billing_items are never deleted: cancel the item instead';
              END IF;
              IF {changed}
                 OR (OLD.invoice_id IS NOT NULL AND NEW.invoice_id IS DISTINCT FROM OLD.invoice_id)
                 OR (OLD.cancelled_at IS NOT NULL AND NEW.cancelled_at IS DISTINCT FROM OLD.cancelled_at) THEN
                RAISE EXCEPTION 'billing_items: only an open item may be invoiced or cancelled, once';
              END IF;
              RETURN NEW;
            END; $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER billing_items_guard BEFORE UPDATE OR DELETE ON billing_items "
            "FOR EACH ROW EXECUTE FUNCTION billing_items_guard()"
        )
    else:
        for table in IMMUTABLE:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table}: {message}'); END"
                )
        op.execute(
            "CREATE TRIGGER billing_items_no_delete BEFORE DELETE ON billing_items "
            "BEGIN SELECT RAISE(ABORT, 'billing_items are never deleted: cancel the item instead'); END"
        )
        op.execute(
            f"CREATE TRIGGER billing_items_fixed BEFORE UPDATE OF {', '.join(ITEM_FIXED)} ON billing_items "
            "BEGIN SELECT RAISE(ABORT, 'billing_items: only an open item may be invoiced or cancelled, once'); END"
        )
        op.execute(
            "CREATE TRIGGER billing_items_once BEFORE UPDATE OF invoice_id, cancelled_at ON billing_items "
            "WHEN (OLD.invoice_id IS NOT NULL AND NEW.invoice_id IS NOT OLD.invoice_id) "
            "OR (OLD.cancelled_at IS NOT NULL AND NEW.cancelled_at IS NOT OLD.cancelled_at) "
            "BEGIN SELECT RAISE(ABORT, 'billing_items: only an open item may be invoiced or cancelled, once'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP TRIGGER IF EXISTS billing_items_guard ON billing_items")
        op.execute("DROP FUNCTION IF EXISTS billing_immutable()")
        op.execute("DROP FUNCTION IF EXISTS billing_items_guard()")
    op.drop_table("billing_runs")
    op.drop_table("billing_documents")
    op.drop_table("billing_invoice_lines")
    op.drop_table("billing_items")
    op.drop_table("billing_invoices")
    op.drop_table("billing_sellers")
    op.drop_table("billing_profiles")
