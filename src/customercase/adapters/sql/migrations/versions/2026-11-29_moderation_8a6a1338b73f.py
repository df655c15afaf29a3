"""moderation: held and rejected posts, moderation cases, trusted and blocked posters

Revision ID: 8a6a1338b73f
Revises: 82f2251f0f8c
Create Date: 2026-11-29 09:21:32.749619
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8a6a1338b73f"
down_revision = "82f2251f0f8c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standings",
        sa.Column("vendor_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("standing", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_standings_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_standings_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", "user_id", name=op.f("pk_standings")),
    )
    op.create_table(
        "moderation_cases",
        sa.Column("post_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("forum_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_moderation_cases_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["forum_id"],
            ["forums.id"],
            name=op.f("fk_moderation_cases_forum_id_forums"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_moderation_cases")),
    )
    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_cases_due", ["state", "created_at"], unique=False)
        batch_op.create_index(
            "ix_moderation_cases_queue", ["forum_id", "state", "created_at"], unique=False
        )

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "moderation", sa.String(length=16), server_default="published", nullable=False
            )
        )

    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("holds_first_posts", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "moderation", sa.String(length=16), server_default="published", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_column("moderation")

    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.drop_column("holds_first_posts")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("moderation")

    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_cases_queue")
        batch_op.drop_index("ix_moderation_cases_due")

    op.drop_table("moderation_cases")
    op.drop_table("standings")
