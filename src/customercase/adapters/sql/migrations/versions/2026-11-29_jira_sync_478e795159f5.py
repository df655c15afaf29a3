"""jira sync: vendor connections, sync cursors and leases, webhook deliveries, tracker ids

Revision ID: 478e795159f5
Revises: db6871407004
Create Date: 2026-11-29 09:20:58.393891
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "478e795159f5"
down_revision = "db6871407004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_table(
        "jira_connections",
        sa.Column("vendor_id", sa.String(length=32), nullable=False),
        sa.Column("site_url", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_jira_connections_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_jira_connections")),
    )
    op.create_table(
        "tracker_sync",
        sa.Column("forum_id", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["forum_id"],
            ["forums.id"],
            name=op.f("fk_tracker_sync_forum_id_forums"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("forum_id", name=op.f("pk_tracker_sync")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracker_comment_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_comments_tracker", ["idea_id", "tracker_comment_id"], unique=False
        )

    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jira_status_map", sa.JSON(), nullable=True))

    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_tracker", ["forum_id", "tracker_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_tracker")

    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.drop_column("jira_status_map")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_tracker")
        batch_op.drop_column("tracker_comment_id")

    op.drop_table("tracker_sync")
    op.drop_table("jira_connections")
    op.drop_table("webhook_deliveries")
