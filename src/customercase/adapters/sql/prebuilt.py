"""Statements of the hot routes, built once per shape with bind parameters.

Building a Core statement and generating its cache key costs more CPU than PostgreSQL spends
answering a forum page (docs/performance.md): a statement built once keeps its memoized cache
key, so executing it again skips both. Each function below is cached on its shape (signed in or
not, sort, filters present); the values travel as bind parameters.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from customercase.adapters.sql import tables as t
from customercase.domain.ideas import Sort
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
        viewer = sa.bindparam("viewer_id", type_=t.ID)
        voted = t.votes.c.user_id.is_not(None)
        watching = sa.func.coalesce(t.watches.c.watching, sa.false())
        source = source.outerjoin(
            t.votes, sa.and_(t.votes.c.idea_id == t.ideas.c.id, t.votes.c.user_id == viewer)
        ).outerjoin(
            t.watches,
            sa.and_(t.watches.c.idea_id == t.ideas.c.id, t.watches.c.user_id == viewer),
        )
    return sa.select(
        t.ideas,
        author.c.name.label("author_name"),
        voted.label("voted_by_me"),
        watching.label("is_watching"),
        *extra,
    ).select_from(source)


# A forum (bind parameter `forum_id`): every forum page checks who may see it.
FORUM = t.forums.select().where(t.forums.c.id == sa.bindparam("forum_id", type_=t.ID))

FORUM_PREFIX = "forum__"
# An idea and its forum (bind parameter `idea_id`), the forum's columns named forum__<name>.
IDEA_WITH_FORUM = (
    sa.select(t.ideas, *(c.label(FORUM_PREFIX + c.name) for c in t.forums.c))
    .join(t.forums, t.forums.c.id == t.ideas.c.forum_id)
    .where(t.ideas.c.id == sa.bindparam("idea_id", type_=t.ID))
)

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


@functools.cache
def move_counters_pg(*, casting_vote: bool = False) -> sa.Update:
    """Lock an idea, log its counters in idea_moves and move them: one statement, one round
    trip (bind parameters `idea_id` and the deltas `votes`, `comments`, `heat`).

    The CTE locks the row (FOR NO KEY UPDATE, which the FOR KEY SHARE locks of a vote's or
    comment's foreign key do not wait for) and so reads its latest committed version, as
    SELECT … FOR UPDATE does under READ COMMITTED; the UPDATE, finding that version, adds to
    it. The logged values are exactly those the update starts from, as in the three-statement
    form that SQLite keeps.

    With `casting_vote` the statement first inserts the vote (bind parameters `user_id`, `at`)
    and moves the counters only when that inserted a row; it returns the idea's id if it did.
    """
    i = t.ideas.c
    idea_id = sa.bindparam("idea_id", type_=t.ID)
    which: sa.ColumnElement[bool] = i.id == idea_id
    ctes = []
    if casting_vote:
        cast = (
            postgresql.insert(t.votes)
            .values(idea_id=idea_id, user_id=sa.bindparam("user_id"), created_at=sa.bindparam("at"))
            .on_conflict_do_nothing()
            .returning(t.votes.c.idea_id)
            .cte("cast_vote")
        )
        ctes.append(cast)
        which = i.id.in_(sa.select(cast.c.idea_id))
    before = (
        sa.select(i.id, i.forum_id, i.votes, i.heat)
        .where(which)
        .with_for_update(key_share=True)
        .cte("before")
    )
    logged = t.idea_moves.insert().from_select(
        ["idea_id", "forum_id", "votes", "heat"],
        sa.select(before.c.id, before.c.forum_id, before.c.votes, before.c.heat),
    )
    return (
        t.ideas.update()
        .where(i.id == before.c.id)
        .values(
            votes=i.votes + sa.bindparam("votes", type_=sa.Integer),
            comments=i.comments + sa.bindparam("comments", type_=sa.Integer),
            heat=i.heat + sa.bindparam("heat", type_=sa.Double),
        )
        .add_cte(*ctes, logged.cte("logged"))
        .returning(i.id)
    )
