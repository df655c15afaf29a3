"""tracker_sync.synced_at: when a sync last read the project to the end (sync lag metric)

Revision ID: 4e7b2a9c1d35
Revises: b4d8e2a6c913
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "4e7b2a9c1d35"
down_revision = "b4d8e2a6c913"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracker_sync") as batch:
        batch.add_column(sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracker_sync") as batch:
        batch.drop_column("synced_at")
