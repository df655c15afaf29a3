"""google sign-in

Revision ID: 82f2251f0f8c
Revises: 5a56df94579a
Create Date: 2026-11-29 09:29:04.160783
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "82f2251f0f8c"
down_revision = "5a56df94579a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_flows",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_sign_in_flows")),
    )
    with op.batch_alter_table("sign_in_flows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_flows_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_google_subject"), ["google_subject"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_google_subject"), type_="unique")
        batch_op.drop_column("google_subject")

    with op.batch_alter_table("sign_in_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_flows_expires_at"))

    op.drop_table("sign_in_flows")
