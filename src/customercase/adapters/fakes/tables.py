"""The in-memory database under the fake unit of work: its tables, and the transaction over them.

Transactions: `InMemoryStore` is the database, shared by any number of `InMemoryUnitOfWork`s. A
unit of work reads a snapshot taken when its block opens, plus its own writes. Each write is also
kept in a journal; `commit()` replays the journal on the store's latest state, so two units of
work that interleave both land, with counters moved relative to what the other committed, as
row-level updates would in the database; a clash with what the other committed (the same email)
raises from `commit()` here, where the database would raise it from the write. A write whose
answer the caller acts on (claiming outbox rows, using a token, taking a sign-in flow or a sync
lease, a first sighting) is journalled as atomic: if the replay answers differently, because
another unit of work took the row first, `commit()` raises `LostRace`. Leaving the block without
`commit()` drops the journal.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TypeVar

from customercase.domain.ideas import Comment, Idea
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Notification
from customercase.domain.spam import Case, Standing
from customercase.domain.tracker import TrackerConnection
from customercase.domain.users import OneTimeToken, Session, SignInFlow, User
from customercase.domain.vendors import Forum, Role, Vendor

T = TypeVar("T")


class ConstraintViolated(Exception):
    """A write the database would refuse with an IntegrityError the SQL adapter lets through."""


class LostRace(Exception):
    """Raised from commit() when an atomic write (a claim, a token's use, a lease) would answer
    differently on what another unit of work committed meanwhile: the database would have made
    this caller wait and told it so; the fake can only refuse the late commit."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The worker's columns of an outbox row: its state, tries, when it is due, how it ended."""

    state: DeliveryState
    attempts: int
    due_at: datetime
    done_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """A row of tracker_sync: how far the sync read a forum's project, and who holds its lease."""

    cursor: datetime | None = None
    lease_holder: str | None = None
    lease_until: datetime | None = None
    synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """A row of idea_moves: an idea's counters just before one change of them."""

    seq: int
    idea_id: IdeaId
    forum_id: ForumId
    votes: int
    heat: float


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A row of merges: where an idea went, and its counters just before."""

    into_id: IdeaId
    merged_by: UserId
    merged_at: datetime
    votes: int
    comments: int
    heat: float


@dataclass(frozen=True, slots=True)
class Moved:
    """A row of merge_moves past its key: when the vote or comment was made, the watch's choice."""

    created_at: datetime | None = None
    watching: bool | None = None


@dataclass
class Tables:
    """Every table of the schema, as dicts keyed by primary key. Rows are frozen values."""

    users: dict[UserId, User] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    vendors: dict[VendorId, Vendor] = field(default_factory=dict)
    # The `deleted_at` column of vendors, for those deleted and not yet purged.
    deleted_vendors: dict[VendorId, datetime] = field(default_factory=dict)
    staff: dict[tuple[VendorId, UserId], Role] = field(default_factory=dict)
    forums: dict[ForumId, Forum] = field(default_factory=dict)
    invitations: set[tuple[ForumId, str]] = field(default_factory=set)
    ideas: dict[IdeaId, Idea] = field(default_factory=dict)
    # The `heat` column of ideas, which the domain's Idea does not carry.
    heat: dict[IdeaId, float] = field(default_factory=dict)
    votes: dict[tuple[IdeaId, UserId], datetime] = field(default_factory=dict)
    comments: dict[CommentId, Comment] = field(default_factory=dict)
    watches: dict[tuple[IdeaId, UserId], bool] = field(default_factory=dict)
    # Queued notifications in the order they were written (payload secrets erased once
    # finished), and beside each, in `deliveries`, what the worker made of it.
    outbox: dict[str, Notification] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    # (idea, user) -> (added by, at)
    participants: dict[tuple[IdeaId, UserId], tuple[UserId, datetime]] = field(default_factory=dict)
    # inbound message id -> received at
    inbound_messages: dict[str, datetime] = field(default_factory=dict)
    # token hash -> (token, used at)
    tokens: dict[str, tuple[OneTimeToken, datetime | None]] = field(default_factory=dict)
    # rate-limit key -> (hits, window start)
    rate_limits: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    moderation_cases: dict[str, Case] = field(default_factory=dict)
    standings: dict[tuple[VendorId, UserId], Standing] = field(default_factory=dict)
    sign_in_flows: dict[str, SignInFlow] = field(default_factory=dict)
    # vendor -> (connection with its token sealed, updated at)
    jira_connections: dict[VendorId, tuple[TrackerConnection, datetime]] = field(
        default_factory=dict
    )
    tracker_sync: dict[ForumId, SyncProgress] = field(default_factory=dict)
    # webhook delivery id -> received at
    webhook_deliveries: dict[str, datetime] = field(default_factory=dict)
    # Every change of an idea's counters, oldest first (see move_counters).
    idea_moves: list[Move] = field(default_factory=list)
    merges: dict[IdeaId, MergeRecord] = field(default_factory=dict)
    # (merged idea, kind, ref) -> what moved; the kinds are those of adapters/sql/tables.py.
    merge_moves: dict[tuple[IdeaId, str, str], Moved] = field(default_factory=dict)

    def copy(self) -> Tables:
        """A copy whose tables can change without touching these; rows are shared, being frozen."""
        return Tables(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})


class InMemoryStore:
    """The fake database: the committed state that units of work over it share.

    Each commit puts a new `Tables` in `tables`, so read `store.tables` afresh after acting.
    """

    def __init__(self) -> None:
        self.tables = Tables()


def utc(when: datetime) -> datetime:
    # The SQL adapter hands every time back in UTC, whatever zone it was stored in.
    return when.astimezone(UTC)


class Transaction:
    """The snapshot a unit of work reads and writes, and the journal of its writes."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.journal: list[Callable[[Tables], object]] = []
        self.is_open = True

    def read(self) -> Tables:
        if not self.is_open:
            raise RuntimeError("repository used outside 'async with uow'")
        return self.tables

    def write(self, change: Callable[[Tables], T], *, atomic: bool = False) -> T:
        """Apply the change now, and again to the store on commit. It must check before it
        mutates, so that a change which raises leaves the tables as they were.

        `atomic`: the caller acts on the answer (a claimed row, a token's user, a first
        sighting), so on commit the change must answer the same again, or LostRace is raised.
        """
        result = change(self.read())
        if not atomic:
            self.journal.append(change)
            return result

        def again(db: Tables) -> T:
            if (replayed := change(db)) != result:
                raise LostRace(f"another unit of work committed first: {change.__qualname__}")
            return replayed

        self.journal.append(again)
        return result


def move_counters(
    db: Tables, idea_id: IdeaId, *, votes: int = 0, comments: int = 0, heat: float = 0.0
) -> None:
    """Move an idea's counters, first logging their values before the move in idea_moves, as
    the SQL adapter's `_move_counters` does (its seq never reused, so one more than the last)."""
    idea = db.ideas[idea_id]
    seq = db.idea_moves[-1].seq + 1 if db.idea_moves else 1
    db.idea_moves.append(Move(seq, idea_id, idea.forum_id, idea.votes, db.heat[idea_id]))
    db.ideas[idea_id] = replace(idea, votes=idea.votes + votes, comments=idea.comments + comments)
    db.heat[idea_id] += heat


def require(found: bool, what: str) -> None:
    if not found:
        raise ConstraintViolated(what)
