"""vendors.deleted_at (a deleted vendor is hidden, purged later); message ids indexed by age

Revision ID: b4d8e2a6c913
Revises: 9a3b5c7d1e2f
Create Date: 2026-11-30 09:00:00

Adding a nullable column is safe while the previous release still runs: it never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b4d8e2a6c913"
down_revision = "9a3b5c7d1e2f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vendors") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_vendors_deleted_at"), "vendors", ["deleted_at"])
    # The sweeps forget message ids by age.
    for table in ("inbound_messages", "webhook_deliveries"):
        op.create_index(op.f(f"ix_{table}_received_at"), table, ["received_at"])


def downgrade() -> None:
    for table in ("inbound_messages", "webhook_deliveries"):
        op.drop_index(op.f(f"ix_{table}_received_at"), table_name=table)
    op.drop_index(op.f("ix_vendors_deleted_at"), table_name="vendors")
    with op.batch_alter_table("vendors") as batch:
        batch.drop_column("deleted_at")
