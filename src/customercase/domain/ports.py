"""Ports: what the use cases need from the world, as Protocols. Adapters satisfy them."""

from __future__ import annotations

import builtins
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from customercase.domain.ideas import Comment, CommentView, Idea, IdeaQuery, IdeaView, Page
from customercase.domain.ids import ForumId, IdeaId, UserId, VendorId
from customercase.domain.notifications import Notification
from customercase.domain.users import Session, User
from customercase.domain.vendors import Forum, Role, Vendor


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Ids(Protocol):
    def new_id(self) -> str:
        """A fresh opaque identifier, unique across every table."""
        ...

    def new_token(self) -> str:
        """A fresh secret of 256 random bits, URL-safe."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """A salted one-way hash of the password, computed off the event loop."""
        ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; costs one full verify even for a missing hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than today's."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raise EmailTaken if the email is in use."""
        ...

    async def get(self, user_id: UserId) -> User | None:
        """The user with this id, or None."""
        ...

    async def by_email(self, email: str) -> User | None:
        """The user with this normalised email, or None."""
        ...

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        """Replace the user's password hash."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None:
        """Store a new session."""
        ...

    async def get(self, token_hash: str) -> Session | None:
        """The session stored under this token hash, or None."""
        ...

    async def touch(self, token_hash: str, now: datetime) -> None:
        """Record activity on the session, postponing its idle timeout."""
        ...

    async def delete(self, token_hash: str) -> None:
        """End one session; a missing one is not an error."""
        ...


class VendorRepository(Protocol):
    async def add(self, vendor: Vendor) -> None:
        """Store a new vendor; raise SlugTaken if the slug is in use."""
        ...

    async def get(self, vendor_id: VendorId) -> Vendor | None:
        """The vendor with this id, or None."""
        ...

    async def add_staff(self, vendor_id: VendorId, user_id: UserId, role: Role) -> None:
        """Make the user staff of the vendor in the given role."""
        ...

    async def role_of(self, vendor_id: VendorId, user_id: UserId) -> Role | None:
        """The user's role at the vendor, or None for a non-staff user."""
        ...


class ForumRepository(Protocol):
    async def add(self, forum: Forum) -> None:
        """Store a new forum; raise SlugTaken if its slug is in use at the vendor."""
        ...

    async def get(self, forum_id: ForumId) -> Forum | None:
        """The forum with this id, or None."""
        ...

    async def update(self, forum: Forum) -> None:
        """Store the forum's changed settings; raise SlugTaken if its new slug is in use."""
        ...

    async def invite(self, forum_id: ForumId, emails: list[str]) -> None:
        """Admit these normalised emails to the forum; repeats are no-ops."""
        ...

    async def is_invited(self, forum_id: ForumId, email: str) -> bool:
        """Whether the normalised email was invited to the forum."""
        ...


class IdeaRepository(Protocol):
    async def add(self, idea: Idea) -> None:
        """Store a new idea."""
        ...

    async def get(self, idea_id: IdeaId) -> Idea | None:
        """The idea with this id, or None."""
        ...

    async def set_status(self, idea: Idea) -> None:
        """Store the idea's status and updated time."""
        ...

    async def view(self, idea_id: IdeaId, viewer_id: UserId | None) -> IdeaView | None:
        """The idea as this viewer sees it, or None."""
        ...

    async def list(self, query: IdeaQuery, viewer_id: UserId | None) -> Page[IdeaView]:
        """One keyset page of a forum's ideas (ranked by relevance when the query has text);
        raise InvalidField for a foreign cursor."""
        ...

    async def similar(
        self, forum_id: ForumId, text: str, viewer_id: UserId | None, limit: int
    ) -> builtins.list[IdeaView]:
        """The forum's unmerged ideas most like the text (trigrams and words), best first."""
        ...


class VoteRepository(Protocol):
    async def add(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> bool:
        """Record the vote and move the idea's counters with it; False if it was there."""
        ...

    async def remove(self, idea_id: IdeaId, user_id: UserId) -> bool:
        """Withdraw the vote and move the idea's counters with it; False if there was none."""
        ...


class WatchRepository(Protocol):
    async def set(self, idea_id: IdeaId, user_id: UserId, watching: bool) -> None:
        """Record the user's explicit choice to watch the idea or not."""
        ...

    async def start(self, idea_id: IdeaId, user_id: UserId) -> None:
        """Watch on the user's behalf, unless they chose to stop watching before."""
        ...

    async def watched_by(self, user_id: UserId) -> list[Idea]:
        """The ideas the user watches, newest first."""
        ...

    async def watchers_of(self, idea_id: IdeaId) -> list[UserId]:
        """The users watching the idea now, each once."""
        ...


class MergeRepository(Protocol):
    async def merge(self, source: Idea, target: Idea, by: UserId, at: datetime) -> None:
        """Move the source's votes (one per user), comments and watches to the target, record
        exactly what moved, keep the counters equal to the rows, mark the source merged."""
        ...

    async def unmerge(self, source: Idea) -> None:
        """Put back what the source's merge moved (what still exists), counters with it."""
        ...


class CommentRepository(Protocol):
    async def add(self, comment: Comment, at: datetime) -> None:
        """Store the comment and move the idea's counters with it."""
        ...

    async def list(self, idea_id: IdeaId, limit: int, after: str | None) -> Page[CommentView]:
        """One page of the idea's comments, oldest first; raise InvalidField for a bad cursor."""
        ...


class Outbox(Protocol):
    async def add(self, notification: Notification) -> None:
        """Queue the notification, in the caller's transaction, for the worker to deliver."""
        ...


class UnitOfWork(Protocol):
    users: UserRepository
    sessions: SessionRepository
    vendors: VendorRepository
    forums: ForumRepository
    ideas: IdeaRepository
    votes: VoteRepository
    watches: WatchRepository
    comments: CommentRepository
    merges: MergeRepository
    outbox: Outbox

    async def __aenter__(self) -> Self:
        """Begin a transaction."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End the transaction, rolling back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Make the transaction's changes durable."""
        ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        ...
