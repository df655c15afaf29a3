"""Statements of the hot routes, built once per shape with bind parameters.

Building a Core statement and generating its cache key costs more CPU than PostgreSQL spends
answering a forum page (docs/performance.md): a statement built once keeps its memoized cache
key, so executing it again skips both. Each function below is cached on its shape (signed in or
not, sort, filters present); the values travel as bind parameters.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import await_only as await_

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.retention import vendor_is_live
from customercase.domain.ideas import Sort
from customercase.domain.ports import IdeaChanged
from customercase.domain.spam import Moderation

# The sort keys of each order, most significant first; every one ends in the unique id so
# that ties break stably and a keyset cursor names exactly one position.
SORT_KEYS: dict[Sort, tuple[sa.Column[Any], ...]] = {
    Sort.TOP: (t.ideas.c.votes, t.ideas.c.created_at, t.ideas.c.id),
    Sort.NEW: (t.ideas.c.created_at, t.ideas.c.id),
    Sort.TRENDING: (t.ideas.c.heat, t.ideas.c.id),
}

# The newest counter move, read in the page's own statement (so from the same snapshot as the
# rows): the seq a `top` or `trending` walk is pinned to.
LATEST_MOVE = sa.select(sa.func.coalesce(sa.func.max(t.idea_moves.c.seq), 0)).scalar_subquery()


def views(signed_in: bool, *extra: Any) -> sa.Select[Any]:
    """Ideas with their author's name and, for a signed-in viewer (bind parameter
    `viewer_id`), whether they voted for and watch each one."""
    author = t.users.alias("author")
    source: sa.FromClause = t.ideas.join(author, author.c.id == t.ideas.c.author_id)
    voted: sa.ColumnElement[Any] = sa.false()
    watching: sa.ColumnElement[Any] = sa.false()
    if signed_in:
        source, voted, watching = _viewer_marks(source)
    return sa.select(
        t.ideas,
        author.c.name.label("author_name"),
        voted.label("voted_by_me"),
        watching.label("is_watching"),
        *extra,
    ).select_from(source)


def _viewer_marks(
    source: sa.FromClause,
) -> tuple[sa.FromClause, sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """`source` (with `ideas`) joined to the viewer's (bind parameter `viewer_id`) vote and
    watch of each idea, and whether they voted and watch."""
    viewer = sa.bindparam("viewer_id", type_=t.ID)
    joined = source.outerjoin(
        t.votes, sa.and_(t.votes.c.idea_id == t.ideas.c.id, t.votes.c.user_id == viewer)
    ).outerjoin(
        t.watches,
        sa.and_(t.watches.c.idea_id == t.ideas.c.id, t.watches.c.user_id == viewer),
    )
    voted = t.votes.c.user_id.is_not(None)
    watching = sa.func.coalesce(t.watches.c.watching, sa.false())
    return joined, voted, watching


@functools.cache
def marks(dialect: str) -> sa.CompoundSelect[Any]:
    """Ideas' counters and viewers' marks on them: kept pages made their viewers'. What is
    asked comes as one JSON array of {"v": viewer id, "i": idea id} (bind parameter `asked`)
    on both engines: a list expanded into `IN (…)` would be compiled at every execution, and
    asyncpg encodes a text array's elements slower than PostgreSQL parses the JSON.

    Rows: each idea asked that exists, once, with its counters (`viewer_id` NULL); then each
    viewer's vote or watch on an idea asked, where there is one (`voted_by_me`,
    `is_watching`). Most pairs are marked by neither, and every viewer asking for the same
    page needs the same counters: a row per pair cost the driver more than the statement."""
    asked_json = sa.bindparam("asked", type_=sa.String)
    if dialect == "postgresql":
        asked_from: sa.FromClause = (
            sa.func.json_to_recordset(sa.cast(asked_json, postgresql.JSON))
            .table_valued(sa.column("v", t.ID), sa.column("i", t.ID))
            .render_derived(name="pairs", with_types=True)
        )
        asked = sa.select(asked_from.c.v, asked_from.c.i).cte("asked")
    else:
        each = sa.func.json_each(asked_json).table_valued("value")
        asked = sa.select(
            sa.func.json_extract(each.c.value, "$.v").label("v"),
            sa.func.json_extract(each.c.value, "$.i").label("i"),
        ).cte("asked")
    counted = sa.select(
        sa.null().label("viewer_id"),
        t.ideas.c.id,
        t.ideas.c.votes,
        t.ideas.c.comments,
        sa.false().label("voted_by_me"),
        sa.null().label("is_watching"),
    ).where(t.ideas.c.id.in_(sa.select(asked.c.i)))
    # Looked up by both keys as subqueries of each pair (joined, the planner read every vote
    # of an idea and filtered them).
    pairs = sa.select(
        asked.c.v,
        asked.c.i,
        sa.exists()
        .where(t.votes.c.idea_id == asked.c.i, t.votes.c.user_id == asked.c.v)
        .label("voted"),
        sa.select(t.watches.c.watching)
        .where(t.watches.c.idea_id == asked.c.i, t.watches.c.user_id == asked.c.v)
        .scalar_subquery()
        .label("watching"),
    ).subquery("marked")
    marked = sa.select(
        pairs.c.v,
        pairs.c.i,
        sa.literal_column("0"),
        sa.literal_column("0"),
        pairs.c.voted,
        pairs.c.watching,
    ).where(sa.or_(pairs.c.voted, pairs.c.watching.is_not(None)))
    return sa.union_all(counted, marked)


# A session (bind parameter `token_hash`) with its user: every signed-in request reads it.
SESSION_WITH_USER = (
    sa.select(
        t.users,
        t.sessions.c.token_hash,
        t.sessions.c.user_id,
        t.sessions.c.created_at.label("session_created_at"),
        t.sessions.c.last_seen_at,
    )
    .select_from(t.sessions.join(t.users, t.users.c.id == t.sessions.c.user_id))
    .where(t.sessions.c.token_hash == sa.bindparam("token_hash"))
)


# A forum (bind parameter `forum_id`): every forum page checks who may see it.
# A forum (bind parameter `forum_id`), unless its vendor is deleted: then it is not found.
FORUM = t.forums.select().where(
    t.forums.c.id == sa.bindparam("forum_id", type_=t.ID), vendor_is_live(t.forums.c.vendor_id)
)

# A poster's standing at a vendor (bind parameters `vendor_id`, `user_id`): asked before every
# post of someone who is not staff.
STANDING = sa.select(t.standings.c.standing).where(
    t.standings.c.vendor_id == sa.bindparam("vendor_id", type_=t.ID),
    t.standings.c.user_id == sa.bindparam("user_id", type_=t.ID),
)

# Column name prefixes of opened_idea(): the forum's, the viewer's.
FORUM_PREFIX = "forum__"
VIEWER_PREFIX = "viewer__"


@functools.cache
def opened_idea(lock: bool) -> sa.Select[Any]:
    """An idea with its forum (columns forum__<name>), and for a viewer (bind parameter
    `viewer_id`, may be NULL) that user (viewer__<name>, NULL when there is none), their staff
    role and standing at the forum's vendor (`viewer_role`, `viewer_standing`), their vote
    (`voted_by_me`, `voted_at`) and watch (`is_watching`), with the author's name: what every
    use case on an idea checks, and the view a vote answers with, in one statement (bind
    parameter `idea_id`).

    With `lock` the idea's row is locked as LOCK_COUNTERS locks it (FOR NO KEY UPDATE; the
    joined rows are not locked), so a counter move in the same transaction starts from exactly
    these counters."""
    viewer_id = sa.bindparam("viewer_id", type_=t.ID)
    viewer = t.users.alias("viewer")
    author = t.users.alias("author")

    def at_vendor(table: sa.Table) -> sa.ColumnElement[bool]:
        # The viewer's row of a table keyed by vendor and user (staff, standings).
        return sa.and_(table.c.user_id == viewer_id, table.c.vendor_id == t.forums.c.vendor_id)

    source, voted, watching = _viewer_marks(
        t.ideas.join(t.forums, t.forums.c.id == t.ideas.c.forum_id)
        .join(author, author.c.id == t.ideas.c.author_id)
        .outerjoin(viewer, viewer.c.id == viewer_id)
        .outerjoin(t.staff, at_vendor(t.staff))
        .outerjoin(t.standings, at_vendor(t.standings))
    )
    stmt = (
        sa.select(
            t.ideas,
            *(c.label(FORUM_PREFIX + c.name) for c in t.forums.c),
            *(c.label(VIEWER_PREFIX + c.name) for c in viewer.c),
            t.staff.c.role.label("viewer_role"),
            t.standings.c.standing.label("viewer_standing"),
            author.c.name.label("author_name"),
            voted.label("voted_by_me"),
            t.votes.c.created_at.label("voted_at"),
            watching.label("is_watching"),
        )
        .select_from(source)
        .where(
            t.ideas.c.id == sa.bindparam("idea_id", type_=t.ID),
            vendor_is_live(t.forums.c.vendor_id),
        )
    )
    return stmt.with_for_update(key_share=True, of=t.ideas) if lock else stmt


# A user and their staff role at a vendor, if any (bind parameters `user_id`, `vendor_id`).
USER_WITH_ROLE = (
    sa.select(t.users, t.staff.c.role)
    .outerjoin(
        t.staff,
        sa.and_(
            t.staff.c.user_id == t.users.c.id,
            t.staff.c.vendor_id == sa.bindparam("vendor_id", type_=t.ID),
        ),
    )
    .where(t.users.c.id == sa.bindparam("user_id", type_=t.ID))
)


@functools.cache
def idea_view(signed_in: bool) -> sa.Select[Any]:
    """One idea (bind parameter `idea_id`) as its viewer sees it."""
    return views(signed_in).where(t.ideas.c.id == sa.bindparam("idea_id", type_=t.ID))


@functools.cache
def forum_page(
    signed_in: bool, sort: Sort, *, status: bool, after: bool, excluding: bool, pinned_here: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """A forum's listed ideas in one order: the keyset page, and the same rows restricted to the
    ideas that moved since the walk's snapshot (bind parameter `moved`, expanding).

    Bind parameters: `forum_id`, `limit`; `status` when filtered; `after_0`… (the cursor's
    keys) when `after`; `moved` when `excluding` those ideas from the page. The first page of a
    `top` or `trending` walk (`pinned_here`) reads the snapshot it pins as column `snapshot`.
    """
    extra = (LATEST_MOVE.label("snapshot"),) if pinned_here else ()
    stmt = views(signed_in, *extra).where(
        t.ideas.c.forum_id == sa.bindparam("forum_id", type_=t.ID),
        t.ideas.c.merged_into.is_(None),
        t.ideas.c.moderation == Moderation.PUBLISHED.value,
    )
    if status:
        stmt = stmt.where(t.ideas.c.status == sa.bindparam("status", type_=sa.String))
    moved = stmt.where(t.ideas.c.id.in_(sa.bindparam("moved", expanding=True)))
    keys = SORT_KEYS[sort]
    page = stmt
    if excluding:
        page = page.where(t.ideas.c.id.not_in(sa.bindparam("moved", expanding=True)))
    if after:
        bounds = [sa.bindparam(f"after_{i}", type_=k.type) for i, k in enumerate(keys)]
        page = page.where(sa.tuple_(*keys) < sa.tuple_(*bounds))
    page = page.order_by(*(k.desc() for k in keys)).limit(sa.bindparam("limit", type_=sa.Integer))
    return page, moved


# A vote withdrawn (bind parameters `vote_idea_id`, `vote_user_id`), returning when it was cast.
WITHDRAW_VOTE = (
    t.votes.delete()
    .where(
        t.votes.c.idea_id == sa.bindparam("vote_idea_id", type_=t.ID),
        t.votes.c.user_id == sa.bindparam("vote_user_id", type_=t.ID),
    )
    .returning(t.votes.c.created_at)
)

# One idea as a voter sees it (bind parameters `idea_id`, `viewer_id`), its row locked as
# LOCK_COUNTERS locks it (the joined rows are not locked): the lock of a vote's counter move,
# which so also reads the view the vote answers with (PostgreSQL).
LOCKED_VIEW = idea_view(True).with_for_update(key_share=True, of=t.ideas)


# SQLite's writes on the vote path, run by sqlite_rows(): a vote cast (bind parameters
# `idea_id`, `user_id`, `created_at`), a row back when it is new ...
CAST_VOTE_SQLITE = (
    sqlite.insert(t.votes)
    .values(
        idea_id=sa.bindparam("idea_id", type_=t.ID),
        user_id=sa.bindparam("user_id", type_=t.ID),
        created_at=sa.bindparam("created_at", type_=t.UtcDateTime),
        weight=sa.bindparam("heat", type_=sa.Double),
    )
    .on_conflict_do_nothing()
    .returning(t.votes.c.idea_id)
)
# ... an idea's counters logged as they are before a move (bind parameter `moved_idea_id`;
# exact, SQLite having one writer) ...
LOG_COUNTERS_SQLITE = t.idea_moves.insert().from_select(
    ["idea_id", "forum_id", "votes", "heat"],
    sa.select(t.ideas.c.id, t.ideas.c.forum_id, t.ideas.c.votes, t.ideas.c.heat).where(
        t.ideas.c.id == sa.bindparam("moved_idea_id", type_=t.ID)
    ),
)
# ... and moved (bind parameters `idea_id`, `votes`, `comments`, `heat`).
MOVE_COUNTERS_SQLITE = (
    t.ideas.update()
    .where(t.ideas.c.id == sa.bindparam("idea_id", type_=t.ID))
    .values(
        votes=t.ideas.c.votes + sa.bindparam("votes", type_=sa.Integer),
        comments=t.ideas.c.comments + sa.bindparam("comments", type_=sa.Integer),
        heat=t.ideas.c.heat + sa.bindparam("heat", type_=sa.Double),
    )
)

# An idea's counters, locked (bind parameter `idea_id`): FOR NO KEY UPDATE, as the UPDATE that
# follows takes, which does not wait for the FOR KEY SHARE locks that inserting a vote or comment
# (a foreign key to the idea) holds.
LOCK_COUNTERS = (
    sa.select(t.ideas.c.forum_id, t.ideas.c.votes, t.ideas.c.heat)
    .where(t.ideas.c.id == sa.bindparam("idea_id", type_=t.ID))
    .with_for_update(key_share=True)
)


@functools.cache
def move_counters_pg() -> sa.Update:
    """Log an idea's counters in idea_moves and move them, in one statement: the second of two
    round trips, after LOCK_COUNTERS, where SQLite takes three. Bind parameters: `idea_id` and
    `moved_idea_id` (the same), `moved_forum_id`, `votes_before`, `heat_before` (as locked),
    and the deltas `votes`, `comments`, `heat`.

    The lock stays a statement of its own. Taken in a CTE of this same statement, the UPDATE
    (reading the statement's snapshot) met the version the lock had waited for as changed, and
    re-locked it through the tuple-lock queue: racing votes deadlocked (docs/performance.md).
    """
    i = t.ideas.c
    logged = t.idea_moves.insert().values(
        idea_id=sa.bindparam("moved_idea_id", type_=t.ID),
        forum_id=sa.bindparam("moved_forum_id", type_=t.ID),
        votes=sa.bindparam("votes_before", type_=sa.Integer),
        heat=sa.bindparam("heat_before", type_=sa.Double),
    )
    return (
        t.ideas.update()
        .where(i.id == sa.bindparam("idea_id", type_=t.ID))
        .values(
            votes=i.votes + sa.bindparam("votes", type_=sa.Integer),
            comments=i.comments + sa.bindparam("comments", type_=sa.Integer),
            heat=i.heat + sa.bindparam("heat", type_=sa.Double),
        )
        .add_cte(logged.cte("logged"))
    )


def _vote_function(
    name: str, *params: sa.BindParameter[Any], answer: tuple[sa.ColumnClause[Any], ...] = ()
) -> sa.Select[Any]:
    """A call of one of the vote functions (migrations d7a4c2e8f051, e3b9f17a4c62): their one
    row, `moved` (NULL when the idea is not as the caller read it), `votes_now` and `answer`."""
    called = getattr(sa.func, name)(*params).table_valued(
        sa.column("moved", sa.Boolean), sa.column("votes_now", sa.Integer), *answer
    )
    return sa.select(*called.c)


# The arguments of both casting functions, and of both judged ones, as bind parameters.
_VOTE_KEYS = (sa.bindparam("idea_id", type_=sa.Text), sa.bindparam("user_id", type_=sa.Text))
_CAST_AT = (sa.bindparam("created_at", type_=t.UtcDateTime), sa.bindparam("heat", type_=sa.Double))
_MODERATION = sa.bindparam("moderation", type_=sa.Text)
_JUDGED_ON = (_MODERATION, sa.bindparam("visibility", type_=sa.Text))

# A vote cast, logged and moved in one call that locks the idea and writes only if it is not
# merged and still in the moderation state read (bind parameters `idea_id`, `user_id`,
# `created_at`, `heat`, `moderation`): PostgreSQL's vote without a lock taken before.
CAST_VOTE = _vote_function("cast_vote", *_VOTE_KEYS, *_CAST_AT, _MODERATION)
# The vote cast at `cast_at` withdrawn the same way (`heat`: the weight it added); moved false
# when that vote is not there (bind parameters `idea_id`, `user_id`, `cast_at`, `heat`).
WITHDRAW_VOTE_FN = _vote_function(
    "withdraw_vote",
    *_VOTE_KEYS,
    sa.bindparam("cast_at", type_=t.UtcDateTime),
    sa.bindparam("heat", type_=sa.Double),
)

# What the judged vote functions answer beside `moved` and `votes_now`: the rest of the voter's
# view that may have changed since the idea was judged.
_JUDGED_ANSWER = (
    sa.column("comments_now", sa.Integer),
    sa.column("watching", sa.Boolean),
    sa.column("author_name", sa.Text),
)
# A vote cast on an idea judged on an earlier read (RecentIdeas), in one call that locks the
# idea and writes only if what the judgement rested on holds (migration e3b9f17a4c62; bind
# parameters `idea_id`, `user_id`, `created_at`, `heat`, `moderation`, `visibility`).
CAST_JUDGED_VOTE = _vote_function(
    "cast_judged_vote", *_VOTE_KEYS, *_CAST_AT, *_JUDGED_ON, answer=_JUDGED_ANSWER
)
# The voter's vote withdrawn the same way, taking back the weight recorded with it (NULLs too
# when it has none; bind parameters `idea_id`, `user_id`, `moderation`, `visibility`).
WITHDRAW_JUDGED_VOTE = _vote_function(
    "withdraw_judged_vote", *_VOTE_KEYS, *_JUDGED_ON, answer=_JUDGED_ANSWER
)


@functools.cache
def comment_and_move_pg(columns: tuple[str, ...], prefix: str = "") -> sa.Update:
    """A published comment's row inserted (bind parameters named as its `columns`), then the
    idea's counters logged as locked before (bind parameters `moved_idea_id`,
    `moved_forum_id`, `votes_before`, `heat_before`) and moved by one comment and `heat`: one
    statement, after the idea's row was locked in this transaction (so nothing here waits, and
    the log holds the counters locked). Every bind parameter and CTE name begins with `prefix`
    (see batch())."""
    added = (
        insert(t.comments, columns, prefix).returning(t.comments.c.idea_id).cte(prefix + "added")
    )
    logged = t.idea_moves.insert().from_select(
        ["idea_id", "forum_id", "votes", "heat"],
        sa.select(
            sa.bindparam(prefix + "moved_idea_id", type_=t.ID),
            sa.bindparam(prefix + "moved_forum_id", type_=t.ID),
            sa.bindparam(prefix + "votes_before", type_=sa.Integer),
            sa.bindparam(prefix + "heat_before", type_=sa.Double),
        ).where(sa.exists(sa.select(added.c[0]))),
    )
    i = t.ideas.c
    return (
        t.ideas.update()
        .where(
            i.id == sa.bindparam(prefix + "idea_id", type_=t.ID),
            sa.exists(sa.select(added.c[0])),
        )
        .values(
            comments=i.comments + 1,
            heat=i.heat + sa.bindparam(prefix + "heat", type_=sa.Double),
        )
        .add_cte(added, logged.cte(prefix + "logged"))
    )


@functools.cache
def comment_moved_pg(columns: tuple[str, ...], prefix: str = "") -> sa.Insert:
    """A published comment's row inserted (bind parameters named as its `columns`) after its
    counter move by the move_counters function, which locks the idea and raises IDEA_CHANGED
    unless it is still as read (bind parameter `moderation_seen`): nothing of the statement
    is written then. Bind parameter `heat` besides; all beginning with `prefix`."""
    moved = sa.select(
        sa.func.move_counters(
            sa.bindparam(prefix + "idea_id", type_=sa.Text),
            sa.literal_column("0"),
            sa.literal_column("1"),
            sa.bindparam(prefix + "heat", type_=sa.Double),
            sa.bindparam(prefix + "moderation_seen", type_=sa.Text),
        ).label("votes_now")
    ).subquery(prefix + "moved")
    values = [sa.bindparam(prefix + c, type_=t.comments.c[c].type) for c in columns]
    return t.comments.insert().from_select(
        list(columns), sa.select(*values).where(moved.c.votes_now.is_not(None))
    )


# SQLSTATE of move_counters() when the idea is not as its caller read it: IdeaChanged.
IDEA_CHANGED = "CCI01"


@functools.cache
def insert(table: sa.Table, columns: tuple[str, ...], prefix: str = "") -> sa.Insert:
    """An INSERT of these columns, each a bind parameter of its name (after `prefix`): for
    rows(), which needs every parameter of a statement (a bare table.insert() names every
    column)."""
    return table.insert().values(
        {c: sa.bindparam(prefix + c, type_=table.c[c].type) for c in columns}
    )


@functools.cache
def insert_new(table: sa.Table, columns: tuple[str, ...], prefix: str = "") -> sa.Insert:
    """insert(), skipping a row whose key is taken (PostgreSQL's ON CONFLICT DO NOTHING)."""
    return (
        postgresql.insert(table)
        .values({c: sa.bindparam(prefix + c, type_=table.c[c].type) for c in columns})
        .on_conflict_do_nothing()
    )


# Writes a PostgreSQL unit of work may send later (defer()), each named by the function that
# builds it and that function's arguments but the prefix: ("insert", table, columns), ...
_DEFERRABLE: dict[str, Callable[..., Any]] = {
    "insert": insert,
    "insert_new": insert_new,
    "comment_and_move": comment_and_move_pg,
    "comment_moved": comment_moved_pg,
}
Deferred = tuple[str, tuple[Any, ...]]

# Key of a connection's info while a writing unit of work holds it on PostgreSQL: its Pending.
PENDING = "customercase_pending"


@dataclass(slots=True)
class Pending:
    """A writing unit of work's state on PostgreSQL's driver.

    `writes`: the writes it deferred, whose results nothing reads, sent together as one
    statement before the unit's next statement or its COMMIT (two or three round trips in
    one; a comment is its row and counter move, its author's watch and its outbox rows).

    `begun`: whether its BEGIN was sent. A unit begins lazily, before its first statement that
    writes or locks: the plain reads before it run in autocommit, as a read-only unit's do
    (under READ COMMITTED each statement reads its own snapshot either way), and a unit that
    writes nothing sends neither BEGIN nor COMMIT.

    `alone`: a write ran as its own transaction (alone()): the unit's one write, which nothing
    may follow."""

    writes: list[tuple[Deferred, dict[str, Any]]]
    begun: bool = False
    alone: bool = False


async def begin(conn: AsyncConnection, pending: Pending) -> None:
    """The unit's BEGIN, before its first statement that writes or locks."""
    _may_begin(pending)
    await command(conn, "BEGIN")
    pending.begun = True


def _may_begin(pending: Pending) -> None:
    assert not pending.alone, "a unit of work wrote alone (prebuilt.alone()): nothing may follow"


def _reads(stmt: Any) -> bool:
    """Whether a prebuilt statement only reads (no lock, no data-modifying CTE): it may run
    before the unit's BEGIN."""
    reads = _READS.get(stmt)
    if reads is None:
        reads = _READS[stmt] = (
            isinstance(stmt, sa.Select)
            and stmt._for_update_arg is None
            and not stmt._independent_ctes
        )
    return reads


_READS: dict[Any, bool] = {}


async def alone(
    conn: AsyncConnection, stmt: Any, params: Mapping[str, Any]
) -> tuple[list[Any], bool]:
    """The rows of a statement that writes atomically on its own (a call of one of the vote
    functions), and whether it ran as its own transaction: in autocommit when its unit of
    work has begun nothing and deferred nothing, so that unit needs neither BEGIN nor COMMIT;
    else in the unit's transaction, as rows() runs it. A caller whose statement did write
    alone says so (wrote_alone()): the unit may write nothing after it."""
    pending: Pending | None = conn.info.get(PENDING)
    if pending is None or pending.begun or pending.writes:
        return await rows(conn, stmt, params), False
    return await _fetch(conn, stmt, params), True


def wrote_alone(conn: AsyncConnection) -> None:
    """The unit of work's write ran alone (alone()) and is committed: nothing may follow."""
    pending: Pending = conn.info[PENDING]
    pending.alone = True


def defer(conn: AsyncConnection, write: Deferred, params: dict[str, Any]) -> bool:
    """Queue `write` in the unit of work's Pending; False when its connection defers nothing
    (SQLite, a read-only unit, no unit of work): run it now."""
    if conn.dialect.name != "postgresql":
        return False
    pending: Pending | None = conn.info.get(PENDING)
    if pending is None:
        return False
    pending.writes.append((write, params))
    return True


@functools.cache
def batch(writes: tuple[Deferred, ...]) -> sa.Select[Any]:
    """The deferred writes as one statement: each a CTE of its own (PostgreSQL runs every
    data-modifying CTE once, whatever the query reads), its bind parameters and inner CTEs
    prefixed `b<n>_` so that none collide."""
    ctes = [
        _DEFERRABLE[name](*args, f"b{n}_").cte(f"b{n}") for n, (name, args) in enumerate(writes)
    ]
    return sa.select(sa.literal(len(ctes))).add_cte(*ctes)


def _taken(pending: Pending) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The deferred writes as one statement and its parameters; the queue emptied."""
    writes, pending.writes = pending.writes, []
    params = {
        f"b{n}_{name}": value
        for n, (_, values) in enumerate(writes)
        for name, value in values.items()
    }
    return batch(tuple(w for w, _ in writes)), params


async def flush(conn: AsyncConnection, *, last: bool = False) -> None:
    """Send the unit of work's deferred writes, if any, as one statement (after its BEGIN).
    The `last` ones (at COMMIT) of a unit that has begun nothing go alone, in autocommit:
    one statement is atomic, so that unit needs neither BEGIN nor COMMIT."""
    pending: Pending | None = conn.info.get(PENDING) if not conn.invalidated else None
    if pending is None or not pending.writes:
        return
    _may_begin(pending)
    alone = last and not pending.begun
    if not pending.begun and not alone:
        await begin(conn, pending)
    await _fetch(conn, *_taken(pending))
    pending.alone = alone


def flush_before_execute(
    conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any
) -> None:
    """SQLAlchemy's before_cursor_execute, on PostgreSQL engines: a statement executed through
    SQLAlchemy in a writing unit of work runs in its transaction, begun first if it was not
    (whatever the statement: SQLAlchemy's are not told apart), after the unit's deferred
    writes (on the driver, in the same greenlet), so it sees them as rows() and every later
    statement do."""
    if conn.invalidated:
        return
    pending: Pending | None = conn.info.get(PENDING)
    if pending is None or (pending.begun and not pending.writes):
        return
    driver = conn.connection.driver_connection
    if not pending.begun:
        _may_begin(pending)
        _on_driver(conn, driver.execute, "BEGIN", [])
        pending.begun = True
    if not pending.writes:
        return
    stmt, params = _taken(pending)
    compiled = _compiled(stmt, conn)
    assert compiled is not None, "deferred writes have no list parameters"
    _on_driver(conn, driver.fetch, *_bound(compiled, params))


def _on_driver(conn: Any, call: Callable[..., Any], sql: str, args: list[Any]) -> None:
    """A statement on the driver from within SQLAlchemy's execution (a hook), its errors raised
    as the DBAPI's, so that SQLAlchemy handles them as its own statement's: a connection found
    closed is a disconnect, invalidated, never pooled again."""
    try:
        await_(call(sql, *args))
    except asyncpg.PostgresError as error:
        raise _statement_error(sql, args, error) from error
    except Exception as error:
        dbapi = conn.dialect.loaded_dbapi
        raise dbapi.InterfaceError(f"{type(error).__name__}: {error}", error) from error


# Each statement compiled for asyncpg, once: its SQL, the order of its parameters, and the
# conversion SQLAlchemy would apply to each (JSON is serialized before asyncpg's codec; None
# where asyncpg takes the value as it is). None: a statement with a list parameter (IN),
# which SQLAlchemy expands at every execution.
_COMPILED: dict[Any, tuple[str, Any, list[Callable[[Any], Any] | None]] | None] = {}


async def rows(conn: AsyncConnection, stmt: Any, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a prebuilt statement (a read; in a writing unit of work, whose transaction
    is begun on the driver, a lock or a write too, after its BEGIN, sent first if it was not:
    see Pending), by attribute.

    On PostgreSQL the statement, compiled once, runs on the asyncpg connection itself: through
    SQLAlchemy's execution layer the same query costs about seven times the CPU (greenlet
    switches, execution context, result processing; docs/performance.md). It runs in the unit
    of work's transaction (begun on the driver) or, in a read-only unit, in autocommit (a read
    at READ COMMITTED sees the same either way). Parameters are converted as SQLAlchemy would
    (JSON serialized, datetimes in UTC); result processing is skipped, so this is only for
    statements whose columns asyncpg returns as the mappers want them (timestamptz comes back
    in UTC; JSON is decoded by the codec SQLAlchemy installs). Elsewhere: SQLAlchemy, as usual.
    """
    if conn.dialect.name == "sqlite":
        return await sqlite_rows(conn, stmt, params)
    pending: Pending | None = conn.info.get(PENDING)
    if pending is not None:
        if pending.writes:
            await flush(conn)  # what the unit of work deferred goes first, in order
        elif not pending.begun and not _reads(stmt):
            await begin(conn, pending)
    return await _fetch(conn, stmt, params)


async def _fetch(conn: AsyncConnection, stmt: Any, params: Mapping[str, Any]) -> list[Any]:
    """rows() on PostgreSQL, as the unit of work stands (no BEGIN, no flush)."""
    compiled = _compiled(stmt, conn) if conn.dialect.name == "postgresql" else None
    if compiled is None:
        return list((await conn.execute(stmt, params)).all())
    sql, args = _bound(compiled, params)
    driver = await driver_of(conn)
    try:
        # Read by attribute, as the mappers read SQLAlchemy rows (a namespace reads faster than
        # any wrapper around the record).
        return [SimpleNamespace(**dict(r.items())) for r in await driver.fetch(sql, *args)]
    except Exception as error:
        raise await _driver_error(conn, sql, args, error) from error


def _bound(
    compiled: tuple[str, Any, list[Callable[[Any], Any] | None]], params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """A compiled statement's SQL and its positional arguments, converted as SQLAlchemy would."""
    sql, binds, processors = compiled
    names = binds.positiontup
    try:
        # Every parameter given, as prebuilt statements' are: no need for construct_params.
        values = [params[name] for name in names]
    except KeyError:  # a literal's own bind (its value is the statement's), or one missing
        given = binds.construct_params(params)
        values = [given[name] for name in names]
    return sql, [v if bind is None else bind(v) for v, bind in zip(values, processors, strict=True)]


async def command(conn: AsyncConnection, sql: str) -> None:
    """A statement without parameters or rows (BEGIN, COMMIT, ROLLBACK) on PostgreSQL's driver
    connection, in one round trip of the simple query protocol; errors as rows() raises them."""
    driver = await driver_of(conn)
    try:
        await driver.execute(sql)
    except Exception as error:
        raise await _driver_error(conn, sql, [], error) from error


def _statement_error(sql: str, args: list[Any], error: asyncpg.PostgresError) -> Exception:
    """What a statement PostgreSQL refused raises: IdeaChanged from move_counters, else
    SQLAlchemy's error, as its execution layer would raise it."""
    if error.sqlstate == IDEA_CHANGED:
        return IdeaChanged()
    return sa.exc.DBAPIError(sql, args, error)


async def _driver_error(
    conn: AsyncConnection, sql: str, args: list[Any], error: Exception
) -> Exception:
    """SQLAlchemy's error for what asyncpg raised, as its execution layer would raise it."""
    if isinstance(error, asyncpg.PostgresError) and not isinstance(
        error, asyncpg.PostgresConnectionError
    ):
        return _statement_error(sql, args, error)
    # Lost (OSError, a closed connection) or left mid-operation (asyncpg's
    # InternalClientError after a failure in flight, or a cancellation): unusable either way.
    # The pool must not hand this connection out again; the request gets a 503.
    await conn.invalidate(error)
    return sa.exc.OperationalError(sql, args, error, connection_invalidated=True)


async def driver_of(conn: AsyncConnection) -> Any:
    """The driver's connection under `conn` (asyncpg's, aiosqlite's); without the greenlet
    round trip of get_raw_connection() while the connection is checked out and valid, as it is
    in a unit of work."""
    sync = conn.sync_connection
    pooled = sync.connection if sync is not None and not sync.invalidated else None
    if pooled is None:
        pooled = await conn.get_raw_connection()
    driver = pooled.driver_connection
    assert driver is not None, "a connection checked out of the pool has its driver connection"
    return driver


def _compiled(
    stmt: Any, conn: AsyncConnection
) -> tuple[str, Any, list[Callable[[Any], Any] | None]] | None:
    if stmt not in _COMPILED:
        dialect = conn.dialect
        compiled = stmt.compile(dialect=dialect)
        plain = compiled.positiontup is not None and not any(
            b.expanding for b in compiled.binds.values()
        )
        _COMPILED[stmt] = (
            (
                compiled.string,
                compiled,
                [_bind(compiled.binds[n].type, dialect) for n in compiled.positiontup],
            )
            if plain
            else None
        )
    return _COMPILED[stmt]


# Key of a SQLite connection's info: its unit of work holds the write lock (BEGIN IMMEDIATE
# done, COMMIT not begun), so sqlite_rows() may run statements on the event loop's thread.
SQLITE_INLINE = "customercase_sqlite_inline"


@dataclass(frozen=True, slots=True)
class _SqliteStatement:
    """A statement compiled once for SQLite, with the type conversions SQLAlchemy would apply
    (datetimes and JSON are text in SQLite, booleans integers)."""

    sql: str
    compiled: Any
    binds: list[tuple[str, Callable[[Any], Any] | None]]
    columns: list[tuple[str, Callable[[Any], Any] | None]]


_SQLITE: dict[Any, _SqliteStatement | None] = {}


def _sqlite_statement(stmt: Any, conn: AsyncConnection) -> _SqliteStatement | None:
    if stmt not in _SQLITE:
        dialect = conn.dialect
        compiled = stmt.compile(dialect=dialect)
        plain = compiled.positiontup is not None and not any(
            b.expanding for b in compiled.binds.values()
        )
        _SQLITE[stmt] = (
            _SqliteStatement(
                compiled.string,
                compiled,
                [(n, _bind(compiled.binds[n].type, dialect)) for n in compiled.positiontup],
                # The labels the SQL gives its columns, as asyncpg's records carry them.
                [
                    (c.keyname, c.type.dialect_impl(dialect).result_processor(dialect, None))
                    for c in compiled._result_columns
                ],
            )
            if plain
            else None
        )
    return _SQLITE[stmt]


async def sqlite_rows(conn: AsyncConnection, stmt: Any, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a prebuilt statement (a read, or a write with RETURNING) on SQLite, by
    attribute, run on the aiosqlite connection in the unit of work's transaction.

    Through SQLAlchemy's aiosqlite adapter a statement costs ~195 µs of CPU (four hand-offs to
    the driver's thread: cursor, execute, fetch, close, plus the execution layer); here ~25 µs,
    one hand-off (docs/performance.md); none for the writer between BEGIN IMMEDIATE and
    COMMIT (SQLITE_INLINE). Errors are SQLAlchemy's, as through it.
    """
    prepared = _sqlite_statement(stmt, conn)
    if prepared is None:
        result = await conn.execute(stmt, params)
        return list(result.all()) if result.returns_rows else []
    values = prepared.compiled.construct_params(params)
    args = [v if bind is None else bind(v) for n, bind in prepared.binds for v in (values[n],)]
    driver = await driver_of(conn)
    try:
        if conn.info.get(SQLITE_INLINE):
            # The writer, holding SQLite's write lock: nothing can make it wait (WAL readers
            # do not block it), so the statement runs here, without the hand-off.
            raw = driver._conn.execute(prepared.sql, args).fetchall()
        else:
            raw = await driver.execute_fetchall(prepared.sql, args)
    except sqlite3.Error as error:
        raise sa.exc.DBAPIError.instance(prepared.sql, args, error, sqlite3.Error) from error
    columns = prepared.columns
    return [
        SimpleNamespace(
            **{
                name: v if conv is None else conv(v)
                for (name, conv), v in zip(columns, r, strict=True)
            }
        )
        for r in raw
    ]


def _bind(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    # The dialect's own variant of the type converts (SQLite's DATETIME writes text), as
    # SQLAlchemy does when it executes.
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor
