"""SQLite: an fts5vocab table over the trigram index, so similar ideas read rare trigrams first

The table stores nothing: it shows how many summaries hold each trigram, straight from the
FTS5 index. PostgreSQL needs no change (its search indexes are unchanged; similar ideas read
the planner's statistics instead).

Revision ID: 3f8e2a6c9d41
Revises: 4e7b2a9c1d35
Create Date: 2026-11-29 12:35:00
"""

from __future__ import annotations

from alembic import op

revision = "3f8e2a6c9d41"
down_revision = "4e7b2a9c1d35"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE ideas_trigram_vocab USING fts5vocab(ideas_trigram, col)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS ideas_trigram_vocab")
