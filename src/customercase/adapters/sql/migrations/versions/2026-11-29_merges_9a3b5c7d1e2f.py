"""merges and merge_moves: what each merge moved, so unmerge restores it

Revision ID: 9a3b5c7d1e2f
Revises: 7c2d9e1f4a60
Create Date: 2026-11-29 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a3b5c7d1e2f"
down_revision = "7c2d9e1f4a60"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("idea_id", sa.String(length=32), nullable=False),
        sa.Column("into_id", sa.String(length=32), nullable=False),
        sa.Column("merged_by", sa.String(length=32), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("heat", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_merges_idea_id_ideas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["into_id"], ["ideas.id"], name=op.f("fk_merges_into_id_ideas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_merges")),
    )
    op.create_table(
        "merge_moves",
        sa.Column("idea_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watching", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["merges.idea_id"],
            name=op.f("fk_merge_moves_idea_id_merges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "kind", "ref", name=op.f("pk_merge_moves")),
    )


def downgrade() -> None:
    op.drop_table("merge_moves")
    op.drop_table("merges")
