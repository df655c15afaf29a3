"""Repositories over SQLAlchemy Core: rows in, domain objects out, never a commit."""

from __future__ import annotations

import builtins
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customercase.adapters.sql import prebuilt
from customercase.adapters.sql import tables as t
from customercase.adapters.sql.retention import forum_is_live, vendor_is_live
from customercase.adapters.sql.search import (
    SEARCH_VECTOR,
    fts5_match,
    fts5_trigrams,
    ideas_fts,
    ideas_trigram,
    ideas_trigram_vocab,
    pg_tsquery,
    search_lexemes,
)
from customercase.domain.cursors import cursor_time, decode_cursor, encode_cursor
from customercase.domain.errors import EmailTaken, InvalidField, SlugTaken
from customercase.domain.ideas import (
    Author,
    Comment,
    CommentSource,
    CommentView,
    Idea,
    IdeaQuery,
    IdeaView,
    Marks,
    Page,
    Sort,
    Status,
)
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import (
    Claim,
    DeliveryRecord,
    Notification,
    NotificationKind,
    OutboxStats,
)
from customercase.domain.ports import IdeaChanged, OpenedIdea, judgement_holds
from customercase.domain.privacy import (
    DELETED_NAME,
    PersonalData,
    StaffRecord,
    VoteRecord,
    WatchRecord,
    erased_email,
)
from customercase.domain.search import Term, parse_query, trigram_similarity, trigrams
from customercase.domain.spam import Moderation
from customercase.domain.tracker import StatusMap
from customercase.domain.trending import COMMENT_WEIGHT, heat_of
from customercase.domain.users import OneTimeToken, Session, SignInFlow, TokenPurpose, User
from customercase.domain.vendors import Forum, JiraBinding, Role, Vendor, Viewer, Visibility


def _first(rows: builtins.list[Any]) -> Any:
    return rows[0] if rows else None


def _insert_ignoring_duplicates(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the dialect at hand (built once per dialect and
    table: execute it with the row's values as parameters, or add .values())."""
    return _insert_ignoring(conn.dialect.name, table)


@functools.cache
def _insert_ignoring(dialect_name: str, table: sa.Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


async def _move_counters(
    conn: AsyncConnection,
    idea_id: IdeaId,
    *,
    votes: int = 0,
    comments: int = 0,
    heat: float = 0.0,
    viewer_id: UserId | None = None,
) -> IdeaView | None:
    """Move an idea's counters, first logging their values before the move in idea_moves;
    with `viewer_id`, answer the idea as that viewer sees it after the move.

    The row is locked before it is read (FOR NO KEY UPDATE; SQLite has one writer), so the
    logged values are exactly those the update starts from, whatever runs alongside, and the
    view's counters after the move are exactly those plus the move.
    """
    if conn.dialect.name == "postgresql":
        return await _move_counters_pg(conn, idea_id, votes, comments, heat, viewer_id)
    # SQLite: the log and the move on the driver's connection (prebuilt.sqlite_rows).
    await prebuilt.sqlite_rows(conn, prebuilt.LOG_COUNTERS_SQLITE, {"moved_idea_id": idea_id})
    move = {"idea_id": idea_id, "votes": votes, "comments": comments, "heat": heat}
    await prebuilt.sqlite_rows(conn, prebuilt.MOVE_COUNTERS_SQLITE, move)
    return None if viewer_id is None else await SqlIdeaRepository(conn).view(idea_id, viewer_id)


async def _move_counters_pg(
    conn: AsyncConnection,
    idea_id: IdeaId,
    votes: int,
    comments: int,
    heat: float,
    viewer_id: UserId | None,
) -> IdeaView | None:
    # On the asyncpg connection, in the unit of work's transaction (begun there).
    if viewer_id is None:
        lock: Any = prebuilt.LOCK_COUNTERS
        params: dict[str, Any] = {"idea_id": idea_id}
    else:
        lock, params = prebuilt.LOCKED_VIEW, {"idea_id": idea_id, "viewer_id": viewer_id}
    before = _first(await prebuilt.rows(conn, lock, params))
    if before is None:
        return None
    # The log and the move in one statement: two round trips instead of three.
    move = {
        "idea_id": idea_id,
        "moved_idea_id": idea_id,
        "moved_forum_id": before.forum_id,
        "votes_before": before.votes,
        "heat_before": before.heat,
        "votes": votes,
        "comments": comments,
        "heat": heat,
    }
    await prebuilt.rows(conn, prebuilt.move_counters_pg(), move)
    if viewer_id is None:
        return None
    seen = SqlIdeaRepository._view(before)
    moved = replace(
        seen.idea,
        votes=before.votes + votes,
        comments=before.comments + comments,
    )
    return replace(seen, idea=moved)


def _user(row: sa.Row[Any] | _Prefixed) -> User:
    return User(
        UserId(row.id),
        row.email,
        row.name,
        row.created_at,
        row.password_hash,
        row.email_verified,
        row.google_subject,
    )


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        try:
            await self._conn.execute(
                t.users.insert().values(
                    id=user.id,
                    email=user.email,
                    name=user.name,
                    password_hash=user.password_hash,
                    email_verified=user.email_verified,
                    created_at=user.created_at,
                    google_subject=user.google_subject,
                )
            )
        except IntegrityError:
            raise EmailTaken() from None

    async def get(self, user_id: UserId) -> User | None:
        row = (await self._conn.execute(t.users.select().where(t.users.c.id == user_id))).first()
        return _user(row) if row else None

    async def with_role(
        self, user_id: UserId, vendor_id: VendorId
    ) -> tuple[User, Role | None] | None:
        params = {"user_id": user_id, "vendor_id": vendor_id}
        row = _first(await prebuilt.rows(self._conn, prebuilt.USER_WITH_ROLE, params))
        return (_user(row), Role(row.role) if row.role else None) if row else None

    async def by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(t.users.select().where(t.users.c.email == email))).first()
        return _user(row) if row else None

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        await self._conn.execute(
            t.users.update().where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    async def by_google_subject(self, subject: str) -> User | None:
        row = (
            await self._conn.execute(t.users.select().where(t.users.c.google_subject == subject))
        ).first()
        return _user(row) if row else None

    async def link_google(self, user_id: UserId, subject: str) -> None:
        await self._conn.execute(
            t.users.update()
            .where(t.users.c.id == user_id)
            .values(google_subject=subject, email_verified=True)
        )

    async def mark_email_verified(self, user_id: UserId) -> None:
        await self._conn.execute(
            t.users.update().where(t.users.c.id == user_id).values(email_verified=True)
        )

    async def personal_data(self, user: User) -> PersonalData:
        run = self._conn.execute
        ideas = (
            await run(
                t.ideas.select()
                .where(t.ideas.c.author_id == user.id)
                .order_by(t.ideas.c.created_at)
            )
        ).all()
        comments = (
            await run(
                t.comments.select()
                .where(t.comments.c.author_id == user.id)
                .order_by(t.comments.c.created_at)
            )
        ).all()
        votes = (
            await run(
                sa.select(t.votes.c.idea_id, t.votes.c.created_at)
                .where(t.votes.c.user_id == user.id)
                .order_by(t.votes.c.created_at)
            )
        ).all()
        watches = (
            await run(
                sa.select(t.watches.c.idea_id, t.watches.c.watching).where(
                    t.watches.c.user_id == user.id
                )
            )
        ).all()
        staff = (
            await run(
                sa.select(t.staff.c.vendor_id, t.staff.c.role).where(t.staff.c.user_id == user.id)
            )
        ).all()
        return PersonalData(
            user=user,
            ideas=[_idea(r) for r in ideas],
            comments=[comment_of(r) for r in comments],
            votes=[VoteRecord(IdeaId(r.idea_id), r.created_at) for r in votes],
            watches=[WatchRecord(IdeaId(r.idea_id), bool(r.watching)) for r in watches],
            staff=[StaffRecord(VendorId(r.vendor_id), Role(r.role)) for r in staff],
        )

    async def erase(self, user_id: UserId) -> None:
        run = self._conn.execute
        email = await self._conn.scalar(sa.select(t.users.c.email).where(t.users.c.id == user_id))
        if email is None:
            return
        await run(t.invitations.delete().where(t.invitations.c.email == email))
        await run(t.sessions.delete().where(t.sessions.c.user_id == user_id))
        await run(t.one_time_tokens.delete().where(t.one_time_tokens.c.user_id == user_id))
        await run(t.watches.delete().where(t.watches.c.user_id == user_id))
        await run(t.staff.delete().where(t.staff.c.user_id == user_id))
        await run(
            t.outbox.delete().where(
                t.outbox.c.recipient_id == user_id, t.outbox.c.state == "pending"
            )
        )
        await run(
            t.users.update()
            .where(t.users.c.id == user_id)
            .values(
                email=erased_email(user_id),
                name=DELETED_NAME,
                password_hash=None,
                email_verified=False,
                google_subject=None,
            )
        )


class SqlSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(
            t.sessions.insert().values(
                token_hash=session.token_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
            )
        )

    async def get(self, token_hash: str) -> Session | None:
        row = (
            await self._conn.execute(
                t.sessions.select().where(t.sessions.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return Session(row.token_hash, UserId(row.user_id), row.created_at, row.last_seen_at)

    async def with_user(self, token_hash: str) -> tuple[Session, User] | None:
        found = await prebuilt.rows(
            self._conn, prebuilt.SESSION_WITH_USER, {"token_hash": token_hash}
        )
        row = _first(found)
        if row is None:
            return None
        user_id = UserId(row.user_id)
        session = Session(row.token_hash, user_id, row.session_created_at, row.last_seen_at)
        return session, _user(row)

    async def touch(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            t.sessions.update()
            .where(t.sessions.c.token_hash == token_hash)
            .values(last_seen_at=now)
        )

    async def delete(self, token_hash: str) -> None:
        await self._conn.execute(t.sessions.delete().where(t.sessions.c.token_hash == token_hash))

    async def delete_all_of(self, user_id: UserId) -> None:
        await self._conn.execute(t.sessions.delete().where(t.sessions.c.user_id == user_id))

    async def sweep(self, idle_before: datetime, created_before: datetime) -> int:
        c = t.sessions.c
        result = await self._conn.execute(
            t.sessions.delete().where(
                sa.or_(c.last_seen_at < idle_before, c.created_at < created_before)
            )
        )
        return int(result.rowcount or 0)


class SqlVendorRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, vendor: Vendor) -> None:
        try:
            await self._conn.execute(
                t.vendors.insert().values(
                    id=vendor.id, name=vendor.name, slug=vendor.slug, created_at=vendor.created_at
                )
            )
        except IntegrityError:
            raise SlugTaken() from None

    async def get(self, vendor_id: VendorId) -> Vendor | None:
        row = (
            await self._conn.execute(
                t.vendors.select().where(
                    t.vendors.c.id == vendor_id, vendor_is_live(t.vendors.c.id)
                )
            )
        ).first()
        return Vendor(VendorId(row.id), row.name, row.slug, row.created_at) if row else None

    async def add_staff(self, vendor_id: VendorId, user_id: UserId, role: Role) -> None:
        await self._conn.execute(
            t.staff.insert().values(vendor_id=vendor_id, user_id=user_id, role=role.value)
        )

    async def role_of(self, vendor_id: VendorId, user_id: UserId) -> Role | None:
        role = await self._conn.scalar(
            sa.select(t.staff.c.role).where(
                t.staff.c.vendor_id == vendor_id, t.staff.c.user_id == user_id
            )
        )
        return Role(role) if role else None

    async def solely_administered_by(self, user_id: UserId) -> list[VendorId]:
        s = t.staff.c
        other = t.staff.alias("other")
        others = sa.exists().where(
            other.c.vendor_id == s.vendor_id,
            other.c.user_id != user_id,
            other.c.role == Role.ADMIN.value,
        )
        rows = await self._conn.scalars(
            sa.select(s.vendor_id).where(
                s.user_id == user_id,
                s.role == Role.ADMIN.value,
                ~others,
                # A deleted vendor is going anyway: it does not hold its admin's account.
                vendor_is_live(s.vendor_id),
            )
        )
        return [VendorId(v) for v in rows]


class _Prefixed:
    """A row's columns named with a prefix, read without it: a forum beside its idea."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: sa.Row[Any], prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def _forum(row: sa.Row[Any] | _Prefixed) -> Forum:
    jira = (
        JiraBinding(
            row.jira_project_key,
            row.jira_issue_type or "Task",
            StatusMap.from_json(row.jira_status_map),
        )
        if row.jira_project_key
        else None
    )
    return Forum(
        id=ForumId(row.id),
        vendor_id=VendorId(row.vendor_id),
        name=row.name,
        slug=row.slug,
        visibility=Visibility(row.visibility),
        mailbox_hash=row.mailbox_hash,
        created_at=row.created_at,
        allowed_domains=tuple(row.allowed_domains),
        jira=jira,
        holds_first_posts=row.holds_first_posts,
        search_language=row.search_language,
    )


def _forum_values(forum: Forum) -> dict[str, Any]:
    return {
        "name": forum.name,
        "slug": forum.slug,
        "visibility": forum.visibility.value,
        "allowed_domains": list(forum.allowed_domains),
        "jira_project_key": forum.jira.project_key if forum.jira else None,
        "jira_issue_type": forum.jira.issue_type if forum.jira else None,
        "jira_status_map": forum.jira.status_map.to_json() if forum.jira else None,
        "holds_first_posts": forum.holds_first_posts,
        "search_language": forum.search_language,
    }


class SqlForumRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, forum: Forum) -> None:
        try:
            await self._conn.execute(
                t.forums.insert().values(
                    id=forum.id,
                    vendor_id=forum.vendor_id,
                    mailbox_hash=forum.mailbox_hash,
                    created_at=forum.created_at,
                    **_forum_values(forum),
                )
            )
        except IntegrityError:
            raise SlugTaken() from None

    async def get(self, forum_id: ForumId) -> Forum | None:
        row = _first(await prebuilt.rows(self._conn, prebuilt.FORUM, {"forum_id": forum_id}))
        return _forum(row) if row else None

    async def update(self, forum: Forum) -> None:
        try:
            await self._conn.execute(
                t.forums.update().where(t.forums.c.id == forum.id).values(**_forum_values(forum))
            )
        except IntegrityError:
            raise SlugTaken() from None
        if self._conn.dialect.name == "postgresql":
            language = sa.cast(forum.search_language, postgresql.REGCONFIG)
            await self._conn.execute(
                t.ideas.update()
                .where(t.ideas.c.forum_id == forum.id, t.ideas.c.search_config != language)
                .values(search_config=language)
            )

    async def invite(self, forum_id: ForumId, emails: list[str]) -> None:
        if emails:
            await self._conn.execute(
                _insert_ignoring_duplicates(self._conn, t.invitations),
                [{"forum_id": forum_id, "email": email} for email in emails],
            )

    async def involved_viewers(self, forum: Forum) -> list[Viewer]:
        in_forum = sa.select(t.ideas.c.id).where(t.ideas.c.forum_id == forum.id)
        involved = sa.union(
            sa.select(t.ideas.c.author_id.label("user_id")).where(t.ideas.c.forum_id == forum.id),
            sa.select(t.votes.c.user_id).where(t.votes.c.idea_id.in_(in_forum)),
            sa.select(t.comments.c.author_id).where(t.comments.c.idea_id.in_(in_forum)),
            sa.select(t.watches.c.user_id).where(t.watches.c.idea_id.in_(in_forum)),
            sa.select(t.users.c.id).where(
                t.users.c.email.in_(
                    sa.select(t.invitations.c.email).where(t.invitations.c.forum_id == forum.id)
                )
            ),
        )
        return await self._viewers(forum, t.users.c.id.in_(sa.select(involved.subquery())))

    async def viewers_with_emails(self, forum: Forum, emails: list[str]) -> list[Viewer]:
        return await self._viewers(forum, t.users.c.email.in_(emails)) if emails else []

    async def _viewers(self, forum: Forum, which: sa.ColumnElement[bool]) -> list[Viewer]:
        invited = (
            sa.exists()
            .where(t.invitations.c.forum_id == forum.id, t.invitations.c.email == t.users.c.email)
            .label("invited")
        )
        stmt = (
            sa.select(t.users, t.staff.c.role, invited)
            .select_from(
                t.users.outerjoin(
                    t.staff,
                    sa.and_(
                        t.staff.c.user_id == t.users.c.id, t.staff.c.vendor_id == forum.vendor_id
                    ),
                )
            )
            .where(which)
        )
        rows = (await self._conn.execute(stmt)).all()
        return [Viewer(_user(r), Role(r.role) if r.role else None, bool(r.invited)) for r in rows]

    async def is_invited(self, forum_id: ForumId, email: str) -> bool:
        found = await self._conn.scalar(
            sa.select(sa.literal(1)).where(
                t.invitations.c.forum_id == forum_id, t.invitations.c.email == email
            )
        )
        return found is not None

    async def by_mailbox_hash(self, mailbox_hash: str) -> Forum | None:
        row = (
            await self._conn.execute(
                t.forums.select().where(
                    t.forums.c.mailbox_hash == mailbox_hash, vendor_is_live(t.forums.c.vendor_id)
                )
            )
        ).first()
        return _forum(row) if row else None


def _idea(row: sa.Row[Any]) -> Idea:
    return Idea(
        id=IdeaId(row.id),
        forum_id=ForumId(row.forum_id),
        author_id=UserId(row.author_id),
        summary=row.summary,
        description=row.description,
        status=Status(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        votes=row.votes,
        comments=row.comments,
        tracker_key=row.tracker_key,
        merged_into=IdeaId(row.merged_into) if row.merged_into else None,
        moderation=Moderation(row.moderation),
    )


# A `top` or `trending` cursor starts with the idea_moves seq its walk is pinned to.
_CURSOR_SHAPES: dict[Sort, tuple[type, ...]] = {
    Sort.TOP: (int, int, str, str),
    Sort.NEW: (str, str),
    Sort.TRENDING: (int, float, str),
}
MOVES_MAX = 10_000  # counter moves since a walk began before its cursor is refused as stale


def _key(sort: Sort, row: Any, votes: int, heat: float) -> tuple[Any, ...]:
    """The sort key of a row given its counters as of the walk's snapshot."""
    if sort is Sort.TOP:
        return (votes, row.created_at, row.id)
    if sort is Sort.NEW:
        return (row.created_at, row.id)
    return (heat, row.id)


def _bound(sort: Sort, after: list[Any]) -> tuple[Any, ...]:
    """A cursor's key as _key gives it, for comparing in Python."""
    if sort is Sort.TOP:
        return (after[0], cursor_time(after[1]), after[2])
    return tuple(after)


def _cursor_values(key: tuple[Any, ...]) -> list[str | int | float]:
    return [v.isoformat() if isinstance(v, datetime) else v for v in key]


SIMILAR_THRESHOLD = 0.3  # pg_trgm's default similarity threshold, on both engines
SIMILAR_CANDIDATES = 50
SIMILAR_TELLING = 5  # the least common words of a similar-ideas query that find candidates
SIMILAR_GRAMS = 12  # the rarest trigrams of a similar-ideas query that SQLite searches
SIMILAR_SCANNED = 500  # candidates holding a telling word compared, at most


def _forum_config(forum_id: ForumId) -> sa.ColumnElement[Any]:
    """The forum's text search configuration, as a regconfig (PostgreSQL)."""
    language = (
        sa.select(t.forums.c.search_language).where(t.forums.c.id == forum_id).scalar_subquery()
    )
    return sa.cast(language, postgresql.REGCONFIG)


def _tsquery(forum_id: ForumId, text: str) -> sa.ScalarSelect[Any]:
    """to_tsquery in the forum's language, parsed once per statement (not once per row)."""
    return sa.select(sa.func.to_tsquery(_forum_config(forum_id), text)).scalar_subquery()


SEARCH_EXPANSIONS = 32  # a typed prefix that begins at most this many words is read as them


def _expanded_tsquery(forum_id: ForumId, terms: tuple[Term, ...]) -> sa.ScalarSelect[Any] | None:
    """The query's tsquery with its typed prefix read as the words it begins, when they are few.

    GIN reads a prefix (`'gue':*`) by gathering every idea holding any word it begins into a
    bitmap before it intersects the other words (~10-35 ms for 30,000 ideas at 1M); exact words
    (`'guest' | 'gueu'`) are intersected inside the index, which skips most of their pages.
    `search_lexemes` holds every word of every search vector (triggers add new ones), so the
    words it lists under the prefix are exactly the ones `:*` matches. The prefix is
    normalised as to_tsquery does (the forum's configuration: `dashboards` is `dashboard`).
    When it normalises to no word or several (a stop word, `foo_ba`), or begins no known word
    or more than SEARCH_EXPANSIONS, it is NULL (decided inside the statement: no round trip).
    None when there is no typed prefix of one word. Only the index is read with it: checking
    a row against a dozen words is slower than against the prefix.
    """
    typed, rest = terms[-1], terms[:-1]
    if not typed.prefix or len(typed.words) != 1:
        return None
    to_array = sa.func.tsvector_to_array(
        sa.func.to_tsvector(_forum_config(forum_id), typed.words[0]),
        type_=postgresql.ARRAY(sa.Text),
    )
    stem = sa.select(to_array.label("lexemes")).subquery("stem")
    prefix, lexeme = stem.c.lexemes[1], search_lexemes.c.lexeme
    begun = (
        sa.select(lexeme)
        .select_from(stem)
        .where(
            sa.func.cardinality(stem.c.lexemes) == 1,
            lexeme >= prefix,  # a range of the C-collated btree: the words the prefix begins
            lexeme < prefix + sa.func.chr(0x10FFFF, type_=sa.Text),
        )
        .order_by(lexeme)
        .limit(SEARCH_EXPANSIONS + 1)
        .subquery("begun")
    )
    backslashes = sa.func.replace(begun.c.lexeme, "\\", "\\\\", type_=sa.Text)
    escaped = sa.func.replace(backslashes, "'", "''", type_=sa.Text)  # quoted as tsquery reads
    words: sa.ColumnElement[Any] = sa.cast(
        sa.func.string_agg("'" + escaped + "'", " | "), postgresql.TSQUERY
    )
    if rest:
        whole = sa.func.to_tsquery(_forum_config(forum_id), pg_tsquery(rest))
        words = whole.op("&&", return_type=postgresql.TSQUERY)(words)
    expanded = sa.case((sa.func.count().between(1, SEARCH_EXPANSIONS), words), else_=sa.null())
    return sa.select(expanded).select_from(begun).scalar_subquery()


def _vote_boost(votes: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """1 + ln(1 + votes): relevance grows with votes, but a word match always matters more."""
    return 1.0 + sa.func.ln(1.0 + votes, type_=sa.Float)


def _fts5_rank(match: str) -> sa.Subquery:
    """Ideas matching an FTS5 expression, with -bm25 over the summary column (higher is better)."""
    table: sa.ColumnClause[Any] = sa.literal_column("ideas_fts")
    rank = -sa.func.bm25(table, 0.0, 0.0, 1.0, type_=sa.Float)
    return (
        sa.select(ideas_fts.c.idea_id.label("id"), rank.label("relevance"))
        .select_from(ideas_fts)
        .where(table.op("MATCH")(match))
        .subquery()
    )


SEARCH_POPULAR = 1_000  # the forum's most-voted ideas, searched first
SEARCH_RECENT = 1_000  # and its newest
SEARCH_COMMON = 20  # matches among those that make a query common: the index is not read
SEARCH_FROM_INDEX = 1_000  # matches of a rarer query taken from the index, in storage order
SEARCH_WHOLE_RARE = 12  # at most this many walked ideas hold the whole words: read them alone


def _pg_candidates(
    visible: builtins.list[sa.ColumnElement[bool]],
    tsquery: sa.ColumnElement[Any],
    whole: sa.ColumnElement[Any] | None,
    expanded: sa.ColumnElement[Any] | None,
) -> sa.Subquery:
    """The matches worth ranking (id, votes, search_vector): every one, unless there are many.

    Ranking every idea that holds a common word read ~35,000 pages at 1M ideas, and the GIN
    index alone spends tens of milliseconds listing 80,000 matches (more for a typed prefix).
    So the forum's SEARCH_POPULAR most-voted and SEARCH_RECENT newest ideas are searched
    first (two index walks of fixed length); when SEARCH_COMMON or more of them match, the
    query is common (about 1 % of ideas or more) and those matches are what is ranked: the
    popular and fresh ideas a reader expects on top. Otherwise the GIN index adds up to
    SEARCH_FROM_INDEX further matches. A forum of fewer than SEARCH_POPULAR ideas is thus
    always ranked exactly, and so is a rare query in any forum.

    A typed prefix makes GIN gather every idea holding any word it begins (for a common one,
    ~15 ms at 1M ideas), so the index is read for the words the prefix begins (`expanded`,
    NULL when they are too many). Failing that, when the query's whole words (`whole`: the
    query less the prefix) are rare among the walked ideas too, the index is read for them
    alone and the prefix is checked on those rows.
    """
    ideas = t.ideas.c
    matches = SEARCH_VECTOR.op("@@")(tsquery)
    columns = (ideas.id, ideas.votes, SEARCH_VECTOR.label("search_vector"))

    def first(order: tuple[sa.ColumnElement[Any], ...], count: int) -> sa.Select[Any]:
        return sa.select(*columns).where(*visible).order_by(*order).limit(count)

    walked_rows = sa.union_all(  # an idea both popular and new counts twice: harmless
        first((ideas.votes.desc(), ideas.created_at.desc(), ideas.id.desc()), SEARCH_POPULAR),
        first((ideas.created_at.desc(), ideas.id.desc()), SEARCH_RECENT),
    ).cte("walked_rows")
    walked = (
        sa.select(walked_rows).where(walked_rows.c.search_vector.op("@@")(tsquery)).cte("walked")
    )

    def count(rows: sa.Select[Any]) -> sa.ScalarSelect[Any]:
        return sa.select(sa.func.count()).select_from(rows.subquery()).scalar_subquery()

    rare = count(sa.select(walked)) < SEARCH_COMMON
    index = sa.select(*columns).where(*visible, rare).limit(SEARCH_FROM_INDEX)
    looked_up = matches
    if expanded is not None:
        either = sa.func.coalesce(expanded, tsquery, type_=postgresql.TSQUERY)
        looked_up = SEARCH_VECTOR.op("@@")(either)
    indexed: sa.Select[Any] | sa.CompoundSelect[Any]
    if whole is None:
        indexed = index.where(looked_up)
    else:
        whole_rare = (
            count(sa.select(walked_rows).where(walked_rows.c.search_vector.op("@@")(whole)))
            <= SEARCH_WHOLE_RARE
        )
        if expanded is not None:
            whole_rare = sa.and_(whole_rare, expanded.is_(None))
        # `IS true` keeps the planner from reading the prefix through the index.
        by_whole = index.where(SEARCH_VECTOR.op("@@")(whole), matches.is_(sa.true()), whole_rare)
        indexed = sa.union_all(by_whole, index.where(looked_up, sa.not_(whole_rare)))
    every = sa.union_all(sa.select(walked), indexed).subquery()
    # One row per idea, compared by id alone (UNION would compare the tsvectors too).
    return sa.select(every).ext(postgresql.distinct_on(every.c.id)).subquery("candidates")


@dataclass(frozen=True, slots=True)
class SeenRow:
    """An idea as a writing unit of work opened it (opened()): the row, and whether it stays
    as read until the unit ends (locked on PostgreSQL; always on SQLite, whose writing unit
    holds the database's lock)."""

    row: Any
    locked: bool


# What a writing unit of work has read of the ideas it opened, by id: the comment that follows
# moves their counters from there without reading them again (locked), or writes only if the
# idea is still as read (not locked: move_counters), as a vote always does on PostgreSQL (the
# vote functions). Shared by the unit's repositories; None in a read-only unit (no lock
# outlives a statement).
Seen = dict[IdeaId, SeenRow]
# Posters' standings at vendors (the value as stored, None for none) a unit of work has read
# with an idea (opened()): the poster check that follows needs no statement of its own.
Standings = dict[tuple[VendorId, UserId], str | None]


class SqlIdeaRepository:
    def __init__(
        self,
        conn: AsyncConnection,
        seen: Seen | None = None,
        standings: Standings | None = None,
    ) -> None:
        self._conn = conn
        self._seen = seen
        self._standings = standings

    async def add(self, idea: Idea) -> None:
        await self._conn.execute(
            t.ideas.insert().values(
                id=idea.id,
                forum_id=idea.forum_id,
                author_id=idea.author_id,
                summary=idea.summary,
                description=idea.description,
                status=idea.status.value,
                votes=0,
                comments=0,
                heat=0.0,
                tracker_key=idea.tracker_key,
                merged_into=idea.merged_into,
                moderation=idea.moderation.value,
                created_at=idea.created_at,
                updated_at=idea.updated_at,
                search_config=(
                    _forum_config(idea.forum_id)
                    if self._conn.dialect.name == "postgresql"
                    else "english"
                ),
            )
        )

    async def get(self, idea_id: IdeaId) -> Idea | None:
        row = (await self._conn.execute(t.ideas.select().where(t.ideas.c.id == idea_id))).first()
        return _idea(row) if row else None

    async def opened(
        self, idea_id: IdeaId, viewer_id: UserId | None, *, lock: bool = False
    ) -> OpenedIdea | None:
        # SQLite needs no row lock: a writing unit holds the database's (BEGIN IMMEDIATE).
        postgres = self._conn.dialect.name == "postgresql"
        locking = lock and self._seen is not None and postgres
        stmt = prebuilt.opened_idea(locking)
        params = {"idea_id": idea_id, "viewer_id": viewer_id}
        row = _first(await prebuilt.rows(self._conn, stmt, params))
        if row is None:
            return None
        if self._seen is not None:
            self._seen[idea_id] = SeenRow(row, locked=locking or not postgres)
        seen = None
        if row.viewer__id is not None:
            if self._standings is not None:
                self._standings[(VendorId(row.forum__vendor_id), row.viewer__id)] = (
                    row.viewer_standing
                )
            seen = (
                _user(_Prefixed(row, prebuilt.VIEWER_PREFIX)),
                Role(row.viewer_role) if row.viewer_role else None,
            )
        return OpenedIdea(_idea(row), _forum(_Prefixed(row, prebuilt.FORUM_PREFIX)), seen)

    async def set_status(self, idea: Idea) -> None:
        await self._conn.execute(
            t.ideas.update()
            .where(t.ideas.c.id == idea.id)
            .values(status=idea.status.value, updated_at=idea.updated_at)
        )

    async def forget_description(self, idea_id: IdeaId) -> None:
        await self._conn.execute(
            t.ideas.update().where(t.ideas.c.id == idea_id).values(description="")
        )

    def _views(
        self, viewer_id: UserId | None, base: sa.FromClause = t.ideas, *extra: Any
    ) -> sa.Select[Any]:
        author = t.users.alias("author")
        if viewer_id is None:
            voted: sa.ColumnElement[Any] = sa.false()
            watching: sa.ColumnElement[Any] = sa.false()
            source: sa.FromClause = base.join(author, author.c.id == t.ideas.c.author_id)
        else:
            voted = t.votes.c.user_id.is_not(None)
            watching = sa.func.coalesce(t.watches.c.watching, sa.false())
            source = (
                base.join(author, author.c.id == t.ideas.c.author_id)
                .outerjoin(
                    t.votes,
                    sa.and_(t.votes.c.idea_id == t.ideas.c.id, t.votes.c.user_id == viewer_id),
                )
                .outerjoin(
                    t.watches,
                    sa.and_(t.watches.c.idea_id == t.ideas.c.id, t.watches.c.user_id == viewer_id),
                )
            )
        return sa.select(
            t.ideas,
            author.c.name.label("author_name"),
            voted.label("voted_by_me"),
            watching.label("is_watching"),
            *extra,
        ).select_from(source)

    @staticmethod
    def _view(row: sa.Row[Any]) -> IdeaView:
        idea = _idea(row)
        return IdeaView(
            idea,
            Author(idea.author_id, row.author_name),
            bool(row.voted_by_me),
            bool(row.is_watching),
        )

    async def view(self, idea_id: IdeaId, viewer_id: UserId | None) -> IdeaView | None:
        stmt = prebuilt.idea_view(viewer_id is not None)
        row = _first(
            await prebuilt.rows(self._conn, stmt, {"idea_id": idea_id, "viewer_id": viewer_id})
        )
        return self._view(row) if row else None

    async def list(self, query: IdeaQuery, viewer_id: UserId | None) -> Page[IdeaView]:
        terms = parse_query(query.text or "")
        if terms:
            return await self._search(query, terms, viewer_id)
        shape = _CURSOR_SHAPES[query.sort]
        after = decode_cursor(query.after, shape) if query.after else None
        # `top` and `trending` walks are pinned to a snapshot of the counters: the first page
        # reads it in its own statement, later pages carry it in the cursor.
        pinned = query.sort is not Sort.NEW
        snapshot = int(after.pop(0)) if pinned and after else None
        as_of = await self._moved_since(query.forum_id, snapshot)
        page, moved_stmt = prebuilt.forum_page(
            viewer_id is not None,
            query.sort,
            status=query.status is not None,
            after=bool(after),
            excluding=bool(as_of),
            pinned_here=pinned and not after,
        )
        params: dict[str, Any] = {
            "forum_id": query.forum_id,
            "viewer_id": viewer_id,
            "status": query.status.value if query.status else None,
            "limit": query.limit + 1,
            "moved": list(as_of),
        }
        keys = prebuilt.SORT_KEYS[query.sort]
        for i, (k, v) in enumerate(zip(keys, after or (), strict=False)):
            params[f"after_{i}"] = cursor_time(v) if isinstance(k.type, t.UtcDateTime) else v
        # Ideas whose counters have not moved since the snapshot: an indexed keyset range.
        rows = await prebuilt.rows(self._conn, page, params)
        if pinned and not after and rows:
            snapshot = int(rows[0].snapshot)
        keyed = [(_key(query.sort, r, r.votes, r.heat), r) for r in rows]
        # Ideas that moved: ordered by their counters as of the snapshot, in Python.
        if as_of:
            bound = _bound(query.sort, after) if after else None
            for r in await self._conn.execute(moved_stmt, params):
                key = _key(query.sort, r, *as_of[r.id])
                if bound is None or key < bound:
                    keyed.append((key, r))
        keyed.sort(key=lambda kr: kr[0], reverse=True)
        items = [self._view(r) for _, r in keyed[: query.limit]]
        next_cursor = None
        if len(keyed) > query.limit:
            last = _cursor_values(keyed[query.limit - 1][0])
            next_cursor = encode_cursor(last if snapshot is None else [snapshot, *last])
        return Page(items, next_cursor)

    async def marks(
        self, asked: Sequence[tuple[UserId, Sequence[IdeaId]]]
    ) -> builtins.list[dict[IdeaId, Marks]]:
        pairs = [{"v": viewer, "i": idea} for viewer, ideas in asked for idea in ideas]
        stmt = prebuilt.marks(self._conn.dialect.name)
        asked_json = msgspec.json.encode(pairs).decode()  # ~5 times json.dumps's speed
        rows = await prebuilt.rows(self._conn, stmt, {"asked": asked_json})
        counted: dict[IdeaId, Any] = {}
        marked: dict[tuple[UserId, IdeaId], Any] = {}
        for r in rows:
            if r.viewer_id is None:
                counted[r.id] = r
            else:
                marked[(r.viewer_id, r.id)] = r
        unmarked = SimpleNamespace(voted_by_me=False, is_watching=None)
        return [
            {
                i: Marks(c.votes, c.comments, bool(m.voted_by_me), bool(m.is_watching))
                for i in ideas
                if (c := counted.get(i)) is not None
                for m in (marked.get((viewer, i), unmarked),)
            }
            for viewer, ideas in asked
        ]

    async def _moved_since(
        self, forum_id: ForumId, snapshot: int | None
    ) -> dict[str, tuple[int, float]]:
        """The counters, as of the snapshot, of the forum's ideas that moved after it."""
        if snapshot is None:
            return {}
        m = t.idea_moves.c
        rows = (
            await self._conn.execute(
                sa.select(m.idea_id, m.votes, m.heat)
                .where(m.forum_id == forum_id, m.seq > snapshot)
                .order_by(m.seq)
                .limit(MOVES_MAX + 1)
            )
        ).all()
        if len(rows) > MOVES_MAX:
            raise InvalidField("cursor", "This list has changed a lot since; start again.")
        first: dict[str, tuple[int, float]] = {}
        for r in rows:
            first.setdefault(r.idea_id, (r.votes, r.heat))
        return first

    def _visible(self, query: IdeaQuery) -> builtins.list[sa.ColumnElement[bool]]:
        """What a search may show: the forum's published, unmerged ideas (of the status)."""
        visible = [
            t.ideas.c.forum_id == query.forum_id,
            t.ideas.c.merged_into.is_(None),
            t.ideas.c.moderation == Moderation.PUBLISHED.value,
        ]
        if query.status is not None:
            visible.append(t.ideas.c.status == query.status.value)
        return visible

    def _scored_postgres(
        self, query: IdeaQuery, terms: tuple[Term, ...]
    ) -> tuple[sa.FromClause, sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """The ideas worth ranking, their relevance and id; see `_pg_candidates` for which."""
        tsquery = _tsquery(query.forum_id, pg_tsquery(terms))
        typed, rest = terms[-1], terms[:-1]
        whole = None
        if typed.prefix and any(not term.negated for term in rest):
            whole = _tsquery(query.forum_id, pg_tsquery(rest))
        expanded = _expanded_tsquery(query.forum_id, terms)
        found = _pg_candidates(self._visible(query), tsquery, whole, expanded)
        # Ranked by the query as typed: the same order, and cheaper than with a dozen words.
        score = sa.func.ts_rank_cd(found.c.search_vector, tsquery, type_=sa.Float)
        return found, score * _vote_boost(found.c.votes), found.c.id

    def _scored_sqlite(
        self, query: IdeaQuery, terms: tuple[Term, ...]
    ) -> tuple[sa.FromClause, sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """Every match (FTS5 ranks them all cheaply enough), its -bm25 relevance and id."""
        votes = t.ideas.c.votes
        match, excluded = fts5_match(query.forum_id, terms)
        base: sa.FromClause = t.ideas
        score: sa.ColumnElement[Any] = sa.cast(0.0, sa.Float)
        if match is not None:
            ranked = _fts5_rank(match)
            base = t.ideas.join(ranked, ranked.c.id == t.ideas.c.id)
            score = ranked.c.relevance * _vote_boost(votes)
        filtered = sa.select(t.ideas.c.id).select_from(base).where(*self._visible(query))
        if excluded is not None:
            filtered = filtered.where(t.ideas.c.id.not_in(sa.select(_fts5_rank(excluded).c.id)))
        matches = filtered.add_columns(score.label("score")).subquery()
        return matches, matches.c.score, matches.c.id

    async def _search(
        self, query: IdeaQuery, terms: tuple[Term, ...], viewer_id: UserId | None
    ) -> Page[IdeaView]:
        """Matching ideas, most relevant first; the cursor is keyset on (relevance, id).

        The page is chosen among the matches first, by relevance alone, and only its rows are
        then joined to authors and the viewer's votes.
        """
        if self._conn.dialect.name == "postgresql":
            found, score, found_id = self._scored_postgres(query, terms)
        else:
            found, score, found_id = self._scored_sqlite(query, terms)
        page = sa.select(found_id.label("id"), score.label("score")).select_from(found)
        if query.after:
            after_score, after_id = decode_cursor(query.after, (float, str))
            page = page.where(
                sa.tuple_(score, found_id)
                < sa.tuple_(sa.literal(float(after_score), sa.Float), sa.literal(after_id, t.ID))
            )
        ranked = (
            page.order_by(score.desc(), found_id.desc()).limit(query.limit + 1).subquery("page")
        )
        stmt = self._views(
            viewer_id, t.ideas.join(ranked, ranked.c.id == t.ideas.c.id), ranked.c.score
        ).order_by(ranked.c.score.desc(), t.ideas.c.id.desc())
        rows = (await self._conn.execute(stmt)).all()
        items = [self._view(r) for r in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            next_cursor = encode_cursor([float(last.score), str(last.id)])
        return Page(items, next_cursor)

    async def similar(
        self, forum_id: ForumId, text: str, viewer_id: UserId | None, limit: int
    ) -> builtins.list[IdeaView]:
        terms = tuple(t for t in parse_query(text) if not t.negated)
        if self._conn.dialect.name == "postgresql":
            scores = await self._similar_postgres(forum_id, text, terms, limit)
        else:
            scores = await self._similar_sqlite(forum_id, text, terms)
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        if not best:
            return []
        rows = (
            await self._conn.execute(
                self._views(viewer_id).where(t.ideas.c.id.in_([idea_id for idea_id, _ in best]))
            )
        ).all()
        views = {r.id: self._view(r) for r in rows}
        return [views[idea_id] for idea_id, _ in best if idea_id in views]

    async def _similar_postgres(
        self, forum_id: ForumId, text: str, terms: tuple[Term, ...], limit: int
    ) -> dict[str, float]:
        """Trigram similarity plus full-text rank over any of the words, best `limit` first.

        An idea qualifies at trigram similarity 0.3 or more or when it holds every word in some
        form; a single common word shared does not qualify it, so it cannot flood the answer.
        Finding every idea at similarity 0.3 through the trigram index reads the long posting
        lists of common trigrams (~0.5-1.5 s at 1M ideas), so the qualifying ideas are first
        sought among those that share one of the query's telling words (`_telling_words`);
        only when none qualifies is the trigram index read (every word misspelled, say).
        """
        if terms:
            telling = await self._telling_words(forum_id, [w for t in terms for w in t.words])
            if telling is not None:
                scores = await self._similar_among(forum_id, text, terms, limit, telling)
                if scores:
                    return scores
        return await self._similar_among(forum_id, text, terms, limit, None)

    async def _telling_words(self, forum_id: ForumId, words: builtins.list[str]) -> str | None:
        """A to_tsquery text that finds the likely duplicates cheaply, or None for no word.

        PostgreSQL's statistics list the most common lexemes of `search_vector` with their
        frequencies (a word not listed is rarer than all of them, or misspelled). A candidate
        holds two of the query's least common three words, or three of its least common five
        (SIMILAR_TELLING): a few short posting lists and shorter intersections, and a duplicate
        with one word misspelled (or two, of five) is still among the candidates. Every word
        counts whole, the one still being typed too. A one-word query takes that word.
        """
        rows = await self._conn.execute(
            sa.text(
                "SELECT w.word, coalesce(max(m.freq), 0) AS freq"
                " FROM unnest(CAST(:words AS text[])) AS w(word)"
                " CROSS JOIN LATERAL unnest(to_tsvector(CAST((SELECT search_language"
                " FROM forums WHERE id = :forum) AS regconfig), w.word)) AS l"
                " LEFT JOIN (SELECT unnest(most_common_elems::text::text[]) AS lexeme,"
                " unnest(most_common_elem_freqs) AS freq FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = 'ideas'"
                " AND attname = 'search_vector') AS m ON m.lexeme = l.lexeme"
                " GROUP BY w.word ORDER BY freq, w.word LIMIT :telling"
            ),
            {"words": sorted(set(words)), "forum": forum_id, "telling": SIMILAR_TELLING},
        )
        least = [f"'{r.word}'" for r in rows]
        if len(least) < 2:
            return least[0] if least else None
        together = 2 if len(least) <= 3 else 3
        groups = itertools.combinations(least, together)
        return " | ".join("(" + " & ".join(group) + ")" for group in groups)

    async def _similar_among(
        self,
        forum_id: ForumId,
        text: str,
        terms: tuple[Term, ...],
        limit: int,
        telling: str | None,
    ) -> dict[str, float]:
        """The best qualifying ideas among those holding a telling word (or all, if None)."""
        visible = [
            t.ideas.c.forum_id == forum_id,
            t.ideas.c.merged_into.is_(None),
            t.ideas.c.moderation == Moderation.PUBLISHED.value,
        ]
        every = _tsquery(forum_id, pg_tsquery(terms))
        columns = (t.ideas.c.id, t.ideas.c.summary, t.ideas.c.votes, SEARCH_VECTOR.label("sv"))
        if telling is None:
            matches: sa.ColumnElement[bool] = t.ideas.c.summary.op("%")(text)
            if terms:
                matches = sa.or_(matches, SEARCH_VECTOR.op("@@")(every))
            source = sa.select(*columns).where(*visible, matches).subquery()
        else:
            shares = SEARCH_VECTOR.op("@@")(_tsquery(forum_id, telling))
            source = sa.select(*columns).where(*visible, shares).limit(SIMILAR_SCANNED).subquery()
        similarity = sa.func.similarity(source.c.summary, text, type_=sa.Float)
        score: sa.ColumnElement[Any] = similarity
        # Compared row by row: `%` here would make the planner read the trigram index again.
        qualifies: sa.ColumnElement[bool] = similarity >= SIMILAR_THRESHOLD
        if terms:
            some = _tsquery(forum_id, pg_tsquery(terms, any_word=True))
            score = similarity + sa.func.ts_rank_cd(source.c.sv, some, type_=sa.Float)
            qualifies = sa.or_(qualifies, source.c.sv.op("@@")(every))
        rows = (
            await self._conn.execute(
                sa.select(source.c.id, score.label("score"))
                .where(qualifies)
                .order_by(sa.desc("score"), source.c.votes.desc(), source.c.id)
                .limit(limit)
            )
        ).all()
        return {r.id: float(r.score) for r in rows}

    async def _rarest_trigrams(self, grams: set[str]) -> set[str]:
        """The SIMILAR_GRAMS trigrams held by the fewest summaries (SQLite's FTS5 vocabulary).

        FTS5 ranks every row holding any trigram of an OR, so the common ones made similar
        ideas read most of the index; the rarest trigrams of a text are the ones that tell
        its duplicates apart anyway. Trigrams no summary holds are left out: they find nothing.
        """
        # At most 400 look-ups: SQLite joins at most 500 SELECTs in one compound statement (the
        # service cuts the text to 200 characters, under 200 trigrams).
        inner = sorted(g for g in grams if " " not in g and '"' not in g)[:400]
        if len(inner) <= SIMILAR_GRAMS:
            return set(inner)
        vocab = ideas_trigram_vocab.c
        # One look-up per trigram: fts5vocab answers `term =` from the index, not `IN`.
        counts = sa.union_all(
            *(
                sa.select(vocab.term, vocab.doc).where(vocab.term == g, vocab.col == "summary")
                for g in inner
            )
        ).subquery()
        rows = await self._conn.execute(
            sa.select(counts.c.term).order_by(counts.c.doc, counts.c.term).limit(SIMILAR_GRAMS)
        )
        return {r.term for r in rows}

    async def _similar_sqlite(
        self, forum_id: ForumId, text: str, terms: tuple[Term, ...]
    ) -> dict[str, float]:
        """Candidates from both FTS5 tables (every word; shared trigrams), scored in Python."""
        worded: dict[str, float] = {}
        candidates: set[str] = set()
        every_word, _ = fts5_match(forum_id, terms)
        if every_word is not None:
            ranked = _fts5_rank(every_word)
            rows = await self._conn.execute(
                sa.select(ranked.c.id, ranked.c.relevance)
                .order_by(ranked.c.relevance.desc())
                .limit(SIMILAR_CANDIDATES)
            )
            worded = {r.id: float(r.relevance) for r in rows}
        grams = fts5_trigrams(forum_id, await self._rarest_trigrams(trigrams(text)))
        if grams is not None:
            table: sa.ColumnClause[Any] = sa.literal_column("ideas_trigram")
            rank = -sa.func.bm25(table, 0.0, 0.0, 1.0, type_=sa.Float)
            rows = await self._conn.execute(
                sa.select(ideas_trigram.c.idea_id)
                .select_from(ideas_trigram)
                .where(table.op("MATCH")(grams))
                .order_by(rank.desc())
                .limit(SIMILAR_CANDIDATES)
            )
            candidates = {r.idea_id for r in rows}
        rows = await self._conn.execute(
            sa.select(t.ideas.c.id, t.ideas.c.summary).where(
                t.ideas.c.id.in_(candidates | set(worded)),
                t.ideas.c.merged_into.is_(None),
                t.ideas.c.moderation == Moderation.PUBLISHED.value,
            )
        )
        scores: dict[str, float] = {}
        for r in rows:
            similarity = trigram_similarity(r.summary, text)
            if r.id in worded or similarity >= SIMILAR_THRESHOLD:
                # bm25 is unbounded; squash it into [0, 1) like a ts_rank_cd of a short text.
                word_rank = worded.get(r.id, 0.0)
                scores[r.id] = similarity + word_rank / (1.0 + word_rank)
        return scores


# What _cast and _withdraw answer when the vote was (or was not) there already.
_NOT_MOVED: Any = object()


def _before(seen: Any, idea_id: IdeaId | None = None) -> dict[str, Any]:
    """The counters as locked, for the idea_moves log of a move (prebuilt.comment_and_move_pg)."""
    return {
        "moved_idea_id": idea_id or seen.id,
        "moved_forum_id": seen.forum_id,
        "votes_before": seen.votes,
        "heat_before": seen.heat,
    }


def _voted(view: IdeaView, voted: bool, moved: int) -> IdeaView:
    """The view after the viewer's vote is `voted`, its counter moved by `moved`."""
    return replace(view, idea=replace(view.idea, votes=view.idea.votes + moved), voted_by_me=voted)


class SqlVoteRepository:
    def __init__(
        self, conn: AsyncConnection, half_life_days: float, seen: Seen | None = None
    ) -> None:
        self._conn = conn
        self._half_life = half_life_days
        self._seen_rows = seen

    async def add(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> bool:
        return await self._cast(idea_id, user_id, at, None) is not _NOT_MOVED

    async def remove(self, idea_id: IdeaId, user_id: UserId) -> bool:
        return await self._withdraw(idea_id, user_id, None) is not _NOT_MOVED

    async def cast(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> IdeaView | None:
        seen = self._seen(idea_id, user_id)
        if seen is not None and self._conn.dialect.name == "postgresql":
            params = {
                "idea_id": seen.id,
                "user_id": user_id,
                "created_at": at,
                "heat": heat_of(at, self._half_life),
                "moderation": seen.moderation,
            }
            return await self._by_function(seen, prebuilt.CAST_VOTE, params, voted=True)
        if seen is not None:
            # SQLite: the unit's writer holds the database's lock, so `seen` is as it is now.
            moved = await self._cast(seen.id, user_id, at, None) is not _NOT_MOVED
            return _voted(SqlIdeaRepository._view(seen), True, 1 if moved else 0)
        view = await self._cast(idea_id, user_id, at, user_id)
        if view is _NOT_MOVED:  # voted before: nothing moved, so nothing read yet
            return await SqlIdeaRepository(self._conn).view(idea_id, user_id)
        return cast(IdeaView | None, view)

    async def withdraw(self, idea_id: IdeaId, user_id: UserId) -> IdeaView | None:
        seen = self._seen(idea_id, user_id)
        if seen is not None and seen.voted_at is not None:
            view = await self._withdraw_seen(seen, user_id)
            if view is not None:
                return view
            # Not the vote seen (withdrawn, or withdrawn and cast again, since it was read):
            # the long way, which withdraws whatever vote is there now.
        view = await self._withdraw(idea_id, user_id, user_id)
        if view is _NOT_MOVED and seen is not None:
            return _voted(SqlIdeaRepository._view(seen), False, 0)
        if view is _NOT_MOVED:
            return await SqlIdeaRepository(self._conn).view(idea_id, user_id)
        return cast(IdeaView | None, view)

    async def cast_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId, at: datetime
    ) -> IdeaView | None:
        if self._conn.dialect.name != "postgresql":
            if not await self._still_as_judged(idea, forum, user_id):
                return None
            return await self.cast(idea.id, user_id, at)
        params = {
            **self._judged_params(idea, forum, user_id),
            "created_at": at,
            "heat": heat_of(at, self._half_life),
        }
        return await self._by_judged_function(prebuilt.CAST_JUDGED_VOTE, idea, params, voted=True)

    async def withdraw_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId
    ) -> IdeaView | None:
        if self._conn.dialect.name != "postgresql":
            if not await self._still_as_judged(idea, forum, user_id):
                return None
            return await self.withdraw(idea.id, user_id)
        params = self._judged_params(idea, forum, user_id)
        return await self._by_judged_function(
            prebuilt.WITHDRAW_JUDGED_VOTE, idea, params, voted=False
        )

    @staticmethod
    def _judged_params(idea: Idea, forum: Forum, user_id: UserId) -> dict[str, Any]:
        return {
            "idea_id": idea.id,
            "user_id": user_id,
            "moderation": idea.moderation.value,
            "visibility": forum.visibility.value,
        }

    async def _still_as_judged(self, idea: Idea, forum: Forum, user_id: UserId) -> bool:
        """SQLite: the idea opened for the voter (the unit's writer holds the database's lock,
        so it stays so) is still as judged; cast() and withdraw() then write on this read."""
        found = await SqlIdeaRepository(self._conn, self._seen_rows).opened(idea.id, user_id)
        return (
            found is not None
            and found.viewer is not None
            and judgement_holds(idea, forum, found.idea, found.forum)
        )

    async def _by_judged_function(
        self, call: Any, idea: Idea, params: dict[str, Any], *, voted: bool
    ) -> IdeaView | None:
        """The vote cast or withdrawn by one of the judged vote functions (PostgreSQL), alone
        in autocommit when it is the unit's first write; None when the idea is not as judged
        (or the vote to withdraw has no recorded weight): nothing was written then."""
        answer = await self._called(call, params)
        if answer.moved is None:
            return None
        now = replace(idea, votes=answer.votes_now, comments=answer.comments_now)
        return IdeaView(now, Author(idea.author_id, answer.author_name), voted, answer.watching)

    def _seen(self, idea_id: IdeaId, user_id: UserId) -> Any:
        """The idea's row as this unit of work opened it, when the viewer read was this user
        (opened()); used once: a move changes what was read."""
        if self._seen_rows is None:
            return None
        seen = self._seen_rows.pop(idea_id, None)
        return seen.row if seen is not None and seen.row.viewer__id == user_id else None

    async def _withdraw_seen(self, seen: Any, user_id: UserId) -> IdeaView | None:
        """The seen vote withdrawn with its move, or None when it is not there."""
        if self._conn.dialect.name != "postgresql":
            moved = await self._withdraw(seen.id, user_id, None) is not _NOT_MOVED
            return _voted(SqlIdeaRepository._view(seen), False, -1 if moved else 0)
        params = {
            "idea_id": seen.id,
            "user_id": user_id,
            "cast_at": seen.voted_at,
            "heat": heat_of(seen.voted_at, self._half_life),
        }
        return await self._by_function(seen, prebuilt.WITHDRAW_VOTE_FN, params, voted=False)

    async def _by_function(
        self, seen: Any, call: Any, params: dict[str, Any], *, voted: bool
    ) -> IdeaView | None:
        """The vote cast or withdrawn by one of the vote functions (PostgreSQL), which lock the
        idea and write only if it is still as `seen` was read (read locked or not): alone, in
        autocommit, when it is the unit's first write. IdeaChanged when the idea is not as
        read; None when the vote to withdraw is not the one seen."""
        answer = await self._called(call, params)
        if answer.moved is None:
            raise IdeaChanged()
        if answer.moved is False and not voted:
            return None
        view = SqlIdeaRepository._view(seen)
        return _voted(view, voted, answer.votes_now - view.idea.votes)

    async def _called(self, call: Any, params: dict[str, Any]) -> Any:
        """The one row of a vote function's call (prebuilt.alone); when it moved a vote as its
        own transaction, the unit of work is told that nothing may follow."""
        result, alone = await prebuilt.alone(self._conn, call, params)
        (answer,) = result
        if answer.moved and alone:
            prebuilt.wrote_alone(self._conn)
        return answer

    async def _cast(
        self, idea_id: IdeaId, user_id: UserId, at: datetime, viewer_id: UserId | None
    ) -> Any:
        weight = heat_of(at, self._half_life)
        params = {"idea_id": idea_id, "user_id": user_id, "created_at": at}
        if self._conn.dialect.name == "sqlite":
            inserted = bool(
                await prebuilt.sqlite_rows(
                    self._conn, prebuilt.CAST_VOTE_SQLITE, {**params, "heat": weight}
                )
            )
        else:
            cast = await self._conn.execute(
                _insert_ignoring_duplicates(self._conn, t.votes), {**params, "weight": weight}
            )
            inserted = cast.rowcount == 1
        if not inserted:
            return _NOT_MOVED
        return await _move_counters(self._conn, idea_id, votes=1, heat=weight, viewer_id=viewer_id)

    async def _withdraw(self, idea_id: IdeaId, user_id: UserId, viewer_id: UserId | None) -> Any:
        params = {"vote_idea_id": idea_id, "vote_user_id": user_id}
        if self._conn.dialect.name == "sqlite":
            withdrawn = await prebuilt.sqlite_rows(self._conn, prebuilt.WITHDRAW_VOTE, params)
            cast_at = withdrawn[0].created_at if withdrawn else None
        else:
            cast_at = await self._conn.scalar(prebuilt.WITHDRAW_VOTE, params)
        if cast_at is None:
            return _NOT_MOVED
        weight = heat_of(cast_at, self._half_life)
        return await _move_counters(
            self._conn, idea_id, votes=-1, heat=-weight, viewer_id=viewer_id
        )


class SqlWatchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def set(self, idea_id: IdeaId, user_id: UserId, watching: bool) -> None:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.watches).values(idea_id=idea_id, user_id=user_id, watching=watching)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.watches.c.idea_id, t.watches.c.user_id],
                set_={"watching": watching},
            )
        )

    async def start(self, idea_id: IdeaId, user_id: UserId) -> None:
        row = {"idea_id": idea_id, "user_id": user_id, "watching": True}
        # Sent with the unit of work's next statement on PostgreSQL (nothing reads it back).
        if not prebuilt.defer(self._conn, ("insert_new", (t.watches, _WATCH_COLUMNS)), row):
            await prebuilt.rows(self._conn, _insert_ignoring_duplicates(self._conn, t.watches), row)

    async def watched_by(self, user_id: UserId) -> list[Idea]:
        rows = (
            await self._conn.execute(
                sa.select(t.ideas)
                .join(t.watches, t.watches.c.idea_id == t.ideas.c.id)
                .where(
                    t.watches.c.user_id == user_id,
                    t.watches.c.watching.is_(True),
                    forum_is_live(t.ideas.c.forum_id),
                )
                .order_by(t.ideas.c.created_at.desc(), t.ideas.c.id.desc())
                .limit(1000)
            )
        ).all()
        return [_idea(r) for r in rows]

    async def watchers(self, idea_id: IdeaId) -> list[UserId]:
        found = await self._conn.scalars(
            sa.select(t.watches.c.user_id)
            .where(t.watches.c.idea_id == idea_id, t.watches.c.watching.is_(True))
            .order_by(t.watches.c.user_id)
        )
        return [UserId(u) for u in found]

    async def is_watching(self, idea_id: IdeaId, user_id: UserId) -> bool:
        watching = await self._conn.scalar(
            sa.select(t.watches.c.watching).where(
                t.watches.c.idea_id == idea_id, t.watches.c.user_id == user_id
            )
        )
        return bool(watching)


def comment_of(row: sa.Row[Any]) -> Comment:
    """A comments row as the domain's Comment; every module that reads comments uses this."""
    return Comment(
        CommentId(row.id),
        IdeaId(row.idea_id),
        UserId(row.author_id),
        row.body,
        CommentSource(row.source),
        row.created_at,
        tracker_comment_id=row.tracker_comment_id,
        moderation=Moderation(row.moderation),
    )


class SqlMergeRepository:
    """Merges as row moves recorded in merge_moves, so that unmerge can undo exactly them."""

    def __init__(self, conn: AsyncConnection, half_life_days: float) -> None:
        self._conn = conn
        self._half_life = half_life_days

    async def _record(self, source: IdeaId, kind: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._conn.execute(
                t.merge_moves.insert(), [{"idea_id": source, "kind": kind, **r} for r in rows]
            )

    async def merge(self, source: Idea, target: Idea, by: UserId, at: datetime) -> None:
        v, c, w = t.votes.c, t.comments.c, t.watches.c
        before = (
            await self._conn.execute(
                sa.select(t.ideas.c.votes, t.ideas.c.comments, t.ideas.c.heat).where(
                    t.ideas.c.id == source.id
                )
            )
        ).one()
        await self._conn.execute(
            t.merges.insert().values(
                idea_id=source.id,
                into_id=target.id,
                merged_by=by,
                merged_at=at,
                votes=before.votes,
                comments=before.comments,
                heat=before.heat,
            )
        )
        on_target = sa.select(v.user_id).where(v.idea_id == target.id)
        votes = (
            await self._conn.execute(
                sa.select(v.user_id, v.created_at, v.user_id.in_(on_target).label("dup")).where(
                    v.idea_id == source.id
                )
            )
        ).all()
        moved = [r for r in votes if not r.dup]
        await self._record(
            source.id, "vote", [{"ref": r.user_id, "created_at": r.created_at} for r in moved]
        )
        await self._record(
            source.id,
            "vote_dropped",
            [{"ref": r.user_id, "created_at": r.created_at} for r in votes if r.dup],
        )
        await self._conn.execute(
            t.votes.delete().where(v.idea_id == source.id, v.user_id.in_(on_target))
        )
        await self._conn.execute(
            t.votes.update().where(v.idea_id == source.id).values(idea_id=target.id)
        )
        comments = (
            await self._conn.execute(
                sa.select(c.id, c.created_at, c.moderation).where(c.idea_id == source.id)
            )
        ).all()
        # Only published comments are counted (a held one is counted when approved).
        counted = [r for r in comments if r.moderation == Moderation.PUBLISHED.value]
        await self._record(
            source.id, "comment", [{"ref": r.id, "created_at": r.created_at} for r in comments]
        )
        await self._conn.execute(
            t.comments.update().where(c.idea_id == source.id).values(idea_id=target.id)
        )
        watched = sa.select(w.user_id).where(w.idea_id == target.id)
        watches = (
            await self._conn.execute(
                sa.select(w.user_id, w.watching, w.user_id.in_(watched).label("dup")).where(
                    w.idea_id == source.id
                )
            )
        ).all()
        await self._record(source.id, "watch", [{"ref": r.user_id} for r in watches if not r.dup])
        await self._record(
            source.id,
            "watch_dropped",
            [{"ref": r.user_id, "watching": r.watching} for r in watches if r.dup],
        )
        await self._conn.execute(
            t.watches.delete().where(w.idea_id == source.id, w.user_id.in_(watched))
        )
        await self._conn.execute(
            t.watches.update().where(w.idea_id == source.id).values(idea_id=target.id)
        )
        gained = self._heat([r.created_at for r in moved], [r.created_at for r in counted])
        await _move_counters(
            self._conn,
            source.id,
            votes=-before.votes,
            comments=-before.comments,
            heat=-before.heat,
        )
        await _move_counters(
            self._conn, target.id, votes=len(moved), comments=len(counted), heat=gained
        )
        await self._conn.execute(
            t.ideas.update()
            .where(t.ideas.c.id == source.id)
            .values(merged_into=target.id, updated_at=at)
        )

    def _heat(self, votes: builtins.list[datetime], comments: builtins.list[datetime]) -> float:
        return sum(heat_of(at, self._half_life) for at in votes) + sum(
            COMMENT_WEIGHT * heat_of(at, self._half_life) for at in comments
        )

    async def unmerge(self, source: Idea) -> None:
        v, c, w, m = t.votes.c, t.comments.c, t.watches.c, t.merge_moves.c
        merge = (
            await self._conn.execute(t.merges.select().where(t.merges.c.idea_id == source.id))
        ).one()
        target = merge.into_id
        moves = (
            await self._conn.execute(t.merge_moves.select().where(m.idea_id == source.id))
        ).all()
        refs: dict[str, builtins.list[Any]] = {}
        for move in moves:
            refs.setdefault(move.kind, []).append(move)
        moved_users = [r.ref for r in refs.get("vote", [])]
        back = (
            await self._conn.execute(
                sa.select(v.user_id, v.created_at).where(
                    v.idea_id == target, v.user_id.in_(moved_users)
                )
            )
        ).all()
        await self._conn.execute(
            t.votes.update()
            .where(v.idea_id == target, v.user_id.in_(moved_users))
            .values(idea_id=source.id)
        )
        dropped = [
            {"idea_id": source.id, "user_id": r.ref, "created_at": r.created_at}
            for r in refs.get("vote_dropped", [])
        ]
        if dropped:
            await self._conn.execute(t.votes.insert(), dropped)
        comment_ids = [r.ref for r in refs.get("comment", [])]
        comments_back = (
            await self._conn.execute(
                sa.select(c.id, c.created_at, c.moderation).where(
                    c.idea_id == target, c.id.in_(comment_ids)
                )
            )
        ).all()
        # Only published comments are counted (a held one is counted when approved).
        counted_back = [b for b in comments_back if b.moderation == Moderation.PUBLISHED.value]
        await self._conn.execute(
            t.comments.update()
            .where(c.idea_id == target, c.id.in_(comment_ids))
            .values(idea_id=source.id)
        )
        watch_users = [r.ref for r in refs.get("watch", [])]
        await self._conn.execute(
            t.watches.delete().where(w.idea_id == source.id, w.user_id.in_(watch_users))
        )
        await self._conn.execute(
            t.watches.update()
            .where(w.idea_id == target, w.user_id.in_(watch_users))
            .values(idea_id=source.id)
        )
        for r in refs.get("watch_dropped", []):
            await self._conn.execute(
                _insert_ignoring_duplicates(self._conn, t.watches).values(
                    idea_id=source.id, user_id=r.ref, watching=r.watching
                )
            )
        # Rows withdrawn or deleted from the survivor since the merge do not come back.
        came_back = {b.user_id for b in back}
        lost_votes = [r.created_at for r in refs.get("vote", []) if r.ref not in came_back]
        comments_returned = {b.id for b in comments_back}
        lost_comments = [
            r.created_at for r in refs.get("comment", []) if r.ref not in comments_returned
        ]
        returned = self._heat([b.created_at for b in back], [b.created_at for b in counted_back])
        await _move_counters(
            self._conn, target, votes=-len(back), comments=-len(counted_back), heat=-returned
        )
        # A merged idea takes no votes or comments, so when everything came back the source's
        # counters are exactly those it had before (heat bit for bit).
        heat = merge.heat
        if lost_votes or lost_comments:
            heat -= self._heat(lost_votes, lost_comments)
        current = (
            await self._conn.execute(
                sa.select(t.ideas.c.votes, t.ideas.c.comments, t.ideas.c.heat).where(
                    t.ideas.c.id == source.id
                )
            )
        ).one()
        await _move_counters(
            self._conn,
            source.id,
            votes=len(back) + len(dropped) - current.votes,
            comments=len(counted_back) - current.comments,
            heat=heat - current.heat,
        )
        await self._conn.execute(
            t.ideas.update().where(t.ideas.c.id == source.id).values(merged_into=None)
        )
        await self._conn.execute(t.merge_moves.delete().where(m.idea_id == source.id))
        await self._conn.execute(t.merges.delete().where(t.merges.c.idea_id == source.id))


_COMMENT_COLUMNS = (
    "id",
    "idea_id",
    "author_id",
    "body",
    "source",
    "moderation",
    "created_at",
    "tracker_comment_id",
)


class SqlCommentRepository:
    def __init__(
        self, conn: AsyncConnection, half_life_days: float, seen: Seen | None = None
    ) -> None:
        self._conn = conn
        self._half_life = half_life_days
        self._seen = seen

    async def add(self, comment: Comment, at: datetime) -> None:
        # The row as parameters of a prebuilt INSERT, on the driver: no statement built per
        # comment, and not through the execution layer.
        row = {
            "id": comment.id,
            "idea_id": comment.idea_id,
            "author_id": comment.author_id,
            "body": comment.body,
            "source": comment.source.value,
            "moderation": comment.moderation.value,
            "created_at": comment.created_at,
            "tracker_comment_id": comment.tracker_comment_id,
        }
        published = comment.moderation is Moderation.PUBLISHED
        heat = COMMENT_WEIGHT * heat_of(at, self._half_life)
        if published and self._conn.dialect.name == "postgresql":
            seen = self._seen.pop(comment.idea_id, None) if self._seen else None
            if seen is not None and not seen.locked:
                # Opened without a lock: the row after a counter move that checks, under its
                # lock, that the idea is still as read (move_counters), in one statement;
                # IdeaChanged (when it is sent) if not.
                params = {**row, "heat": heat, "moderation_seen": seen.row.moderation}
                moved: prebuilt.Deferred = ("comment_moved", (_COMMENT_COLUMNS,))
                if not prebuilt.defer(self._conn, moved, params):
                    await prebuilt.rows(
                        self._conn, prebuilt.comment_moved_pg(_COMMENT_COLUMNS), params
                    )
                return
            # Locked when this unit of work opened the idea (opened(lock=True)), else locked
            # here; then the row with its counter move in one statement.
            locked = seen.row if seen is not None else None
            if locked is None:
                locked = _first(
                    await prebuilt.rows(
                        self._conn, prebuilt.LOCK_COUNTERS, {"idea_id": comment.idea_id}
                    )
                )
            if locked is not None:
                params = {**row, "heat": heat, **_before(locked, comment.idea_id)}
                write: prebuilt.Deferred = ("comment_and_move", (_COMMENT_COLUMNS,))
                if not prebuilt.defer(self._conn, write, params):
                    await prebuilt.rows(
                        self._conn, prebuilt.comment_and_move_pg(_COMMENT_COLUMNS), params
                    )
                return
        await prebuilt.rows(self._conn, prebuilt.insert(t.comments, _COMMENT_COLUMNS), row)
        if not published:
            return  # counted when it is approved
        await _move_counters(
            self._conn,
            comment.idea_id,
            comments=1,
            heat=COMMENT_WEIGHT * heat_of(at, self._half_life),
        )

    async def list(
        self, idea_id: IdeaId, limit: int, after: str | None, viewer_id: UserId | None = None
    ) -> Page[CommentView]:
        c = t.comments.c
        # Published comments, and the viewer's own held ones.
        shown = c.moderation == Moderation.PUBLISHED.value
        if viewer_id is not None:
            shown = shown | ((c.moderation == Moderation.HELD.value) & (c.author_id == viewer_id))
        stmt = (
            sa.select(t.comments, t.users.c.name.label("author_name"))
            .join(t.users, t.users.c.id == c.author_id)
            .where(c.idea_id == idea_id, shown)
        )
        if after:
            at, last_id = decode_cursor(after, (str, str))
            stmt = stmt.where(
                sa.tuple_(c.created_at, c.id)
                > sa.tuple_(sa.literal(cursor_time(at), t.UtcDateTime()), sa.literal(last_id, t.ID))
            )
        rows = (await self._conn.execute(stmt.order_by(c.created_at, c.id).limit(limit + 1))).all()
        items = [
            CommentView(comment_of(r), Author(UserId(r.author_id), r.author_name))
            for r in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1].comment
            next_cursor = encode_cursor([last.created_at.isoformat(), last.id])
        return Page(items, next_cursor)

    async def get(self, comment_id: CommentId) -> Comment | None:
        row = (
            await self._conn.execute(t.comments.select().where(t.comments.c.id == comment_id))
        ).first()
        return comment_of(row) if row else None


class SqlParticipantRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, idea_id: IdeaId, user_id: UserId, added_by: UserId, at: datetime) -> bool:
        inserted = await self._conn.execute(
            _insert_ignoring_duplicates(self._conn, t.participants).values(
                idea_id=idea_id, user_id=user_id, added_by=added_by, created_at=at
            )
        )
        return inserted.rowcount == 1


class SqlInboundLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def first_sighting(self, message_id: str, at: datetime) -> bool:
        inserted = await self._conn.execute(
            _insert_ignoring_duplicates(self._conn, t.inbound_messages).values(
                message_id=message_id, received_at=at
            )
        )
        return inserted.rowcount == 1


def _notification(row: sa.Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        kind=NotificationKind(row.kind),
        created_at=row.created_at,
        recipient_id=UserId(row.recipient_id) if row.recipient_id else None,
        idea_id=IdeaId(row.idea_id) if row.idea_id else None,
        actor_id=UserId(row.actor_id) if row.actor_id else None,
        payload={str(k): str(v) for k, v in (row.payload or {}).items()},
    )


_WATCH_COLUMNS = ("idea_id", "user_id", "watching")
_OUTBOX_COLUMNS = (
    "id",
    "kind",
    "recipient_id",
    "idea_id",
    "actor_id",
    "payload",
    "state",
    "attempts",
    "due_at",
    "created_at",
)


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, notification: Notification) -> None:
        row = {
            "id": notification.id,
            "kind": notification.kind.value,
            "recipient_id": notification.recipient_id,
            "idea_id": notification.idea_id,
            "actor_id": notification.actor_id,
            "payload": dict(notification.payload),
            "state": "pending",
            "attempts": 0,
            "due_at": notification.created_at,
            "created_at": notification.created_at,
        }
        # Sent with the unit of work's next statement on PostgreSQL (the worker reads it).
        if not prebuilt.defer(self._conn, ("insert", (t.outbox, _OUTBOX_COLUMNS)), row):
            await prebuilt.rows(self._conn, prebuilt.insert(t.outbox, _OUTBOX_COLUMNS), row)

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        o = t.outbox.c
        # One statement: on PostgreSQL the sub-select skips rows another worker holds; on
        # SQLite the single writer serialises it. Either way a row goes to one worker per lease.
        due = (
            sa.select(o.id)
            .where(o.state == DeliveryState.PENDING.value, o.due_at <= now)
            .order_by(o.due_at, o.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await self._conn.execute(
            t.outbox.update()
            .where(o.id.in_(due.scalar_subquery()))
            .values(due_at=lease_until, attempts=o.attempts + 1)
            .returning(*t.outbox.c)
        )
        rows = sorted(claimed.all(), key=lambda r: (r.created_at, r.id))
        return [Claim(_notification(r), r.attempts) for r in rows]

    async def finish(
        self, notification: Notification, state: DeliveryState, at: datetime, error: str = ""
    ) -> bool:
        closed = await self._conn.execute(
            t.outbox.update()
            .where(
                t.outbox.c.id == notification.id,
                t.outbox.c.state == DeliveryState.PENDING.value,
            )
            .values(
                state=state.value,
                done_at=at,
                last_error=error or None,
                payload=notification.without_secrets(),
            )
        )
        return bool(closed.rowcount)

    async def retry_at(self, notification_id: str, due_at: datetime, error: str) -> None:
        await self._conn.execute(
            t.outbox.update()
            .where(
                t.outbox.c.id == notification_id,
                t.outbox.c.state == DeliveryState.PENDING.value,
            )
            .values(due_at=due_at, last_error=error)
        )

    async def deliveries(
        self,
        forum_id: ForumId,
        state: DeliveryState | None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[DeliveryRecord]:
        o = t.outbox.c
        stmt = (
            sa.select(t.outbox, t.users.c.email.label("recipient_email"))
            .join(t.ideas, t.ideas.c.id == o.idea_id)
            .outerjoin(t.users, t.users.c.id == o.recipient_id)
            .where(t.ideas.c.forum_id == forum_id, o.recipient_id.is_not(None))
            .order_by(o.created_at.desc(), o.id.desc())
            .limit(limit)
        )
        if state is not None:
            stmt = stmt.where(o.state == state.value)
        if before is not None:
            at, row_id = before
            stmt = stmt.where(
                sa.tuple_(o.created_at, o.id)
                < sa.tuple_(sa.literal(at, o.created_at.type), sa.literal(row_id, o.id.type))
            )
        rows = (await self._conn.execute(stmt)).all()
        return [
            DeliveryRecord(
                id=r.id,
                kind=r.kind,
                recipient_id=UserId(r.recipient_id),
                recipient_email=r.recipient_email,
                idea_id=IdeaId(r.idea_id),
                state=r.state,
                attempts=r.attempts,
                last_error=r.last_error,
                created_at=r.created_at,
                done_at=r.done_at,
            )
            for r in rows
        ]

    async def stats(self, now: datetime) -> OutboxStats:
        o = t.outbox.c
        counted = await self._conn.execute(sa.select(o.state, sa.func.count()).group_by(o.state))
        due = (
            await self._conn.execute(
                sa.select(sa.func.count(), sa.func.min(o.due_at)).where(
                    o.state == DeliveryState.PENDING.value, o.due_at <= now
                )
            )
        ).one()
        return OutboxStats(
            by_state={state: n for state, n in counted.all()}, due=due[0], oldest_due_at=due[1]
        )


class SqlRateLimitRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def hit(self, key: str, now: datetime, window_seconds: int) -> tuple[int, datetime]:
        # One statement, so concurrent hits from several processes never lose a count.
        r = t.rate_limits.c
        stale = r.window_start <= now - timedelta(seconds=window_seconds)
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(t.rate_limits)
            .values(key=key, window_start=now, hits=1)
            .on_conflict_do_update(
                index_elements=[r.key],
                set_={
                    "hits": sa.case((stale, 1), else_=r.hits + 1),
                    "window_start": sa.case(
                        (stale, sa.literal(now, t.UtcDateTime())), else_=r.window_start
                    ),
                },
            )
            .returning(r.hits, r.window_start)
        )
        row = (await self._conn.execute(stmt)).one()
        return int(row.hits), row.window_start

    async def sweep(self, before: datetime) -> int:
        result = await self._conn.execute(
            t.rate_limits.delete().where(t.rate_limits.c.window_start < before)
        )
        return int(result.rowcount or 0)


class SqlTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, token: OneTimeToken) -> None:
        await self._conn.execute(
            t.one_time_tokens.insert().values(
                token_hash=token.token_hash,
                purpose=token.purpose.value,
                user_id=token.user_id,
                created_at=token.created_at,
                expires_at=token.expires_at,
            )
        )

    async def use(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        c = t.one_time_tokens.c
        user_id = await self._conn.scalar(
            t.one_time_tokens.update()
            .where(
                c.token_hash == token_hash,
                c.purpose == purpose.value,
                c.used_at.is_(None),
                c.expires_at > now,
            )
            .values(used_at=now)
            .returning(c.user_id)
        )
        return UserId(user_id) if user_id else None

    async def sweep(self, now: datetime) -> int:
        c = t.one_time_tokens.c
        result = await self._conn.execute(
            t.one_time_tokens.delete().where(sa.or_(c.used_at.is_not(None), c.expires_at <= now))
        )
        return int(result.rowcount or 0)


class SqlSignInFlowRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, flow: SignInFlow) -> None:
        await self._conn.execute(
            t.sign_in_flows.insert().values(
                state_hash=flow.state_hash,
                nonce=flow.nonce,
                code_verifier=flow.code_verifier,
                expires_at=flow.expires_at,
            )
        )

    async def take(self, state_hash: str, now: datetime) -> SignInFlow | None:
        c = t.sign_in_flows.c
        row = (
            await self._conn.execute(
                t.sign_in_flows.delete()
                .where(c.state_hash == state_hash)
                .returning(c.state_hash, c.nonce, c.code_verifier, c.expires_at)
            )
        ).first()
        if row is None or row.expires_at <= now:
            return None
        return SignInFlow(row.state_hash, row.nonce, row.code_verifier, row.expires_at)

    async def sweep(self, now: datetime) -> int:
        result = await self._conn.execute(
            t.sign_in_flows.delete().where(t.sign_in_flows.c.expires_at <= now)
        )
        return int(result.rowcount or 0)
