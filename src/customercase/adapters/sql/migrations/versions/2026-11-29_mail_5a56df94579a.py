"""mail: participants, seen inbound message ids, the local dev mailbox

Revision ID: 5a56df94579a
Revises: 478e795159f5
Create Date: 2026-11-29 09:18:56.761902
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5a56df94579a"
down_revision = "478e795159f5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dev_mailbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_mailbox")),
    )
    with op.batch_alter_table("dev_mailbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dev_mailbox_sent_at"), ["sent_at"], unique=False)

    op.create_table(
        "inbound_messages",
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_inbound_messages")),
    )
    op.create_table(
        "participants",
        sa.Column("idea_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("added_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.id"],
            name=op.f("fk_participants_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_participants_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_participants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "user_id", name=op.f("pk_participants")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participants_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_idea", ["idea_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_idea")

    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_user_id"))

    op.drop_table("participants")
    op.drop_table("inbound_messages")
    with op.batch_alter_table("dev_mailbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dev_mailbox_sent_at"))

    op.drop_table("dev_mailbox")
