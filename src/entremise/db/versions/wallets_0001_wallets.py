"""wallets: credit packs, pack purchases, promo codes and redemptions, reservations

Revision ID: wallets_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "wallets_0001"
down_revision = None
branch_labels = ("wallets",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "wallet_credit_packs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("bonus", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.String(200), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("wallet_credit_packs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_credit_packs")),
    )
    op.create_index(
        "ix_wallet_credit_packs_platform", "wallet_credit_packs", ["platform_id", "active", "position"]
    )
    op.create_table(
        "wallet_pack_purchases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("pack_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("bonus", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("bonus_withdrawn", sa.BigInteger(), nullable=False),
        sa.Column("ledger_transaction_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("wallet_pack_purchases"),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["wallet_credit_packs.id"],
            name=op.f("fk_wallet_pack_purchases_pack_id_wallet_credit_packs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_pack_purchases")),
        sa.UniqueConstraint("platform_id", "idempotency_key", name="uq_wallet_pack_purchases_key"),
    )
    op.create_index(
        "ix_wallet_pack_purchases_client", "wallet_pack_purchases", ["platform_id", "client_id", "id"]
    )
    op.create_table(
        "wallet_promo_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(20), nullable=False),
        sa.Column("min_purchase", sa.BigInteger(), nullable=False),
        sa.Column("conditions_text", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _platform_fk("wallet_promo_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_promo_codes")),
        sa.UniqueConstraint("platform_id", "code", name="uq_wallet_promo_codes_code"),
    )
    op.create_table(
        "wallet_promo_redemptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("promo_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("ledger_transaction_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _platform_fk("wallet_promo_redemptions"),
        sa.ForeignKeyConstraint(
            ["promo_id"],
            ["wallet_promo_codes.id"],
            name=op.f("fk_wallet_promo_redemptions_promo_id_wallet_promo_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_promo_redemptions")),
        sa.UniqueConstraint("promo_id", "client_id", name="uq_wallet_promo_redemptions_once"),
    )
    op.create_index(
        "ix_wallet_promo_redemptions_client", "wallet_promo_redemptions", ["platform_id", "client_id"]
    )
    op.create_table(
        "wallet_reservations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_hold_id", sa.String(36), nullable=True),
        sa.Column("paid_hold_id", sa.String(36), nullable=True),
        sa.Column("cause_type", sa.String(40), nullable=False),
        sa.Column("cause_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=True),
        sa.Column("end_key", sa.String(200), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        _platform_fk("wallet_reservations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_reservations")),
        sa.UniqueConstraint("platform_id", "idempotency_key", name="uq_wallet_reservations_key"),
    )
    op.create_index("ix_wallet_reservations_client", "wallet_reservations", ["platform_id", "client_id"])
    op.create_index(
        "ix_wallet_reservations_cause", "wallet_reservations", ["platform_id", "cause_type", "cause_id"]
    )


def downgrade() -> None:
    op.drop_table("wallet_reservations")
    op.drop_table("wallet_promo_redemptions")
    op.drop_table("wallet_promo_codes")
    op.drop_table("wallet_pack_purchases")
    op.drop_table("wallet_credit_packs")
