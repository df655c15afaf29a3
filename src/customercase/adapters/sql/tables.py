"""The schema, as SQLAlchemy Core tables. Migrations never import this module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (sortable text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        when: datetime = value
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


ID = sa.String(32)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("email_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # The Google account's stable `sub`, once the user signed in with Google (never the email).
    sa.Column("google_subject", sa.String(255), unique=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
)

vendors = sa.Table(
    "vendors",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(50), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # Set when the vendor is deleted: hidden from then on, purged by the worker after the
    # retention period (adapters/sql/retention.py).
    sa.Column("deleted_at", UtcDateTime, index=True),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("vendor_id", ID, sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("role", sa.String(16), nullable=False),
)

forums = sa.Table(
    "forums",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("vendor_id", ID, sa.ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(50), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("allowed_domains", sa.JSON, nullable=False),
    sa.Column("mailbox_hash", sa.String(32), nullable=False, unique=True),
    sa.Column("jira_project_key", sa.String(32)),
    sa.Column("jira_issue_type", sa.String(64)),
    sa.Column("jira_status_map", sa.JSON),
    sa.Column("holds_first_posts", sa.Boolean, nullable=False, server_default=sa.false()),
    # The text search configuration of the forum's ideas (PostgreSQL); SQLite always uses porter.
    sa.Column("search_language", sa.String(32), nullable=False, server_default="english"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("vendor_id", "slug"),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("forum_id", ID, sa.ForeignKey("forums.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("email", sa.String(254), primary_key=True),
)

ideas = sa.Table(
    "ideas",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("forum_id", ID, sa.ForeignKey("forums.id", ondelete="CASCADE"), nullable=False),
    sa.Column("author_id", ID, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("summary", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("votes", sa.Integer, nullable=False, default=0),
    sa.Column("comments", sa.Integer, nullable=False, default=0),
    sa.Column("heat", sa.Double, nullable=False, default=0.0),
    sa.Column("tracker_key", sa.String(64)),
    sa.Column("merged_into", ID),
    # published | held | rejected: only published ideas are listed, counted and announced.
    sa.Column("moderation", sa.String(16), nullable=False, server_default="published"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # The forum's search language, copied on insert: PostgreSQL's generated column
    # `search_vector` (to_tsvector(search_config, summary), GIN-indexed) may read only its own
    # row. That column, the trigram index and SQLite's FTS5 tables and triggers are made by the
    # search migration and named in adapters/sql/search.py, not here.
    sa.Column(
        "search_config",
        sa.String(32).with_variant(postgresql.REGCONFIG(), "postgresql"),
        nullable=False,
        server_default="english",
    ),
    sa.Index("ix_ideas_top", "forum_id", "votes", "created_at", "id"),
    sa.Index("ix_ideas_new", "forum_id", "created_at", "id"),
    sa.Index("ix_ideas_trending", "forum_id", "heat", "id"),
    sa.Index("ix_ideas_status_top", "forum_id", "status", "votes", "created_at", "id"),
    sa.Index("ix_ideas_status_new", "forum_id", "status", "created_at", "id"),
    sa.Index("ix_ideas_tracker", "forum_id", "tracker_key"),
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column("idea_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # The heat the vote added (domain.trending.heat_of at created_at); NULL for votes cast
    # before migration e3b9f17a4c62 or restored by an unmerge.
    sa.Column("weight", sa.Double),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("idea_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), nullable=False),
    sa.Column("author_id", ID, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("tracker_comment_id", sa.String(64)),
    sa.Column("moderation", sa.String(16), nullable=False, server_default="published"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_comments_idea", "idea_id", "created_at", "id"),
    sa.Index("ix_comments_tracker", "idea_id", "tracker_comment_id"),
)

watches = sa.Table(
    "watches",
    metadata,
    sa.Column("idea_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("watching", sa.Boolean, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recipient_id", ID),
    sa.Column("idea_id", ID),
    sa.Column("actor_id", ID),
    sa.Column("payload", sa.JSON, nullable=False),
    # pending -> sent | failed (permanent); a pending row whose due_at has passed is claimable.
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("done_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_due", "state", "due_at"),
    sa.Index("ix_outbox_idea", "idea_id", "created_at"),
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("idea_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("added_by", ID, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# Postmark's MessageID of every inbound message stored or refused, so a repeat does nothing.
inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False, index=True),
)

# The local dev mailbox (adapters/local): mail `make run` would have sent, kept to be read.
dev_mailbox = sa.Table(
    "dev_mailbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("message", sa.JSON, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=False, index=True),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    # A hash of limit name and subject (email or address): no personal data in the table.
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("window_start", UtcDateTime, nullable=False, index=True),
    sa.Column("hits", sa.Integer, nullable=False),
)

one_time_tokens = sa.Table(
    "one_time_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("used_at", UtcDateTime),
)

# A vendor's Jira site; the API token only ever sealed (Fernet, key from the secret key).
jira_connections = sa.Table(
    "jira_connections",
    metadata,
    sa.Column("vendor_id", ID, sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_url", sa.String(255), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("sealed_token", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Per bound forum: how far the sync runner has read, and who holds the runner's lease.
tracker_sync = sa.Table(
    "tracker_sync",
    metadata,
    sa.Column("forum_id", ID, sa.ForeignKey("forums.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("cursor", UtcDateTime),
    sa.Column("lease_holder", sa.String(64)),
    sa.Column("lease_until", UtcDateTime),
    # When a sync last read the project to the end: the metrics page's sync lag.
    sa.Column("synced_at", UtcDateTime),
)

# Jira webhook deliveries already handled, by X-Atlassian-Webhook-Identifier.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False, index=True),
)

sign_in_flows = sa.Table(
    "sign_in_flows",
    metadata,
    # An OpenID Connect sign-in between its start and its callback; used once, or swept.
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# A post the spam defence keeps an eye on: held for staff, or published unchecked for a re-check.
moderation_cases = sa.Table(
    "moderation_cases",
    metadata,
    sa.Column("post_id", ID, primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("forum_id", ID, sa.ForeignKey("forums.id", ondelete="CASCADE"), nullable=False),
    sa.Column("author_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),
    # What the spam filter was shown (ip, user agent, referrer, permalink), resent with feedback.
    sa.Column("origin", sa.JSON, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_moderation_cases_queue", "forum_id", "state", "created_at"),
    sa.Index("ix_moderation_cases_due", "state", "created_at"),
)

# Trusted or blocked posters, per vendor.
standings = sa.Table(
    "standings",
    metadata,
    sa.Column("vendor_id", ID, sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("standing", sa.String(8), nullable=False),
)

# Every change of an idea's counters, with the values *before* it (adapters/sql/repositories.py
# `_move_counters`). A walk through `top` or `trending` pins the `seq` it started at and orders
# by the values as of then: current values for ideas with no later move, else the `before` of
# their first later move. README "Ranking" proves why pages then never repeat or skip an idea.
idea_moves = sa.Table(
    "idea_moves",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("idea_id", ID, nullable=False),
    sa.Column("forum_id", ID, nullable=False),
    sa.Column("votes", sa.Integer, nullable=False),
    sa.Column("heat", sa.Double, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_idea_moves_forum", "forum_id", "seq"),
    sqlite_autoincrement=True,  # never reuse a seq, even after pruning
)

# One row per merged idea, with its counters before the merge, so unmerge restores them.
merges = sa.Table(
    "merges",
    metadata,
    sa.Column("idea_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("into_id", ID, sa.ForeignKey("ideas.id", ondelete="CASCADE"), nullable=False),
    sa.Column("merged_by", ID),
    sa.Column("merged_at", UtcDateTime, nullable=False),
    sa.Column("votes", sa.Integer, nullable=False),
    sa.Column("comments", sa.Integer, nullable=False),
    sa.Column("heat", sa.Double, nullable=False),
)

# What one merge moved. kind: vote (moved), vote_dropped (the user had voted on the survivor
# too), comment, watch (moved), watch_dropped (the user had a watch row on the survivor).
merge_moves = sa.Table(
    "merge_moves",
    metadata,
    sa.Column("idea_id", ID, sa.ForeignKey("merges.idea_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("ref", ID, primary_key=True),
    sa.Column("created_at", UtcDateTime),
    sa.Column("watching", sa.Boolean),
)
