"""orders: DJob offers, orders and deliveries

Revision ID: orders_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "orders_0001"
down_revision = None
branch_labels = ("orders",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "djob_offers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("delivery_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("djob_offers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_djob_offers")),
    )
    op.create_index("ix_djob_offers_provider", "djob_offers", ["platform_id", "provider_id", "active"])
    op.create_table(
        "djob_orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column("brief_file_ids", sa.JSON(), nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC(), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("djob_orders"),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["djob_offers.id"], name=op.f("fk_djob_orders_offer_id_djob_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_djob_orders")),
    )
    op.create_index("ix_djob_orders_client", "djob_orders", ["platform_id", "client_id"])
    op.create_index("ix_djob_orders_provider", "djob_orders", ["platform_id", "provider_id"])
    op.create_table(
        "djob_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("file_ids", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("delivered_at", UTC(), nullable=False),
        sa.Column("answer", sa.String(20), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("answered_at", UTC(), nullable=True),
        _platform_fk("djob_deliveries"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["djob_orders.id"], name=op.f("fk_djob_deliveries_order_id_djob_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_djob_deliveries")),
    )
    op.create_index("ix_djob_deliveries_order", "djob_deliveries", ["order_id", "number"])


def downgrade() -> None:
    op.drop_table("djob_deliveries")
    op.drop_table("djob_orders")
    op.drop_table("djob_offers")
