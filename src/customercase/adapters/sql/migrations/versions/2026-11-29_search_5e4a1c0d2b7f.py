"""full-text and trigram search over idea summaries

PostgreSQL: a regconfig column copied from the forum's language, a generated tsvector column
with a GIN index, and a pg_trgm GIN index on the summary. SQLite: two FTS5 tables (porter
stemming, and trigrams) that triggers keep in step with `ideas`, backfilled here.

Revision ID: 5e4a1c0d2b7f
Revises: 8a6a1338b73f
Create Date: 2026-11-29 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e4a1c0d2b7f"
down_revision = "8a6a1338b73f"
branch_labels = None
depends_on = None

# Each FTS5 row names its idea and forum as indexed columns, so a trigger finds the row to
# delete with a MATCH (an index look-up) and a search narrows to one forum inside the index.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE ideas_fts USING fts5("
    "idea_id, forum_id, summary, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE ideas_trigram USING fts5("
    "idea_id, forum_id, summary, tokenize = 'trigram')",
    "INSERT INTO ideas_fts (idea_id, forum_id, summary) SELECT id, forum_id, summary FROM ideas",
    "INSERT INTO ideas_trigram (idea_id, forum_id, summary) "
    "SELECT id, forum_id, summary FROM ideas",
    """CREATE TRIGGER ideas_search_insert AFTER INSERT ON ideas BEGIN
        INSERT INTO ideas_fts (idea_id, forum_id, summary)
            VALUES (new.id, new.forum_id, new.summary);
        INSERT INTO ideas_trigram (idea_id, forum_id, summary)
            VALUES (new.id, new.forum_id, new.summary);
    END""",
    """CREATE TRIGGER ideas_search_delete AFTER DELETE ON ideas BEGIN
        DELETE FROM ideas_fts WHERE ideas_fts MATCH 'idea_id : "' || old.id || '"';
        DELETE FROM ideas_trigram WHERE ideas_trigram MATCH 'idea_id : "' || old.id || '"';
    END""",
    """CREATE TRIGGER ideas_search_update AFTER UPDATE OF summary, forum_id ON ideas BEGIN
        DELETE FROM ideas_fts WHERE ideas_fts MATCH 'idea_id : "' || old.id || '"';
        DELETE FROM ideas_trigram WHERE ideas_trigram MATCH 'idea_id : "' || old.id || '"';
        INSERT INTO ideas_fts (idea_id, forum_id, summary)
            VALUES (new.id, new.forum_id, new.summary);
        INSERT INTO ideas_trigram (idea_id, forum_id, summary)
            VALUES (new.id, new.forum_id, new.summary);
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ideas_search_update",
    "DROP TRIGGER IF EXISTS ideas_search_delete",
    "DROP TRIGGER IF EXISTS ideas_search_insert",
    "DROP TABLE IF EXISTS ideas_trigram",
    "DROP TABLE IF EXISTS ideas_fts",
]
POSTGRES_UP = [
    "ALTER TABLE ideas ADD COLUMN search_config regconfig NOT NULL DEFAULT 'english'",
    "UPDATE ideas SET search_config = forums.search_language::regconfig "
    "FROM forums WHERE forums.id = ideas.forum_id",
    "ALTER TABLE ideas ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector(search_config, summary)) STORED",
    "CREATE INDEX ix_ideas_search ON ideas USING gin (search_vector)",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_ideas_trigram ON ideas USING gin (summary gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_ideas_trigram",
    "DROP INDEX IF EXISTS ix_ideas_search",
    "ALTER TABLE ideas DROP COLUMN search_vector",
    "ALTER TABLE ideas DROP COLUMN search_config",
]


def upgrade() -> None:
    op.add_column(
        "forums",
        sa.Column("search_language", sa.String(32), nullable=False, server_default="english"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
        return
    op.add_column(
        "ideas",
        sa.Column("search_config", sa.String(32), nullable=False, server_default="english"),
    )
    for statement in SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
        with op.batch_alter_table("ideas") as batch_op:
            batch_op.drop_column("search_config")
    with op.batch_alter_table("forums") as batch_op:
        batch_op.drop_column("search_language")
