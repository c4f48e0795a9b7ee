"""claims: claims, evidence, answers, refunds; providers' mediators

Revision ID: claims_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "claims_0001"
down_revision = None
branch_labels = ("claims",)
depends_on = ("platforms_0001", "accounts_0001")


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("claimant_id", sa.String(length=36), nullable=False),
        sa.Column("respondent", sa.String(length=16), nullable=False),
        sa.Column("respondent_id", sa.String(length=36), nullable=True),
        sa.Column("provider_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("contact", sa.String(length=500), nullable=True),
        sa.Column("pseudonym", sa.String(length=100), nullable=True),
        sa.Column("occurred_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("reference_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("filing_deadline", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("filed_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("answer_due_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("answered_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("escalated_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("closed_at", entremise.db.base.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=16), nullable=True),
        sa.Column("watch_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["claimant_id"], ["users.id"], name=op.f("fk_claims_claimant_id_users")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_claims_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["provider_id"], ["users.id"], name=op.f("fk_claims_provider_id_users")),
        sa.ForeignKeyConstraint(["respondent_id"], ["users.id"], name=op.f("fk_claims_respondent_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("platform_id", "reference", name="uq_claims_reference"),
    )
    op.create_index("ix_claims_claimant", "claims", ["platform_id", "claimant_id", "id"], unique=False)
    op.create_index("ix_claims_respondent", "claims", ["platform_id", "respondent_id", "id"], unique=False)
    op.create_index("ix_claims_state_due", "claims", ["platform_id", "state", "answer_due_at"], unique=False)
    op.create_index("ix_claims_subject", "claims", ["platform_id", "kind", "subject_id"], unique=False)

    op.create_table(
        "provider_mediators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("updated_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_provider_mediators_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["users.id"], name=op.f("fk_provider_mediators_provider_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_mediators")),
        sa.UniqueConstraint("platform_id", "provider_id", name="uq_provider_mediators_provider"),
    )
    op.create_table(
        "claim_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("author_as", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=True),
        sa.Column("answered_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_claim_answers_author_id_users")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_answers_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_claim_answers_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_answers")),
        sa.UniqueConstraint("claim_id", "seq", name="uq_claim_answers_seq"),
    )
    op.create_table(
        "claim_evidence",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("added_by", sa.String(length=36), nullable=False),
        sa.Column("added_as", sa.String(length=16), nullable=False),
        sa.Column("added_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_claim_evidence_added_by_users")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_evidence_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_claim_evidence_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_evidence")),
    )
    op.create_index("ix_claim_evidence_claim", "claim_evidence", ["claim_id", "id"], unique=False)

    op.create_table(
        "claim_refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("answer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_ref", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", entremise.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["claim_answers.id"], name=op.f("fk_claim_refunds_answer_id_claim_answers")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_refunds_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_claim_refunds_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_refunds")),
        sa.UniqueConstraint("answer_id", name="uq_claim_refunds_answer_id"),
    )
    op.create_index(
        "ix_claim_refunds_subject", "claim_refunds", ["platform_id", "kind", "subject_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_claim_refunds_subject", table_name="claim_refunds")

    op.drop_table("claim_refunds")
    op.drop_index("ix_claim_evidence_claim", table_name="claim_evidence")

    op.drop_table("claim_evidence")
    op.drop_table("claim_answers")
    op.drop_table("provider_mediators")
    op.drop_index("ix_claims_subject", table_name="claims")
    op.drop_index("ix_claims_state_due", table_name="claims")
    op.drop_index("ix_claims_respondent", table_name="claims")
    op.drop_index("ix_claims_claimant", table_name="claims")

    op.drop_table("claims")
