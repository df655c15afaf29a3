"""The unit of work and its repositories in memory: the SQL adapter's twin for unit tests.

Every repository here mirrors its counterpart in `adapters/sql/` (repositories.py here,
moderation.py in memory_moderation.py, tracker.py in memory_tracker.py, merges in
memory_merges.py; how search terms match in memory is told in memory_search.py), constraint for
constraint: the same domain errors on duplicates, counters and heat moved together with the rows,
the same sort keys and the same cursors. A constraint the SQL adapter does not translate into a
domain error (a missing user behind a vote, say) raises `ConstraintViolated` here, as the database
would raise IntegrityError there: it is a bug in the caller, not a situation a user can cause.
How transactions work is told in tables.py.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from customercase.adapters.fakes.memory_merges import InMemoryMergeRepository
from customercase.adapters.fakes.memory_moderation import InMemoryModerationRepository
from customercase.adapters.fakes.memory_retention import (
    InMemoryRetentionRepository,
    forum_is_live,
    vendor_is_live,
)
from customercase.adapters.fakes.memory_search import (
    any_word_rank,
    matches,
    relevance,
    vote_boost,
    words_of,
)
from customercase.adapters.fakes.memory_tracker import InMemoryTrackerRepository
from customercase.adapters.fakes.tables import (
    ConstraintViolated,
    Delivery,
    InMemoryStore,
    LostRace,
    Tables,
    Transaction,
    move_counters,
    require,
    utc,
)
from customercase.domain.cursors import Key, cursor_time, decode_cursor, encode_cursor
from customercase.domain.errors import EmailTaken, InvalidField, SlugTaken
from customercase.domain.ideas import (
    Author,
    Comment,
    CommentView,
    Idea,
    IdeaQuery,
    IdeaView,
    Marks,
    Page,
    Sort,
)
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Claim, DeliveryRecord, Notification, OutboxStats
from customercase.domain.ports import (
    CommentRepository,
    ForumRepository,
    IdeaRepository,
    InboundLog,
    MergeRepository,
    ModerationRepository,
    OpenedIdea,
    Outbox,
    ParticipantRepository,
    RateLimitRepository,
    RetentionRepository,
    SessionRepository,
    SignInFlowRepository,
    TokenRepository,
    TrackerRepository,
    UnitOfWork,
    UserRepository,
    VendorRepository,
    VoteRepository,
    WatchRepository,
    judgement_holds,
)
from customercase.domain.privacy import (
    DELETED_NAME,
    PersonalData,
    StaffRecord,
    VoteRecord,
    WatchRecord,
    erased_email,
)
from customercase.domain.search import Term, parse_query, trigram_similarity
from customercase.domain.spam import Moderation
from customercase.domain.trending import COMMENT_WEIGHT, DEFAULT_HALF_LIFE_DAYS, heat_of
from customercase.domain.users import OneTimeToken, Session, SignInFlow, TokenPurpose, User
from customercase.domain.vendors import Forum, Role, Vendor, Viewer

__all__ = ["ConstraintViolated", "InMemoryStore", "InMemoryUnitOfWork", "LostRace", "Tables"]

# As adapters/sql/repositories.py: a user's watch list is cut at this many ideas.
WATCHED_MAX = 1000


class InMemoryUserRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, user: User) -> None:
        user = replace(user, created_at=utc(user.created_at))

        def insert(db: Tables) -> None:
            # The SQL adapter reads every IntegrityError here as a taken email, a clash of
            # Google accounts included.
            if user.id in db.users or any(
                u.email == user.email
                or (user.google_subject is not None and u.google_subject == user.google_subject)
                for u in db.users.values()
            ):
                raise EmailTaken()
            db.users[user.id] = user

        self._tx.write(insert)

    async def get(self, user_id: UserId) -> User | None:
        return self._tx.read().users.get(user_id)

    async def with_role(
        self, user_id: UserId, vendor_id: VendorId
    ) -> tuple[User, Role | None] | None:
        db = self._tx.read()
        user = db.users.get(user_id)
        return (user, db.staff.get((vendor_id, user_id))) if user else None

    async def by_email(self, email: str) -> User | None:
        return next((u for u in self._tx.read().users.values() if u.email == email), None)

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        def update(db: Tables) -> None:
            if user_id in db.users:
                db.users[user_id] = db.users[user_id].with_password_hash(password_hash)

        self._tx.write(update)

    async def by_google_subject(self, subject: str) -> User | None:
        users = self._tx.read().users.values()
        return next((u for u in users if u.google_subject == subject), None)

    async def link_google(self, user_id: UserId, subject: str) -> None:
        def update(db: Tables) -> None:
            if user_id not in db.users:
                return
            require(
                all(u.google_subject != subject for u in db.users.values() if u.id != user_id),
                "Google account linked to another user",
            )
            db.users[user_id] = replace(
                db.users[user_id], google_subject=subject, email_verified=True
            )

        self._tx.write(update)

    async def mark_email_verified(self, user_id: UserId) -> None:
        def update(db: Tables) -> None:
            if user_id in db.users:
                db.users[user_id] = replace(db.users[user_id], email_verified=True)

        self._tx.write(update)

    async def personal_data(self, user: User) -> PersonalData:
        db = self._tx.read()
        return PersonalData(
            user=user,
            ideas=sorted(
                (i for i in db.ideas.values() if i.author_id == user.id),
                key=lambda i: i.created_at,
            ),
            comments=sorted(
                (c for c in db.comments.values() if c.author_id == user.id),
                key=lambda c: c.created_at,
            ),
            votes=sorted(
                (VoteRecord(i, at) for (i, u), at in db.votes.items() if u == user.id),
                key=lambda v: v.created_at,
            ),
            watches=[WatchRecord(i, w) for (i, u), w in db.watches.items() if u == user.id],
            staff=[StaffRecord(v, r) for (v, u), r in db.staff.items() if u == user.id],
        )

    async def erase(self, user_id: UserId) -> None:
        def erase(db: Tables) -> None:
            user = db.users.get(user_id)
            if user is None:
                return
            db.invitations = {(f, e) for f, e in db.invitations if e != user.email}
            db.sessions = {k: v for k, v in db.sessions.items() if v.user_id != user_id}
            db.tokens = {k: v for k, v in db.tokens.items() if v[0].user_id != user_id}
            db.watches = {k: v for k, v in db.watches.items() if k[1] != user_id}
            db.staff = {k: v for k, v in db.staff.items() if k[1] != user_id}
            unsent = {
                k
                for k, v in db.outbox.items()
                if v.recipient_id == user_id and db.deliveries[k].state is DeliveryState.PENDING
            }
            db.outbox = {k: v for k, v in db.outbox.items() if k not in unsent}
            db.deliveries = {k: v for k, v in db.deliveries.items() if k not in unsent}
            db.users[user_id] = replace(
                user,
                email=erased_email(user_id),
                name=DELETED_NAME,
                password_hash=None,
                email_verified=False,
                google_subject=None,
            )

        self._tx.write(erase)


class InMemorySessionRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, session: Session) -> None:
        session = replace(
            session, created_at=utc(session.created_at), last_seen_at=utc(session.last_seen_at)
        )

        def insert(db: Tables) -> None:
            require(session.token_hash not in db.sessions, "duplicate session token hash")
            require(session.user_id in db.users, "session of an unknown user")
            db.sessions[session.token_hash] = session

        self._tx.write(insert)

    async def get(self, token_hash: str) -> Session | None:
        return self._tx.read().sessions.get(token_hash)

    async def with_user(self, token_hash: str) -> tuple[Session, User] | None:
        db = self._tx.read()
        session = db.sessions.get(token_hash)
        user = db.users.get(session.user_id) if session else None
        return (session, user) if session and user else None

    async def touch(self, token_hash: str, now: datetime) -> None:
        def update(db: Tables) -> None:
            if token_hash in db.sessions:
                db.sessions[token_hash] = replace(db.sessions[token_hash], last_seen_at=utc(now))

        self._tx.write(update)

    async def delete(self, token_hash: str) -> None:
        def delete(db: Tables) -> None:
            db.sessions.pop(token_hash, None)

        self._tx.write(delete)

    async def delete_all_of(self, user_id: UserId) -> None:
        def delete(db: Tables) -> None:
            db.sessions = {k: v for k, v in db.sessions.items() if v.user_id != user_id}

        self._tx.write(delete)

    async def sweep(self, idle_before: datetime, created_before: datetime) -> int:
        def sweep(db: Tables) -> int:
            dead = [
                k
                for k, v in db.sessions.items()
                if v.last_seen_at < idle_before or v.created_at < created_before
            ]
            for k in dead:
                del db.sessions[k]
            return len(dead)

        return self._tx.write(sweep)


class InMemoryVendorRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, vendor: Vendor) -> None:
        vendor = replace(vendor, created_at=utc(vendor.created_at))

        def insert(db: Tables) -> None:
            if vendor.id in db.vendors or any(v.slug == vendor.slug for v in db.vendors.values()):
                raise SlugTaken()
            db.vendors[vendor.id] = vendor

        self._tx.write(insert)

    async def get(self, vendor_id: VendorId) -> Vendor | None:
        db = self._tx.read()
        return db.vendors.get(vendor_id) if vendor_is_live(db, vendor_id) else None

    async def add_staff(self, vendor_id: VendorId, user_id: UserId, role: Role) -> None:
        def insert(db: Tables) -> None:
            require((vendor_id, user_id) not in db.staff, "already staff of this vendor")
            require(vendor_id in db.vendors, "staff of an unknown vendor")
            require(user_id in db.users, "an unknown user as staff")
            db.staff[vendor_id, user_id] = role

        self._tx.write(insert)

    async def solely_administered_by(self, user_id: UserId) -> list[VendorId]:
        db = self._tx.read()
        admins: dict[VendorId, set[UserId]] = {}
        for (vendor_id, member), role in db.staff.items():
            if role is Role.ADMIN and vendor_is_live(db, vendor_id):
                admins.setdefault(vendor_id, set()).add(member)
        return [v for v, members in admins.items() if members == {user_id}]

    async def role_of(self, vendor_id: VendorId, user_id: UserId) -> Role | None:
        return self._tx.read().staff.get((vendor_id, user_id))


def _forum_clashes(db: Tables, forum: Forum) -> bool:
    """Whether another forum already has the slug at this vendor, or the mailbox."""
    return any(
        other.id != forum.id
        and (
            (other.vendor_id, other.slug) == (forum.vendor_id, forum.slug)
            or other.mailbox_hash == forum.mailbox_hash
        )
        for other in db.forums.values()
    )


class InMemoryForumRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, forum: Forum) -> None:
        forum = replace(forum, created_at=utc(forum.created_at))

        def insert(db: Tables) -> None:
            # The SQL adapter reads every IntegrityError here as a taken slug, a missing
            # vendor included.
            if (
                forum.id in db.forums
                or forum.vendor_id not in db.vendors
                or _forum_clashes(db, forum)
            ):
                raise SlugTaken()
            db.forums[forum.id] = forum

        self._tx.write(insert)

    async def get(self, forum_id: ForumId) -> Forum | None:
        db = self._tx.read()
        return db.forums.get(forum_id) if forum_is_live(db, forum_id) else None

    async def update(self, forum: Forum) -> None:
        def update(db: Tables) -> None:
            stored = db.forums.get(forum.id)
            if stored is None:
                return
            # Only the settings move; the vendor, mailbox and creation time are fixed.
            changed = replace(
                stored,
                name=forum.name,
                slug=forum.slug,
                visibility=forum.visibility,
                allowed_domains=forum.allowed_domains,
                jira=forum.jira,
                holds_first_posts=forum.holds_first_posts,
                search_language=forum.search_language,
            )
            if _forum_clashes(db, changed):
                raise SlugTaken()
            db.forums[forum.id] = changed

        self._tx.write(update)

    async def invite(self, forum_id: ForumId, emails: list[str]) -> None:
        def insert(db: Tables) -> None:
            if emails:
                require(forum_id in db.forums, "invitation to an unknown forum")
            db.invitations.update((forum_id, email) for email in emails)

        self._tx.write(insert)

    async def is_invited(self, forum_id: ForumId, email: str) -> bool:
        return (forum_id, email) in self._tx.read().invitations

    async def by_mailbox_hash(self, mailbox_hash: str) -> Forum | None:
        db = self._tx.read()
        forums = (f for f in db.forums.values() if vendor_is_live(db, f.vendor_id))
        return next((f for f in forums if f.mailbox_hash == mailbox_hash), None)

    async def involved_viewers(self, forum: Forum) -> list[Viewer]:
        db = self._tx.read()
        # Every post and every vote, watch and comment counts, whatever its moderation.
        in_forum = {i.id for i in db.ideas.values() if i.forum_id == forum.id}
        involved = {i.author_id for i in db.ideas.values() if i.forum_id == forum.id}
        involved |= {u for i, u in db.votes if i in in_forum}
        involved |= {c.author_id for c in db.comments.values() if c.idea_id in in_forum}
        involved |= {u for i, u in db.watches if i in in_forum}
        invited = {e for f, e in db.invitations if f == forum.id}
        involved |= {u.id for u in db.users.values() if u.email in invited}
        return _viewers(db, forum, lambda u: u.id in involved)

    async def viewers_with_emails(self, forum: Forum, emails: list[str]) -> list[Viewer]:
        wanted = set(emails)
        return _viewers(self._tx.read(), forum, lambda u: u.email in wanted)


def _viewers(db: Tables, forum: Forum, which: Callable[[User], bool]) -> list[Viewer]:
    """These users as viewers of the forum, by id (the SQL adapter leaves the order open)."""
    return [
        Viewer(
            user,
            db.staff.get((forum.vendor_id, user.id)),
            (forum.id, user.email) in db.invitations,
        )
        for user in sorted(db.users.values(), key=lambda u: u.id)
        if which(user)
    ]


# The sort key of each order given an idea's counters as of the walk's snapshot, compared
# descending; each ends in the unique id, as in SQL.
def _sort_key(sort: Sort, idea: Idea, votes: int, heat: float) -> tuple[Any, ...]:
    if sort is Sort.TOP:
        return (votes, idea.created_at, idea.id)
    if sort is Sort.NEW:
        return (idea.created_at, idea.id)
    return (heat, idea.id)


# As adapters/sql/repositories.py: a `top` or `trending` cursor starts with the idea_moves seq
# its walk is pinned to; a search cursor is (relevance, id).
_CURSOR_SHAPES: dict[Sort, tuple[type, ...]] = {
    Sort.TOP: (int, int, str, str),
    Sort.NEW: (str, str),
    Sort.TRENDING: (int, float, str),
}
_SEARCH_CURSOR = (float, str)
MOVES_MAX = 10_000  # counter moves since a walk began before its cursor is refused as stale
SIMILAR_THRESHOLD = 0.3  # pg_trgm's default similarity threshold, as in SQL


def _bound(sort: Sort, after: Key) -> tuple[Any, ...]:
    """The sort key a cursor (less its snapshot) names; raise InvalidField for a foreign one."""
    if sort is Sort.TOP:
        return (after[0], cursor_time(after[1]), after[2])
    if sort is Sort.NEW:
        return (cursor_time(after[0]), after[1])
    return (float(after[0]), after[1])


def _cursor_values(key: tuple[Any, ...]) -> Key:
    return [v.isoformat() if isinstance(v, datetime) else v for v in key]


def _moved_since(
    db: Tables, forum_id: ForumId, snapshot: int | None
) -> dict[str, tuple[int, float]]:
    """The counters, as of the snapshot, of the forum's ideas that moved after it."""
    if snapshot is None:
        return {}
    moves = [m for m in db.idea_moves if m.forum_id == forum_id and m.seq > snapshot]
    if len(moves) > MOVES_MAX:
        raise InvalidField("cursor", "This list has changed a lot since; start again.")
    first: dict[str, tuple[int, float]] = {}
    for m in moves:
        first.setdefault(m.idea_id, (m.votes, m.heat))
    return first


def _view(db: Tables, idea: Idea, viewer_id: UserId | None) -> IdeaView:
    voted = viewer_id is not None and (idea.id, viewer_id) in db.votes
    watching = viewer_id is not None and db.watches.get((idea.id, viewer_id), False)
    return IdeaView(idea, Author(idea.author_id, db.users[idea.author_id].name), voted, watching)


def _listed(db: Tables, query: IdeaQuery) -> list[Idea]:
    """The forum's ideas a list shows, before any text or cursor: unmerged and published.

    The SQL adapter's search path (`_search`) and `similar` leave out the moderation filter
    its plain list has; the fake keeps held and rejected ideas out of all three.
    """
    return [
        i
        for i in db.ideas.values()
        if i.forum_id == query.forum_id
        and i.merged_into is None
        and i.is_published
        and (query.status is None or i.status is query.status)
    ]


class InMemoryIdeaRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, idea: Idea) -> None:
        # Counters start at zero whatever the idea says: they only move with their rows.
        idea = replace(
            idea,
            votes=0,
            comments=0,
            created_at=utc(idea.created_at),
            updated_at=utc(idea.updated_at),
        )

        def insert(db: Tables) -> None:
            require(idea.id not in db.ideas, "duplicate idea id")
            require(idea.forum_id in db.forums, "idea in an unknown forum")
            require(idea.author_id in db.users, "idea by an unknown user")
            db.ideas[idea.id] = idea
            db.heat[idea.id] = 0.0

        self._tx.write(insert)

    async def get(self, idea_id: IdeaId) -> Idea | None:
        return self._tx.read().ideas.get(idea_id)

    async def opened(
        self, idea_id: IdeaId, viewer_id: UserId | None, *, lock: bool = False
    ) -> OpenedIdea | None:
        # No lock to take: blocks of this unit of work run one at a time.
        db = self._tx.read()
        idea = db.ideas.get(idea_id)
        forum = db.forums.get(idea.forum_id) if idea else None
        if idea is None or forum is None or not forum_is_live(db, forum.id):
            return None
        user = db.users.get(viewer_id) if viewer_id is not None else None
        seen = (user, db.staff.get((forum.vendor_id, user.id))) if user else None
        return OpenedIdea(idea, forum, seen)

    async def set_status(self, idea: Idea) -> None:
        def update(db: Tables) -> None:
            if idea.id in db.ideas:
                db.ideas[idea.id] = replace(
                    db.ideas[idea.id], status=idea.status, updated_at=utc(idea.updated_at)
                )

        self._tx.write(update)

    async def forget_description(self, idea_id: IdeaId) -> None:
        def update(db: Tables) -> None:
            if idea_id in db.ideas:
                db.ideas[idea_id] = replace(db.ideas[idea_id], description="")

        self._tx.write(update)

    async def view(self, idea_id: IdeaId, viewer_id: UserId | None) -> IdeaView | None:
        db = self._tx.read()
        idea = db.ideas.get(idea_id)
        return _view(db, idea, viewer_id) if idea is not None else None

    async def list(self, query: IdeaQuery, viewer_id: UserId | None) -> Page[IdeaView]:
        terms = parse_query(query.text or "")
        if terms:
            return self._search(query, terms, viewer_id)
        db = self._tx.read()
        after = decode_cursor(query.after, _CURSOR_SHAPES[query.sort]) if query.after else None
        snapshot: int | None = None
        if query.sort is not Sort.NEW:
            latest = db.idea_moves[-1].seq if db.idea_moves else 0
            snapshot = int(after.pop(0)) if after else latest
        as_of = _moved_since(db, query.forum_id, snapshot)
        bound = _bound(query.sort, after) if after else None
        keyed: list[tuple[tuple[Any, ...], Idea]] = []
        for idea in _listed(db, query):
            votes, heat = as_of.get(idea.id, (idea.votes, db.heat[idea.id]))
            key = _sort_key(query.sort, idea, votes, heat)
            if bound is None or key < bound:
                keyed.append((key, idea))
        keyed.sort(key=lambda ki: ki[0], reverse=True)
        items = [_view(db, i, viewer_id) for _, i in keyed[: query.limit]]
        next_cursor = None
        if len(keyed) > query.limit:
            last = _cursor_values(keyed[query.limit - 1][0])
            next_cursor = encode_cursor(last if snapshot is None else [snapshot, *last])
        return Page(items, next_cursor)

    async def marks(
        self, asked: Sequence[tuple[UserId, Sequence[IdeaId]]]
    ) -> builtins.list[dict[IdeaId, Marks]]:
        db = self._tx.read()
        return [
            {
                idea.id: Marks(
                    idea.votes,
                    idea.comments,
                    (idea.id, viewer_id) in db.votes,
                    db.watches.get((idea.id, viewer_id), False),
                )
                for idea in (db.ideas[i] for i in idea_ids if i in db.ideas)
            }
            for viewer_id, idea_ids in asked
        ]

    def _search(
        self, query: IdeaQuery, terms: tuple[Term, ...], viewer_id: UserId | None
    ) -> Page[IdeaView]:
        """Matching ideas, most relevant first; the cursor is keyset on (relevance, id)."""
        db = self._tx.read()
        scored: list[tuple[float, str, Idea]] = []
        for idea in _listed(db, query):
            words = words_of(idea.summary)
            if matches(terms, words):
                score = relevance(terms, words) * vote_boost(idea.votes)
                scored.append((score, idea.id, idea))
        if query.after:
            after_score, after_id = decode_cursor(query.after, _SEARCH_CURSOR)
            bound = (float(after_score), str(after_id))
            scored = [s for s in scored if (s[0], s[1]) < bound]
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        items = [_view(db, i, viewer_id) for _, _, i in scored[: query.limit]]
        next_cursor = None
        if len(scored) > query.limit:
            score, idea_id, _ = scored[query.limit - 1]
            next_cursor = encode_cursor([score, idea_id])
        return Page(items, next_cursor)

    async def similar(
        self, forum_id: ForumId, text: str, viewer_id: UserId | None, limit: int
    ) -> builtins.list[IdeaView]:
        """As SQL: trigram similarity of 0.3 or every word makes a candidate; the score is the
        similarity plus a word rank in [0, 1); best `limit` by score, votes, id, then by id."""
        db = self._tx.read()
        terms = tuple(t for t in parse_query(text) if not t.negated)
        scored: list[tuple[float, Idea]] = []
        for idea in _listed(db, IdeaQuery(forum_id)):
            words = words_of(idea.summary)
            similarity = trigram_similarity(idea.summary, text)
            if similarity >= SIMILAR_THRESHOLD or (terms and matches(terms, words)):
                scored.append((similarity + any_word_rank(terms, words), idea))
        scored.sort(key=lambda s: (-s[0], -s[1].votes, s[1].id))
        best = sorted(scored[:limit], key=lambda s: (-s[0], s[1].id))
        return [_view(db, i, viewer_id) for _, i in best]


class InMemoryVoteRepository:
    def __init__(self, tx: Transaction, half_life_days: float) -> None:
        self._tx = tx
        self._half_life = half_life_days

    async def add(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> bool:
        weight = heat_of(at, self._half_life)

        def insert(db: Tables) -> bool:
            require(idea_id in db.ideas, "vote for an unknown idea")
            require(user_id in db.users, "vote by an unknown user")
            if (idea_id, user_id) in db.votes:
                return False
            db.votes[idea_id, user_id] = utc(at)
            move_counters(db, idea_id, votes=1, heat=weight)
            return True

        return self._tx.write(insert)

    async def remove(self, idea_id: IdeaId, user_id: UserId) -> bool:
        def delete(db: Tables) -> bool:
            cast_at = db.votes.pop((idea_id, user_id), None)
            if cast_at is None:
                return False
            move_counters(db, idea_id, votes=-1, heat=-heat_of(cast_at, self._half_life))
            return True

        return self._tx.write(delete)

    async def cast(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> IdeaView | None:
        await self.add(idea_id, user_id, at)
        return await InMemoryIdeaRepository(self._tx).view(idea_id, user_id)

    async def withdraw(self, idea_id: IdeaId, user_id: UserId) -> IdeaView | None:
        await self.remove(idea_id, user_id)
        return await InMemoryIdeaRepository(self._tx).view(idea_id, user_id)

    async def cast_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId, at: datetime
    ) -> IdeaView | None:
        if not self._still_as_judged(idea, forum, user_id):
            return None
        return await self.cast(idea.id, user_id, at)

    async def withdraw_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId
    ) -> IdeaView | None:
        if not self._still_as_judged(idea, forum, user_id):
            return None
        return await self.withdraw(idea.id, user_id)

    def _still_as_judged(self, idea: Idea, forum: Forum, user_id: UserId) -> bool:
        db = self._tx.read()
        now = db.ideas.get(idea.id)
        forum_now = db.forums.get(forum.id)
        return (
            now is not None
            and forum_now is not None
            and judgement_holds(idea, forum, now, forum_now)
            and forum_is_live(db, forum.id)
            and user_id in db.users
        )


class InMemoryWatchRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def set(self, idea_id: IdeaId, user_id: UserId, watching: bool) -> None:
        def upsert(db: Tables) -> None:
            require(idea_id in db.ideas and user_id in db.users, "watch of an unknown row")
            db.watches[idea_id, user_id] = watching

        self._tx.write(upsert)

    async def start(self, idea_id: IdeaId, user_id: UserId) -> None:
        def insert(db: Tables) -> None:
            require(idea_id in db.ideas and user_id in db.users, "watch of an unknown row")
            db.watches.setdefault((idea_id, user_id), True)

        self._tx.write(insert)

    async def watched_by(self, user_id: UserId) -> list[Idea]:
        db = self._tx.read()
        ideas = [
            db.ideas[idea_id]
            for (idea_id, watcher), watching in db.watches.items()
            if watcher == user_id and watching and forum_is_live(db, db.ideas[idea_id].forum_id)
        ]
        ideas.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        return ideas[:WATCHED_MAX]

    async def watchers(self, idea_id: IdeaId) -> list[UserId]:
        watches = self._tx.read().watches
        return sorted(u for (i, u), watching in watches.items() if i == idea_id and watching)

    async def is_watching(self, idea_id: IdeaId, user_id: UserId) -> bool:
        return self._tx.read().watches.get((idea_id, user_id), False)


class InMemoryCommentRepository:
    def __init__(self, tx: Transaction, half_life_days: float) -> None:
        self._tx = tx
        self._half_life = half_life_days

    async def add(self, comment: Comment, at: datetime) -> None:
        comment = replace(comment, created_at=utc(comment.created_at))
        weight = COMMENT_WEIGHT * heat_of(at, self._half_life)

        def insert(db: Tables) -> None:
            require(comment.id not in db.comments, "duplicate comment id")
            require(comment.idea_id in db.ideas, "comment on an unknown idea")
            require(comment.author_id in db.users, "comment by an unknown user")
            db.comments[comment.id] = comment
            if comment.moderation is not Moderation.PUBLISHED:
                return  # counted when it is approved
            move_counters(db, comment.idea_id, comments=1, heat=weight)

        self._tx.write(insert)

    async def list(
        self, idea_id: IdeaId, limit: int, after: str | None, viewer_id: UserId | None = None
    ) -> Page[CommentView]:
        db = self._tx.read()
        comments = [
            c
            for c in db.comments.values()
            if c.idea_id == idea_id
            and (
                c.moderation is Moderation.PUBLISHED
                or (
                    c.moderation is Moderation.HELD
                    and viewer_id is not None
                    and c.author_id == viewer_id
                )
            )
        ]
        if after:
            at, last_id = decode_cursor(after, (str, str))
            bound = (cursor_time(at), str(last_id))
            comments = [c for c in comments if (c.created_at, c.id) > bound]
        comments.sort(key=lambda c: (c.created_at, c.id))
        rows = comments[: limit + 1]
        items = [
            CommentView(c, Author(c.author_id, db.users[c.author_id].name)) for c in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1].comment
            next_cursor = encode_cursor([last.created_at.isoformat(), last.id])
        return Page(items, next_cursor)

    async def get(self, comment_id: CommentId) -> Comment | None:
        return self._tx.read().comments.get(comment_id)


class InMemoryParticipantRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, idea_id: IdeaId, user_id: UserId, added_by: UserId, at: datetime) -> bool:
        def insert(db: Tables) -> bool:
            require(idea_id in db.ideas, "participant of an unknown idea")
            require(user_id in db.users and added_by in db.users, "participant of an unknown user")
            if (idea_id, user_id) in db.participants:
                return False
            db.participants[idea_id, user_id] = (added_by, utc(at))
            return True

        return self._tx.write(insert, atomic=True)


class InMemoryInboundLog:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def first_sighting(self, message_id: str, at: datetime) -> bool:
        def insert(db: Tables) -> bool:
            if message_id in db.inbound_messages:
                return False
            db.inbound_messages[message_id] = utc(at)
            return True

        return self._tx.write(insert, atomic=True)


class InMemoryOutbox:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, notification: Notification) -> None:
        notification = replace(
            notification,
            created_at=utc(notification.created_at),
            payload=dict(notification.payload),
        )

        def insert(db: Tables) -> None:
            require(notification.id not in db.outbox, "duplicate notification id")
            db.outbox[notification.id] = notification
            db.deliveries[notification.id] = Delivery(
                DeliveryState.PENDING, 0, notification.created_at
            )

        self._tx.write(insert)

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        # The rows are chosen once, when the statement runs; the commit claims those again,
        # and a row another worker claimed meanwhile makes it raise LostRace.
        chosen: list[str] | None = None

        def claim(db: Tables) -> list[Claim]:
            nonlocal chosen
            if chosen is None:
                chosen = [
                    k
                    for _, k in sorted(
                        (d.due_at, k)
                        for k, d in db.deliveries.items()
                        if d.state is DeliveryState.PENDING and d.due_at <= now
                    )[:limit]
                ]
            claims = []
            for k in chosen:
                found = db.deliveries.get(k)
                if found is None or found.state is not DeliveryState.PENDING or found.due_at > now:
                    continue
                taken = replace(found, due_at=utc(lease_until), attempts=found.attempts + 1)
                db.deliveries[k] = taken
                claims.append(Claim(db.outbox[k], taken.attempts))
            claims.sort(key=lambda c: (c.notification.created_at, c.notification.id))
            return claims

        return self._tx.write(claim, atomic=True)

    async def finish(
        self, notification: Notification, state: DeliveryState, at: datetime, error: str = ""
    ) -> bool:
        def update(db: Tables) -> bool:
            found = db.deliveries.get(notification.id)
            if notification.id not in db.outbox or found is None:
                return False
            if found.state is not DeliveryState.PENDING:
                return False
            # The payload is the caller's notification's, as in the SQL adapter, less secrets.
            db.outbox[notification.id] = replace(
                db.outbox[notification.id], payload=notification.without_secrets()
            )
            db.deliveries[notification.id] = replace(
                found, state=state, done_at=utc(at), last_error=error or None
            )
            return True

        return self._tx.write(update, atomic=True)

    async def retry_at(self, notification_id: str, due_at: datetime, error: str) -> None:
        def update(db: Tables) -> None:
            found = db.deliveries.get(notification_id)
            if found is None or found.state is not DeliveryState.PENDING:
                return
            db.deliveries[notification_id] = replace(found, due_at=utc(due_at), last_error=error)

        self._tx.write(update)

    async def deliveries(
        self,
        forum_id: ForumId,
        state: DeliveryState | None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[DeliveryRecord]:
        db = self._tx.read()
        records = []
        for n in db.outbox.values():
            idea = db.ideas.get(n.idea_id) if n.idea_id is not None else None
            delivery = db.deliveries[n.id]
            if n.recipient_id is None or idea is None or idea.forum_id != forum_id:
                continue
            if state is not None and delivery.state is not state:
                continue
            # The recipient's email is left out once their account is gone, as an outer join.
            recipient = db.users.get(n.recipient_id)
            records.append(
                DeliveryRecord(
                    id=n.id,
                    kind=n.kind.value,
                    recipient_id=n.recipient_id,
                    recipient_email=recipient.email if recipient is not None else None,
                    idea_id=idea.id,
                    state=delivery.state.value,
                    attempts=delivery.attempts,
                    last_error=delivery.last_error,
                    created_at=n.created_at,
                    done_at=delivery.done_at,
                )
            )
        records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        if before is not None:
            records = [r for r in records if (r.created_at, r.id) < (utc(before[0]), before[1])]
        return records[:limit]

    async def stats(self, now: datetime) -> OutboxStats:
        deliveries = self._tx.read().deliveries.values()
        due = [d.due_at for d in deliveries if d.state is DeliveryState.PENDING and d.due_at <= now]
        return OutboxStats(
            by_state=dict(Counter(d.state.value for d in deliveries)),
            due=len(due),
            oldest_due_at=min(due, default=None),
        )


class InMemoryTokenRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, token: OneTimeToken) -> None:
        def insert(db: Tables) -> None:
            require(token.token_hash not in db.tokens, "duplicate token hash")
            require(token.user_id in db.users, "token of an unknown user")
            db.tokens[token.token_hash] = (token, None)

        self._tx.write(insert)

    async def use(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        def use(db: Tables) -> UserId | None:
            found = db.tokens.get(token_hash)
            if found is None:
                return None
            token, used_at = found
            if used_at is not None or token.purpose is not purpose or token.expires_at <= now:
                return None
            db.tokens[token_hash] = (token, now)
            return token.user_id

        return self._tx.write(use, atomic=True)

    async def sweep(self, now: datetime) -> int:
        def sweep(db: Tables) -> int:
            dead = [k for k, (tok, used) in db.tokens.items() if used or tok.expires_at <= now]
            for k in dead:
                del db.tokens[k]
            return len(dead)

        return self._tx.write(sweep)


class InMemoryRateLimitRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def hit(self, key: str, now: datetime, window_seconds: int) -> tuple[int, datetime]:
        def hit(db: Tables) -> tuple[int, datetime]:
            hits, start = db.rate_limits.get(key, (0, now))
            if start <= now - timedelta(seconds=window_seconds):
                hits, start = 0, now
            db.rate_limits[key] = (hits + 1, start)
            return hits + 1, start

        return self._tx.write(hit)

    async def sweep(self, before: datetime) -> int:
        def sweep(db: Tables) -> int:
            dead = [k for k, (_, start) in db.rate_limits.items() if start < before]
            for k in dead:
                del db.rate_limits[k]
            return len(dead)

        return self._tx.write(sweep)


class InMemorySignInFlowRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, flow: SignInFlow) -> None:
        flow = replace(flow, expires_at=utc(flow.expires_at))

        def insert(db: Tables) -> None:
            require(flow.state_hash not in db.sign_in_flows, "duplicate sign-in state")
            db.sign_in_flows[flow.state_hash] = flow

        self._tx.write(insert)

    async def take(self, state_hash: str, now: datetime) -> SignInFlow | None:
        def take(db: Tables) -> SignInFlow | None:
            # Taken even when expired, as the SQL adapter's DELETE … RETURNING does.
            flow = db.sign_in_flows.pop(state_hash, None)
            return flow if flow is not None and flow.expires_at > now else None

        return self._tx.write(take, atomic=True)

    async def sweep(self, now: datetime) -> int:
        def sweep(db: Tables) -> int:
            dead = [k for k, flow in db.sign_in_flows.items() if flow.expires_at <= now]
            for k in dead:
                del db.sign_in_flows[k]
            return len(dead)

        return self._tx.write(sweep)


class InMemoryUnitOfWork:
    """One transaction over the store; leaving the block without commit() rolls it back."""

    # Typed as the ports, as the UnitOfWork protocol's attributes are: mutable attributes
    # must match exactly for mypy to accept this class as a UnitOfWork.
    users: UserRepository
    sessions: SessionRepository
    vendors: VendorRepository
    forums: ForumRepository
    ideas: IdeaRepository
    votes: VoteRepository
    watches: WatchRepository
    comments: CommentRepository
    participants: ParticipantRepository
    inbound: InboundLog
    merges: MergeRepository
    outbox: Outbox
    rate_limits: RateLimitRepository
    tokens: TokenRepository
    tracker: TrackerRepository
    sign_in_flows: SignInFlowRepository
    moderation: ModerationRepository
    retention: RetentionRepository

    def __init__(
        self, store: InMemoryStore, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    ) -> None:
        self.store = store
        # Whether the last block opened on this unit of work committed.
        self.committed = False
        self._half_life = half_life_days
        self._tx: Transaction | None = None

    async def __aenter__(self) -> Self:
        if self._tx is not None:
            raise RuntimeError("this unit of work is open already")
        tx = Transaction(self.store.tables.copy())
        self._tx = tx
        self.committed = False
        self.users = InMemoryUserRepository(tx)
        self.sessions = InMemorySessionRepository(tx)
        self.vendors = InMemoryVendorRepository(tx)
        self.forums = InMemoryForumRepository(tx)
        self.ideas = InMemoryIdeaRepository(tx)
        self.votes = InMemoryVoteRepository(tx, self._half_life)
        self.watches = InMemoryWatchRepository(tx)
        self.comments = InMemoryCommentRepository(tx, self._half_life)
        self.participants = InMemoryParticipantRepository(tx)
        self.inbound = InMemoryInboundLog(tx)
        self.merges = InMemoryMergeRepository(tx, self._half_life)
        self.outbox = InMemoryOutbox(tx)
        self.rate_limits = InMemoryRateLimitRepository(tx)
        self.tokens = InMemoryTokenRepository(tx)
        self.tracker = InMemoryTrackerRepository(tx)
        self.sign_in_flows = InMemorySignInFlowRepository(tx)
        self.moderation = InMemoryModerationRepository(tx)
        self.retention = InMemoryRetentionRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.is_open = False

    def _open(self) -> Transaction:
        if self._tx is None:
            raise RuntimeError("the unit of work is used outside 'async with uow'")
        return self._tx

    async def ping(self) -> None:
        self._open()

    def read_only(self) -> Self:
        """A snapshot of the store either way: reading needs nothing else here."""
        return self

    async def commit(self) -> None:
        tx = self._open()
        tables = self.store.tables.copy()
        for change in tx.journal:
            change(tables)
        self.store.tables = tables
        # Like a connection after COMMIT: what follows in the block is a new transaction.
        tx.tables = tables.copy()
        tx.journal.clear()
        self.committed = True


if TYPE_CHECKING:
    # Nothing in src/ hands this class to a use case, and mypy does not read tests/: this makes
    # it check the fake against the whole UnitOfWork port on every run.
    _is_a_unit_of_work: type[UnitOfWork] = InMemoryUnitOfWork
