"""reviews: reviews, reviewed transactions (lock rows), aggregates

Revision ID: reviews_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import entremise.db.base

revision = "reviews_0001"
down_revision = None
branch_labels = ("reviews",)
depends_on = "platforms_0001"

UTC = entremise.db.base.UTCDateTime


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"], ["platforms.id"], name=op.f(f"fk_{table}_platform_id_platforms")
    )


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(40), nullable=False),
        sa.Column("transaction_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("reviewee_id", sa.String(36), nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("filter_hits", sa.JSON(), nullable=False),
        sa.Column("moderation_item_id", sa.String(36), nullable=True),
        sa.Column("window_ends_at", UTC(), nullable=True),
        sa.Column("blind_until", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        _platform_fk("reviews"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "platform_id", "subject_kind", "transaction_id", "author_id", name="uq_reviews_one_per_party"
        ),
    )
    op.create_index(
        "ix_reviews_reviewee", "reviews", ["platform_id", "reviewee_id", "status", "published_at"]
    )
    op.create_index("ix_reviews_offer", "reviews", ["platform_id", "offer_id", "status", "published_at"])
    op.create_index("ix_reviews_author", "reviews", ["platform_id", "author_id", "created_at"])
    op.create_index("ix_reviews_blind", "reviews", ["status", "blind_until"])
    op.create_table(
        "reviewed_transactions",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(40), nullable=False),
        sa.Column("transaction_id", sa.String(36), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        _platform_fk("reviewed_transactions"),
        sa.PrimaryKeyConstraint(
            "platform_id", "subject_kind", "transaction_id", name=op.f("pk_reviewed_transactions")
        ),
    )
    op.create_table(
        "review_aggregates",
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("about_kind", sa.String(16), nullable=False),
        sa.Column("about_id", sa.String(36), nullable=False),
        *[
            sa.Column(c, sa.BigInteger(), nullable=False)
            for c in ("count", "total", "r1", "r2", "r3", "r4", "r5")
        ],
        _platform_fk("review_aggregates"),
        sa.PrimaryKeyConstraint("platform_id", "about_kind", "about_id", name=op.f("pk_review_aggregates")),
    )


def downgrade() -> None:
    op.drop_table("review_aggregates")
    op.drop_table("reviewed_transactions")
    op.drop_index("ix_reviews_blind", table_name="reviews")
    op.drop_index("ix_reviews_author", table_name="reviews")
    op.drop_index("ix_reviews_offer", table_name="reviews")
    op.drop_index("ix_reviews_reviewee", table_name="reviews")
    op.drop_table("reviews")
