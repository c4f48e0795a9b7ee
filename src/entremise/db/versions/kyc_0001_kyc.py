"""kyc: KYC profiles, bank accounts, documents

Revision ID: kyc_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "kyc_0001"
down_revision = None
branch_labels = ("kyc",)
depends_on = ("platforms_0001", "files_0001")


def upgrade() -> None:
    op.create_table(
        "kyc_bank_accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("holder_name", sa.String(length=140), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("replaced_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_kyc_bank_accounts_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_bank_accounts")),
    )
    op.create_index(
        "ix_kyc_bank_accounts_user",
        "kyc_bank_accounts",
        ["platform_id", "user_id", "replaced_at"],
        unique=False,
    )
    op.create_table(
        "kyc_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("legal_form", sa.String(length=16), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_kyc_profiles_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_profiles")),
        sa.UniqueConstraint("platform_id", "user_id", name="uq_kyc_profiles_user"),
    )
    op.create_table(
        "kyc_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("bank_account_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("review_due_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("watch_id", sa.String(length=36), nullable=True),
        sa.Column("decided_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("outcome_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["kyc_bank_accounts.id"],
            name=op.f("fk_kyc_documents_bank_account_id_kyc_bank_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_files.id"], name=op.f("fk_kyc_documents_file_id_stored_files")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_kyc_documents_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_documents")),
    )
    op.create_index("ix_kyc_documents_provider_ref", "kyc_documents", ["provider_ref"], unique=False)
    op.create_index(
        "ix_kyc_documents_queue", "kyc_documents", ["platform_id", "state", "review_due_at"], unique=False
    )
    op.create_index(
        "ix_kyc_documents_user", "kyc_documents", ["platform_id", "user_id", "type"], unique=False
    )


def downgrade() -> None:
    op.drop_table("kyc_documents")
    op.drop_table("kyc_profiles")
    op.drop_table("kyc_bank_accounts")
