"""idea_moves: counter changes, so keyset walks can order by values as of their first page

Revision ID: 7c2d9e1f4a60
Revises: 5e4a1c0d2b7f
Create Date: 2026-11-29 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c2d9e1f4a60"
down_revision = "5e4a1c0d2b7f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idea_moves",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("idea_id", sa.String(length=32), nullable=False),
        sa.Column("forum_id", sa.String(length=32), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("heat", sa.Double(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_idea_moves")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("idea_moves", schema=None) as batch_op:
        batch_op.create_index("ix_idea_moves_forum", ["forum_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_moves_forum")
    op.drop_table("idea_moves")
