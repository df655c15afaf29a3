"""Ports: what the use cases need from the world, as Protocols. Adapters satisfy them."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from customercase.domain.avatars import Picture
from customercase.domain.ideas import Comment, CommentView, Idea, IdeaQuery, IdeaView, Page
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.notifications import Notification
from customercase.domain.spam import Case, CaseState, Moderation, Standing, Submission, Verdict
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
        """One keyset page of a forum's ideas; raise InvalidField for a foreign cursor."""
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


class CommentRepository(Protocol):
    async def add(self, comment: Comment, at: datetime) -> None:
        """Store the comment and move the idea's counters with it."""
        ...

    async def list(
        self, idea_id: IdeaId, limit: int, after: str | None, viewer_id: UserId | None = None
    ) -> Page[CommentView]:
        """One page of the idea's published comments and the viewer's own held ones, oldest
        first; raise InvalidField for a bad cursor."""
        ...


class Outbox(Protocol):
    async def add(self, notification: Notification) -> None:
        """Queue the notification, in the caller's transaction, for the worker to deliver."""
        ...


class SpamFilter(Protocol):
    async def check(self, submission: Submission) -> Verdict:
        """Judge a new post; Verdict.UNKNOWN when the filter cannot be asked (never raises)."""
        ...

    async def report_spam(self, submission: Submission) -> None:
        """Tell the filter it let this spam through; a failure is logged, never raised."""
        ...

    async def report_ham(self, submission: Submission) -> None:
        """Tell the filter this post it took for spam is not; a failure is logged, never raised."""
        ...


class ModerationRepository(Protocol):
    async def add(self, case: Case) -> None:
        """Open a case on a held post, or on one published unchecked."""
        ...

    async def get(self, post_id: str) -> Case | None:
        """The case on this idea or comment, or None."""
        ...

    async def held_in(self, forum_id: ForumId, limit: int) -> list[Case]:
        """The forum's posts waiting for staff, oldest first."""
        ...

    async def due_rechecks(self, limit: int) -> list[Case]:
        """Posts published while the spam filter was unreachable, oldest first."""
        ...

    async def close(self, post_id: str, state: CaseState) -> None:
        """Record how the case ended (or that a re-checked post is now held)."""
        ...

    async def set_idea_moderation(self, idea_id: IdeaId, moderation: Moderation) -> None:
        """Publish, hold or reject an idea."""
        ...

    async def set_comment_moderation(self, comment_id: CommentId, moderation: Moderation) -> None:
        """Publish, hold or reject a comment, moving its idea's comment count with it."""
        ...

    async def comment(self, comment_id: CommentId) -> Comment | None:
        """The comment with this id, whatever its moderation, or None."""
        ...

    async def has_published(self, forum_id: ForumId, user_id: UserId) -> bool:
        """Whether the user has a published idea or comment in the forum."""
        ...

    async def standing(self, vendor_id: VendorId, user_id: UserId) -> Standing | None:
        """Whether the vendor's staff trusted or blocked the user; None if neither."""
        ...

    async def set_standing(self, vendor_id: VendorId, user_id: UserId, standing: Standing) -> None:
        """Trust or block the user in all the vendor's forums."""
        ...


class Avatars(Protocol):
    async def picture(self, email: str) -> Picture | None:
        """The picture the person chose for this email; None if they have none or it cannot
        be fetched now (never raises)."""
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
    outbox: Outbox
    moderation: ModerationRepository

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
