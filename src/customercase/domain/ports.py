"""Ports: what the use cases need from the world, as Protocols. Adapters satisfy them."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import NamedTuple, Protocol, Self

from customercase.domain.avatars import Picture
from customercase.domain.checks import Verification
from customercase.domain.ideas import (
    Comment,
    CommentView,
    Idea,
    IdeaQuery,
    IdeaView,
    Marks,
    Page,
)
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.mail import (
    DeliveryResult,
    DeliveryState,
    OutgoingEmail,
    Rendered,
    StoredEmail,
)
from customercase.domain.notifications import Claim, DeliveryRecord, Notification, OutboxStats
from customercase.domain.privacy import PersonalData
from customercase.domain.spam import Case, CaseState, Moderation, Standing, Submission, Verdict
from customercase.domain.tracker import (
    IssuePage,
    NewIssue,
    TrackerComment,
    TrackerConnection,
    TrackerEvent,
    TrackerIssue,
    TrackerUser,
)
from customercase.domain.users import (
    ExternalIdentity,
    OneTimeToken,
    Session,
    SignInFlow,
    TokenPurpose,
    User,
)
from customercase.domain.vendors import Forum, Role, Vendor, Viewer


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


class IssueTracker(Protocol):
    """One Jira site, as one account sees it."""

    async def myself(self) -> TrackerUser:
        """The account the credentials belong to; raise TrackerRejected if they are refused."""
        ...

    async def create_issue(self, issue: NewIssue) -> TrackerIssue:
        """File a new issue; raise TrackerRejected for a request that can never succeed."""
        ...

    async def find_labelled(self, project_key: str, label: str) -> TrackerIssue | None:
        """The issue of the project carrying this label, or None (guards create retries)."""
        ...

    async def add_comment(self, issue_key: str, body: str) -> TrackerComment:
        """Add a comment to the issue; raise TrackerRejected if the issue is gone."""
        ...

    async def get_description(self, issue_key: str) -> str:
        """The issue's description as plain text; raise TrackerRejected if the issue is gone."""
        ...

    async def list_comments(self, issue_key: str) -> list[TrackerComment]:
        """Every comment of the issue, oldest first."""
        ...

    async def search_updated(
        self, project_key: str, since: datetime | None, page_token: str | None
    ) -> IssuePage:
        """One page of the project's issues updated since then (all when None), oldest first."""
        ...


class IssueTrackers(Protocol):
    def open(self, connection: TrackerConnection) -> IssueTracker:
        """The tracker behind this connection (whose token is in the clear)."""
        ...

    def parse_event(self, body: bytes) -> TrackerEvent | None:
        """A webhook body as an event; None for events we do not act on or cannot read."""
        ...


class SecretBox(Protocol):
    def seal(self, secret: str) -> str:
        """The secret encrypted for storage."""
        ...

    def open(self, sealed: str) -> str:
        """The secret back from what seal() gave."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raise EmailTaken if the email is in use."""
        ...

    async def get(self, user_id: UserId) -> User | None:
        """The user with this id, or None."""
        ...

    async def with_role(
        self, user_id: UserId, vendor_id: VendorId
    ) -> tuple[User, Role | None] | None:
        """The user and their staff role at the vendor (None if not staff), read together, or
        None when there is no such user."""
        ...

    async def by_email(self, email: str) -> User | None:
        """The user with this normalised email, or None."""
        ...

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        """Replace the user's password hash."""
        ...

    async def by_google_subject(self, subject: str) -> User | None:
        """The user linked to this Google account, or None."""
        ...

    async def link_google(self, user_id: UserId, subject: str) -> None:
        """Link the Google account to the user, whose email Google has just verified."""
        ...

    async def mark_email_verified(self, user_id: UserId) -> None:
        """Record that the user proved they read mail at their address."""
        ...

    async def personal_data(self, user: User) -> PersonalData:
        """Everything stored that belongs to the user: ideas, comments, votes, watches, roles."""
        ...

    async def erase(self, user_id: UserId) -> None:
        """Erase the account's personal data, sessions, tokens, watches, invitations, roles
        and unsent emails; its ideas, comments and votes stay, under the name "deleted user"."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None:
        """Store a new session."""
        ...

    async def get(self, token_hash: str) -> Session | None:
        """The session stored under this token hash, or None."""
        ...

    async def with_user(self, token_hash: str) -> tuple[Session, User] | None:
        """The session under this token hash and its user, read together (every signed-in
        request asks), or None."""
        ...

    async def touch(self, token_hash: str, now: datetime) -> None:
        """Record activity on the session, postponing its idle timeout."""
        ...

    async def delete(self, token_hash: str) -> None:
        """End one session; a missing one is not an error."""
        ...

    async def delete_all_of(self, user_id: UserId) -> None:
        """End every session of the user."""
        ...

    async def sweep(self, idle_before: datetime, created_before: datetime) -> int:
        """Delete sessions idle since, or created before, these times; returns how many."""
        ...


class TokenRepository(Protocol):
    async def add(self, token: OneTimeToken) -> None:
        """Store a new one-time token."""
        ...

    async def use(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        """Mark the token used and return its user; None if unknown, used or expired.

        Atomic: of two concurrent uses of one token, at most one gets the user.
        """
        ...

    async def sweep(self, now: datetime) -> int:
        """Delete used and expired tokens; returns how many."""
        ...


class SignInFlowRepository(Protocol):
    async def add(self, flow: SignInFlow) -> None:
        """Remember a started sign-in until its callback."""
        ...

    async def take(self, state_hash: str, now: datetime) -> SignInFlow | None:
        """Remove and return the unexpired flow with this state; None if absent or expired.

        Atomic: of two callbacks with one state, at most one gets the flow.
        """
        ...

    async def sweep(self, now: datetime) -> int:
        """Delete expired flows; returns how many."""
        ...


class IdentityProvider(Protocol):
    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        """Where to send the browser to sign in; raise IdentityProviderUnavailable."""
        ...

    async def identify(
        self, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> ExternalIdentity:
        """Redeem the code and check the ID token (signature, iss, aud, exp, nonce, verified
        email); raise ExternalSignInFailed if anything is off, IdentityProviderUnavailable if
        the provider cannot be reached."""
        ...

    async def verify(self) -> Verification:
        """Whether the provider answers and knows our client credentials (asked afresh, once)."""
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

    async def solely_administered_by(self, user_id: UserId) -> list[VendorId]:
        """The vendors whose only admin is this user."""
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

    async def by_mailbox_hash(self, mailbox_hash: str) -> Forum | None:
        """The forum whose inbound mailbox hash this is, or None."""
        ...

    async def involved_viewers(self, forum: Forum) -> list[Viewer]:
        """Users who posted, voted, commented or watched in the forum or were invited to it."""
        ...

    async def viewers_with_emails(self, forum: Forum, emails: list[str]) -> list[Viewer]:
        """The users who have these normalised emails, as viewers of the forum."""
        ...


class OpenedIdea(NamedTuple):
    """An idea, its forum, and the viewer asked about: that user and their staff role at the
    forum's vendor (None for nobody, or a user who no longer exists)."""

    idea: Idea
    forum: Forum
    viewer: tuple[User, Role | None] | None


class IdeaRepository(Protocol):
    async def add(self, idea: Idea) -> None:
        """Store a new idea."""
        ...

    async def get(self, idea_id: IdeaId) -> Idea | None:
        """The idea with this id, or None."""
        ...

    async def opened(
        self, idea_id: IdeaId, viewer_id: UserId | None, *, lock: bool = False
    ) -> OpenedIdea | None:
        """The idea and its forum, and for a viewer that user with their staff role at the
        forum's vendor, read together (every use case on an idea checks them), or None.

        With `lock`, in a unit of work that writes, the idea's counters stay as read until the
        unit ends (its row locked, as a counter move locks it): the vote that follows in the
        same unit may then move them without reading them again."""
        ...

    async def set_status(self, idea: Idea) -> None:
        """Store the idea's status and updated time."""
        ...

    async def forget_description(self, idea_id: IdeaId) -> None:
        """Drop the idea's description (Jira holds it from now on)."""
        ...

    async def view(self, idea_id: IdeaId, viewer_id: UserId | None) -> IdeaView | None:
        """The idea as this viewer sees it, or None."""
        ...

    async def list(self, query: IdeaQuery, viewer_id: UserId | None) -> Page[IdeaView]:
        """One keyset page of a forum's ideas (ranked by relevance when the query has text);
        raise InvalidField for a foreign cursor."""
        ...

    async def marks(
        self, asked: Sequence[tuple[UserId, Sequence[IdeaId]]]
    ) -> builtins.list[dict[IdeaId, Marks]]:
        """For each viewer and ideas asked, in order: the counters of those of the ideas that
        still exist and the viewer's marks on each; all in one statement (kept pages made
        their viewers')."""
        ...

    async def similar(
        self, forum_id: ForumId, text: str, viewer_id: UserId | None, limit: int
    ) -> builtins.list[IdeaView]:
        """The forum's unmerged ideas most like the text (trigrams and words), best first."""
        ...


class MarksReader(Protocol):
    async def marks(self, idea_ids: Sequence[IdeaId], viewer_id: UserId) -> dict[IdeaId, Marks]:
        """IdeaRepository.marks() of one viewer, outside the caller's unit of work and read
        after the call began (so with every change committed before it): an adapter may
        read the marks of viewers who ask at the same time together."""
        ...


class IdeaChanged(Exception):
    """A write refused because the idea is no longer as its unit of work read it without a lock
    (deleted, merged or moderated since): nothing was written, and the use case reads it again,
    locked (IdeaRepository.opened(lock=True)), to decide afresh."""


class VoteRepository(Protocol):
    async def add(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> bool:
        """Record the vote and move the idea's counters with it; False if it was there."""
        ...

    async def remove(self, idea_id: IdeaId, user_id: UserId) -> bool:
        """Withdraw the vote and move the idea's counters with it; False if there was none."""
        ...

    async def cast(self, idea_id: IdeaId, user_id: UserId, at: datetime) -> IdeaView | None:
        """add(), then the idea as the voter now sees it (None if it is gone): the adapter may
        have it from the vote's own statements instead of reading it again. When the unit of
        work opened the idea without a lock, the adapter may check under its own lock that the
        idea is still as opened and raise IdeaChanged if not."""
        ...

    async def withdraw(self, idea_id: IdeaId, user_id: UserId) -> IdeaView | None:
        """remove(), then the idea as the user now sees it, as for cast() (IdeaChanged too)."""
        ...

    async def cast_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId, at: datetime
    ) -> IdeaView | None:
        """cast() on an idea and forum the use case judged on an earlier read, without
        opening it first: written only if what that judgement rested on still holds (the
        idea there, unmerged and in the same moderation state, the forum of the same
        visibility and its vendor not deleted, the voter's account there); else None, with
        nothing written. The view's counters and marks are fresh; its other fields may be as
        `idea` was read."""
        ...

    async def withdraw_as_judged(
        self, idea: Idea, forum: Forum, user_id: UserId
    ) -> IdeaView | None:
        """withdraw() likewise (None too when the adapter cannot withdraw this vote so)."""
        ...


def judgement_holds(idea: Idea, forum: Forum, idea_now: Idea, forum_now: Forum) -> bool:
    """Whether a vote judged on `idea` and `forum` as read would be judged alike on them as
    they are now (VoteRepository.cast_as_judged; SQL compares the same facts): the idea still
    unmerged and in the same moderation state, its forum of the same visibility."""
    return (
        idea_now.merged_into is None
        and idea_now.moderation is idea.moderation
        and forum_now.visibility is forum.visibility
    )


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

    async def watchers(self, idea_id: IdeaId) -> list[UserId]:
        """Everyone who watches the idea now."""
        ...

    async def is_watching(self, idea_id: IdeaId, user_id: UserId) -> bool:
        """Whether the user watches the idea now."""


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

    async def list(
        self, idea_id: IdeaId, limit: int, after: str | None, viewer_id: UserId | None = None
    ) -> Page[CommentView]:
        """One page of the idea's published comments and the viewer's own held ones, oldest
        first; raise InvalidField for a bad cursor."""
        ...

    async def get(self, comment_id: CommentId) -> Comment | None:
        """The comment with this id, or None."""
        ...


class ParticipantRepository(Protocol):
    async def add(self, idea_id: IdeaId, user_id: UserId, added_by: UserId, at: datetime) -> bool:
        """Record that staff added the user to the idea; False if they were there already."""
        ...


class InboundLog(Protocol):
    async def first_sighting(self, message_id: str, at: datetime) -> bool:
        """Remember an inbound message id; False when it was seen before (a repeat delivery)."""
        ...


class RateLimitRepository(Protocol):
    async def hit(self, key: str, now: datetime, window_seconds: int) -> tuple[int, datetime]:
        """Count one hit on the key's fixed window, opening a new one if it has passed.

        Returns the hits in the current window and when it began; atomic across processes.
        """
        ...

    async def sweep(self, before: datetime) -> int:
        """Forget windows that began before this time; returns how many."""
        ...


class Outbox(Protocol):
    async def add(self, notification: Notification) -> None:
        """Queue the notification, in the caller's transaction, for the worker to deliver."""
        ...

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Claim]:
        """Take up to `limit` due pending rows, hiding them from other workers until the lease
        ends (a worker that dies mid-batch so loses nothing); counts the attempt."""
        ...

    async def finish(
        self, notification: Notification, state: DeliveryState, at: datetime, error: str = ""
    ) -> bool:
        """Close a pending row as sent, skipped or failed, erasing the payload's secrets.

        False when the row was no longer pending: another worker, whose lease on it began
        after ours ran out, closed it first; its outcome stands."""
        ...

    async def retry_at(self, notification_id: str, due_at: datetime, error: str) -> None:
        """Leave the row pending, due again at `due_at`, with the error that postponed it."""
        ...

    async def deliveries(
        self,
        forum_id: ForumId,
        state: DeliveryState | None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[DeliveryRecord]:
        """The forum's latest notification rows (one per recipient), newest first; with
        `before`, only rows older than that (created_at, id), for the next page."""
        ...

    async def stats(self, now: datetime) -> OutboxStats:
        """Rows per state, and the pending rows due by `now` (for the metrics page)."""
        ...


class TrackerRepository(Protocol):
    """What we keep about Jira: connections, links between ideas and issues, sync progress."""

    async def save_connection(
        self, vendor_id: VendorId, connection: TrackerConnection, at: datetime
    ) -> None:
        """Store the vendor's connection (its token sealed), replacing any before."""
        ...

    async def connection(self, vendor_id: VendorId) -> TrackerConnection | None:
        """The vendor's connection, token still sealed, or None."""
        ...

    async def bound_forums(self, project_key: str | None = None) -> list[Forum]:
        """Forums bound to a Jira project (to this one when given), oldest first."""
        ...

    async def lock_forum(self, forum_id: ForumId) -> None:
        """Hold the forum's reconciling to this transaction until it ends, so a webhook and a
        sync runner taking the same issue or comment at once cannot both find it new."""
        ...

    async def idea_by_key(self, forum_id: ForumId, issue_key: str) -> Idea | None:
        """The forum's idea filed as this issue, or None."""
        ...

    async def link_idea(self, idea_id: IdeaId, issue_key: str | None) -> None:
        """Record the issue the idea is filed as (None: the issue is gone)."""
        ...

    async def set_summary(self, idea_id: IdeaId, summary: str, at: datetime) -> None:
        """Take the summary the issue has now."""
        ...

    async def comment(self, comment_id: CommentId) -> Comment | None:
        """The comment with this id, or None."""
        ...

    async def has_comment(self, idea_id: IdeaId, tracker_comment_id: str) -> bool:
        """Whether the idea already has the comment of this tracker id (ours or imported)."""
        ...

    async def link_comment(self, comment_id: CommentId, tracker_comment_id: str) -> None:
        """Record the tracker id the comment was posted as."""
        ...

    async def cursor(self, forum_id: ForumId) -> datetime | None:
        """How far the sync has read the forum's project, or None for never."""
        ...

    async def set_cursor(self, forum_id: ForumId, at: datetime | None) -> None:
        """Move the forum's sync cursor."""
        ...

    async def mark_synced(self, forum_id: ForumId, at: datetime) -> None:
        """Record that a sync of the forum read its project to the end at `at`."""
        ...

    async def last_synced(self) -> dict[ForumId, datetime | None]:
        """Every bound forum with its last complete sync (None: never)."""
        ...

    async def take_lease(
        self, forum_id: ForumId, holder: str, now: datetime, until: datetime
    ) -> bool:
        """Become the forum's one sync runner until then; False while someone else is."""
        ...

    async def release_lease(self, forum_id: ForumId, holder: str) -> None:
        """Give the lease up, if this holder has it."""
        ...

    async def first_delivery(self, delivery_id: str, at: datetime) -> bool:
        """Record a webhook delivery; False if it was handled before."""
        ...


class SpamFilter(Protocol):
    # Whether check() answers without waiting on anything (no network): a use case may then
    # screen a post inside its transaction instead of between a read and the write.
    is_instant: bool

    async def check(self, submission: Submission) -> Verdict:
        """Judge a new post; Verdict.UNKNOWN when the filter cannot be asked (never raises)."""
        ...

    async def report_spam(self, submission: Submission) -> None:
        """Tell the filter it let this spam through; a failure is logged, never raised."""
        ...

    async def report_ham(self, submission: Submission) -> None:
        """Tell the filter this post it took for spam is not; a failure is logged, never raised."""
        ...

    async def verify(self) -> Verification:
        """Whether the filter answers and accepts our key (once, no retry); OFF for none."""
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


class RetentionRepository(Protocol):
    """Deleting vendors (hidden at once, purged later) and forgetting what has served its time.

    Every purge and sweep deletes at most `limit` rows per call, so the caller commits between
    calls and no transaction holds many locks for long; each is safe to run from several
    workers at once and to run again.
    """

    async def hide_vendor(self, vendor_id: VendorId, at: datetime) -> bool:
        """Mark the vendor deleted at `at`: from then on its forums, ideas and pages are absent
        to everyone. False if there is no such vendor or it is deleted already."""
        ...

    async def restore_vendor(self, vendor_id: VendorId, deleted_since: datetime) -> bool:
        """Undo a deletion made since then (within the retention period); False otherwise."""
        ...

    async def deleted_before(self, before: datetime, limit: int) -> list[VendorId]:
        """Vendors deleted before this time, whose data is due to be purged, oldest first."""
        ...

    async def purge_vendor(self, vendor_id: VendorId, deleted_before: datetime, limit: int) -> int:
        """Delete up to `limit` of the rows that belong to the vendor, those that depend on
        others first, the vendor's own row last; only while it stays deleted since before that
        time and no other worker is purging it. How many rows went; 0 when none are left."""
        ...

    async def sweep_outbox(self, done_before: datetime, limit: int) -> int:
        """Delete outbox rows delivered, skipped or failed before this time; how many."""
        ...

    async def sweep_message_ids(self, before: datetime, limit: int) -> int:
        """Forget inbound mail and Jira webhook ids received before this time; how many."""
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

    def read_only(self) -> Self:
        """Mark the next block as one that only reads, and return this unit of work.

        The adapter may then skip the transaction (no BEGIN and ROLLBACK round trips): each
        statement sees what was committed when it started, as two page loads would. commit()
        in such a block is a mistake.
        """
        ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        ...


class Mailer(Protocol):
    async def send_batch(self, emails: Sequence[OutgoingEmail]) -> list[DeliveryResult]:
        """Send each email; one result per email, in order; failures are results, not raises."""
        ...

    async def verify(self, probe: OutgoingEmail | None) -> Verification:
        """Whether mail leaves: send the probe once (no retry) when given, else UNTESTED;
        OFF for a mailbox that keeps mail here."""
        ...


class Schema(Protocol):
    async def revisions(self) -> tuple[str | None, str]:
        """The database's schema revision (None: never migrated) and the newest one we ship."""
        ...


class DevMailbox(Protocol):
    async def recent(self, limit: int) -> list[StoredEmail]:
        """The latest mail the local mailbox kept, newest first."""
        ...

    async def get(self, email_id: str) -> StoredEmail | None:
        """One kept message, or None."""
        ...


class EmailComposer(Protocol):
    def compose(self, kind: str, values: Mapping[str, str]) -> Rendered:
        """Subject, text and HTML of one kind of email; values are escaped in the HTML."""
        ...


class SessionCache(Protocol):
    """Signed-in sessions and their users, kept a few seconds so that a signed-in request
    need not ask the database who is signed in. Keyed by the token's hash, never the token.
    The service decides when an entry may answer (alive, no touch due); the cache only keeps
    it, and forgets at once what this process changed (sign-out, password reset, ...)."""

    def version(self) -> int:
        """A mark taken before reading a session; `put` drops the entry if anything was
        dropped since, so a session read before a sign-out is never kept after it."""
        ...

    def get(self, token_hash: str) -> tuple[Session, User] | None:
        """The session kept under this token hash, and its user, if still fresh; else None."""
        ...

    def put(self, session: Session, user: User, version: int) -> None:
        """Keep the session and its user for the time to live, unless dropped since `version`."""
        ...

    def drop(self, token_hash: str) -> None:
        """Forget the session under this token hash at once."""
        ...

    def drop_user(self, user_id: UserId) -> None:
        """Forget every session of the user at once."""
        ...


class RecentIdeas(Protocol):
    """Ideas with their forums as this process read them moments ago, for any viewer: a vote
    judged on one needs no read of its own (VoteRepository.cast_as_judged checks under its
    lock that the judgement still holds). The service decides what it may judge so; the cache
    only keeps what it is given, for a few seconds."""

    def get(self, idea_id: IdeaId) -> tuple[Idea, Forum] | None:
        """The idea (without its description) and its forum as last put, if still fresh."""
        ...

    def put(self, idea: Idea, forum: Forum) -> None:
        """Keep the idea and its forum for the time to live."""
        ...

    def forget(self, idea_id: IdeaId) -> None:
        """Drop the idea at once (it is not as kept)."""
        ...


class ListCache(Protocol):
    """First pages of idea lists as an anonymous visitor sees them, kept a few seconds: the
    busiest page of a forum is the same for every visitor, so it is read and mapped once per
    time to live instead of once per request. The service decides what may be kept (public
    forums, nobody's marks, no search text, first pages); the cache only keeps it."""

    def version(self) -> int:
        """A mark taken before reading a page; `put` drops the page if anything was invalidated
        since, so a page read before a change is never kept after it."""
        ...

    def get(self, query: IdeaQuery) -> Page[IdeaView] | None:
        """The page kept for this query and still fresh, or None."""
        ...

    def put(self, query: IdeaQuery, page: Page[IdeaView], version: int) -> None:
        """Keep the page for the time to live, unless invalidated since `version`."""
        ...

    def invalidate(self, forum_id: ForumId | None = None) -> None:
        """Forget the forum's pages at once (every forum's with None)."""
        ...
