"""Jira: connecting a vendor's site, filing ideas and comments there, and taking back what
happens there, by webhook and by the sync runner (DESIGN.md, Flows)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from customercase.domain.errors import (
    ForumNotFound,
    IdeaNotFound,
    InvalidField,
    TrackerNotConnected,
    TrackerRejected,
    TrackerUnavailable,
    VendorNotFound,
)
from customercase.domain.ideas import Comment, CommentSource, Idea, Status
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Clock, Ids, IssueTracker, IssueTrackers, SecretBox, UnitOfWork
from customercase.domain.tracker import (
    MARKER_LABEL,
    EventKind,
    NewIssue,
    TrackerComment,
    TrackerConnection,
    TrackerEvent,
    TrackerIssue,
    TrackerUser,
    fit_body,
    fit_summary,
    idea_label,
    placeholder_email,
)
from customercase.domain.users import User, check_name, normalise_email
from customercase.domain.vendors import Forum
from customercase.services.access import require_staff, viewer_of

# JQL compares in whole minutes, and Jira's clock is not ours: re-read a little of the past.
SYNC_OVERLAP = timedelta(minutes=2)
LEASE = timedelta(minutes=5)
UNKNOWN_PERSON = TrackerUser("unknown", "Jira user")
# Comments we post start with this line, so that reading them back never makes a twin.
ATTRIBUTION = " wrote on the forum:"


@dataclass(frozen=True, slots=True)
class ConnectJira:
    vendor_id: VendorId
    actor_id: UserId | None
    site_url: str
    email: str
    api_token: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    forum_id: ForumId
    seen: int = 0
    ideas_created: int = 0
    comments_added: int = 0
    status_changes: int = 0
    skipped: bool = False


def _site(raw: str) -> str:
    site = raw.strip().rstrip("/")
    parts = urlsplit(site)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path or parts.query:
        raise InvalidField("site_url", "Enter the site address, like https://acme.atlassian.net.")
    return site


async def connect_jira(
    cmd: ConnectJira,
    *,
    uow: UnitOfWork,
    trackers: IssueTrackers,
    secrets: SecretBox,
    clock: Clock,
) -> TrackerConnection:
    """Connect the vendor's Jira site (staff only); the token is checked once, then sealed."""
    site, email = _site(cmd.site_url), normalise_email(cmd.email)
    if not 1 <= len(cmd.api_token) <= 1000:
        raise InvalidField("api_token", "Paste the API token made for this account.")
    async with uow:
        if await uow.vendors.get(cmd.vendor_id) is None:
            raise VendorNotFound()
        require_staff(await viewer_of(uow, cmd.vendor_id, None, cmd.actor_id))
    try:
        await trackers.open(TrackerConnection(site, email, cmd.api_token)).myself()
    except TrackerRejected:
        raise InvalidField("api_token", "Jira refused this email and API token.") from None
    async with uow:
        sealed = TrackerConnection(site, email, secrets.seal(cmd.api_token))
        await uow.tracker.save_connection(cmd.vendor_id, sealed, clock.now())
        await uow.commit()
    return TrackerConnection(site, email, "")


async def jira_connection(
    vendor_id: VendorId, actor_id: UserId | None, *, uow: UnitOfWork
) -> TrackerConnection | None:
    """The vendor's Jira site and account (staff only), the token left out: it is never shown."""
    async with uow:
        require_staff(await viewer_of(uow, vendor_id, None, actor_id))
        connection = await uow.tracker.connection(vendor_id)
    return replace(connection, api_token="") if connection else None


async def _connection(uow: UnitOfWork, vendor_id: VendorId) -> TrackerConnection:
    connection = await uow.tracker.connection(vendor_id)
    if connection is None:
        raise TrackerNotConnected()
    return connection


def _open(trackers: IssueTrackers, secrets: SecretBox, sealed: TrackerConnection) -> IssueTracker:
    return trackers.open(replace(sealed, api_token=secrets.open(sealed.api_token)))


# ---- outbound: the outbox's tracker jobs ----


async def create_tracker_issue(
    idea_id: IdeaId,
    description: str,
    *,
    uow: UnitOfWork,
    trackers: IssueTrackers,
    secrets: SecretBox,
    idea_url: str,
) -> str | None:
    """File the idea as an issue of its forum's project; the issue key, or None if unbound.

    Safe to run again: an idea already filed, or an issue already carrying its label, is
    not filed twice. Raises TrackerUnavailable (retry later) or TrackerRejected/
    TrackerNotConnected (record for staff).
    """
    async with uow:
        idea = await uow.ideas.get(idea_id)
        if idea is None:
            raise IdeaNotFound()
        forum = await uow.forums.get(idea.forum_id)
        if forum is None or forum.jira is None or idea.tracker_key:
            return idea.tracker_key
        sealed = await _connection(uow, forum.vendor_id)
    tracker = _open(trackers, secrets, sealed)
    label = idea_label(idea.id)
    issue = await tracker.find_labelled(forum.jira.project_key, label)
    if issue is None:
        issue = await tracker.create_issue(
            NewIssue(
                forum.jira.project_key,
                forum.jira.issue_type,
                idea.summary,
                description,
                idea_url,
                (MARKER_LABEL, label),
            )
        )
    async with uow:
        await uow.tracker.link_idea(idea.id, issue.key)
        await uow.commit()
    return issue.key


async def add_tracker_comment(
    comment_id: CommentId, *, uow: UnitOfWork, trackers: IssueTrackers, secrets: SecretBox
) -> str | None:
    """Post a forum comment to the idea's issue; its tracker id, or None when not wanted.

    A comment that came from Jira is never sent back. Raises TrackerUnavailable while the
    idea's issue is not filed yet, so the job waits its turn.
    """
    async with uow:
        comment = await uow.tracker.comment(comment_id)
        if comment is None or comment.source is CommentSource.JIRA:
            return None
        if comment.tracker_comment_id:
            return comment.tracker_comment_id
        idea = await uow.ideas.get(comment.idea_id)
        forum = await uow.forums.get(idea.forum_id) if idea else None
        if idea is None or forum is None or forum.jira is None:
            return None
        if not idea.tracker_key:
            raise TrackerUnavailable("The idea is not filed in Jira yet.")
        sealed = await _connection(uow, forum.vendor_id)
        author = await uow.users.get(comment.author_id)
    name = author.name if author else "Someone"
    tracker = _open(trackers, secrets, sealed)
    posted = await tracker.add_comment(idea.tracker_key, f"{name}{ATTRIBUTION}\n{comment.body}")
    async with uow:
        await uow.tracker.link_comment(comment.id, posted.id)
        await uow.commit()
    return posted.id


# ---- inbound: one issue, as we see it ----


class _Reconciler:
    """Takes issues into one forum inside the caller's transaction."""

    def __init__(
        self,
        uow: UnitOfWork,
        forum: Forum,
        ids: Ids,
        clock: Clock,
        notify: bool,
        read_at: datetime | None = None,
    ) -> None:
        assert forum.jira is not None
        self.uow, self.forum, self.binding = uow, forum, forum.jira
        self.ids, self.clock, self.notify = ids, clock, notify
        # When the issues were read (sync); a webhook's issue is as of its `updated` time.
        self.read_at = read_at
        self.people: dict[str, UserId] = {}
        self.report = SyncReport(forum.id)

    async def person(self, who: TrackerUser | None) -> UserId:
        """The local user for a Jira user: by email, else by account id; made when new."""
        who = who or UNKNOWN_PERSON
        if who.account_id in self.people:
            return self.people[who.account_id]
        try:
            email = normalise_email(who.email) if who.email else placeholder_email(who.account_id)
        except InvalidField:
            email = placeholder_email(who.account_id)
        user = await self.uow.users.by_email(email)
        if user is None:
            try:
                name = check_name(who.display_name)
            except InvalidField:
                name = "Jira user"
            user = User(UserId(self.ids.new_id()), email, name, self.clock.now())
            await self.uow.users.add(user)
        self.people[who.account_id] = user.id
        return user.id

    def _count(self, **more: int) -> None:
        r = self.report
        self.report = replace(
            r,
            seen=r.seen + more.get("seen", 0),
            ideas_created=r.ideas_created + more.get("created", 0),
            comments_added=r.comments_added + more.get("comments", 0),
            status_changes=r.status_changes + more.get("status", 0),
        )

    async def _ours(self, issue: TrackerIssue) -> Idea | None:
        """An idea of this forum whose issue we filed but whose key we have not stored yet."""
        for label in issue.labels:
            if label.startswith("cc-"):
                idea = await self.uow.ideas.get(IdeaId(label[3:]))
                if idea is not None and idea.forum_id == self.forum.id:
                    await self.uow.tracker.link_idea(idea.id, issue.key)
                    return replace(idea, tracker_key=issue.key)
        return None

    async def issue(self, issue: TrackerIssue, with_fields: bool = True) -> Idea:
        self._count(seen=1)
        status = self.binding.status_map.status_of(issue.status_name, issue.status_category)
        now = self.clock.now()
        idea = await self.uow.tracker.idea_by_key(self.forum.id, issue.key) or await self._ours(
            issue
        )
        if idea is None:
            author = await self.person(issue.reporter)
            idea = Idea(
                id=IdeaId(self.ids.new_id()),
                forum_id=self.forum.id,
                author_id=author,
                summary=fit_summary(issue.summary, issue.key),
                description="",
                status=status,
                created_at=now,
                updated_at=now,
                tracker_key=issue.key,
            )
            await self.uow.ideas.add(idea)
            await self.uow.watches.start(idea.id, author)
            self._count(created=1)
        elif with_fields and not self._changed_since(idea, issue):
            summary = fit_summary(issue.summary, issue.key)
            if summary != idea.summary:
                await self.uow.tracker.set_summary(idea.id, summary, now)
            if status is not idea.status:
                await self._change_status(idea, status, now)
        for comment in issue.comments or ():
            await self.comment(idea, comment)
        return idea

    def _changed_since(self, idea: Idea, issue: TrackerIssue) -> bool:
        """Whether the idea changed after this picture of the issue was taken: a webhook that
        arrives late, or a sync page read before a webhook was taken in, must not undo what a
        fresher one did (the next sync pass reads the issue again)."""
        return idea.updated_at > (self.read_at or issue.updated)

    async def _change_status(self, idea: Idea, status: Status, now: datetime) -> None:
        await self.uow.ideas.set_status(idea.with_status(status, now))
        self._count(status=1)
        await self.uow.outbox.add(
            Notification(
                self.ids.new_id(),
                NotificationKind.STATUS_CHANGED,
                now,
                idea_id=idea.id,
                payload={"old": idea.status.value, "new": status.value, "source": "jira"},
            )
        )

    async def comment(self, idea: Idea, comment: TrackerComment) -> None:
        first_line = comment.body.split("\n", 1)[0]
        if first_line.endswith(ATTRIBUTION) or await self.uow.tracker.has_comment(
            idea.id, comment.id
        ):
            return
        author = await self.person(comment.author)
        now = self.clock.now()
        ours = Comment.write(
            id=CommentId(self.ids.new_id()),
            idea_id=idea.id,
            author_id=author,
            body=fit_body(comment.body),
            source=CommentSource.JIRA,
            now=now,
            tracker_comment_id=comment.id,
        )
        await self.uow.comments.add(ours, now)
        self._count(comments=1)
        if self.notify:
            await self.uow.outbox.add(
                Notification(
                    self.ids.new_id(),
                    NotificationKind.NEW_COMMENT,
                    now,
                    idea_id=idea.id,
                    actor_id=author,
                    payload={"comment_id": ours.id},
                )
            )


async def receive_tracker_event(
    delivery_id: str | None,
    event: TrackerEvent,
    *,
    uow: UnitOfWork,
    ids: Ids,
    clock: Clock,
) -> None:
    """Take one Jira webhook into every forum bound to its project on that site; repeats of
    a delivery change nothing."""
    async with uow:
        if delivery_id and not await uow.tracker.first_delivery(delivery_id, clock.now()):
            return
        for forum in await uow.tracker.bound_forums(event.issue.project_key):
            connection = await uow.tracker.connection(forum.vendor_id)
            if connection is None or urlsplit(connection.site_url).netloc != event.site:
                continue
            await uow.tracker.lock_forum(forum.id)
            take = _Reconciler(uow, forum, ids, clock, notify=True)
            if event.kind is EventKind.ISSUE_DELETED:
                idea = await uow.tracker.idea_by_key(forum.id, event.issue.key)
                if idea is not None:
                    await uow.tracker.link_idea(idea.id, None)
                continue
            idea = await take.issue(
                event.issue, with_fields=event.kind is not EventKind.COMMENT_CREATED
            )
            if event.comment is not None:
                await take.comment(idea, event.comment)
        await uow.commit()


# ---- the sync runner, and the import that binding a forum asks for ----


async def sync_forum(
    forum_id: ForumId,
    *,
    uow: UnitOfWork,
    trackers: IssueTrackers,
    secrets: SecretBox,
    ids: Ids,
    clock: Clock,
    holder: str,
    progress: Callable[[SyncReport], Awaitable[None] | None] | None = None,
    lease: timedelta = LEASE,
) -> SyncReport:
    """Reconcile everything updated in the forum's project since its cursor (all of it the
    first time); one runner per forum at a time, the others skip it. The runner's lease is
    renewed with every page; one that dies holds the forum until `lease` has passed."""
    now = clock.now()
    async with uow:
        forum = await uow.forums.get(forum_id)
        if forum is None or forum.jira is None:
            raise ForumNotFound()
        if not await uow.tracker.take_lease(forum_id, holder, now, now + lease):
            await uow.commit()
            return SyncReport(forum_id, skipped=True)
        cursor = await uow.tracker.cursor(forum_id)
        sealed = await _connection(uow, forum.vendor_id)
        await uow.commit()
    report = SyncReport(forum_id)
    try:
        tracker = _open(trackers, secrets, sealed)
        since = cursor - SYNC_OVERLAP if cursor else None
        token: str | None = None
        newest = cursor
        while True:
            read_at = clock.now()
            page = await tracker.search_updated(forum.jira.project_key, since, token)
            # More comments than the search carries along are read before the transaction.
            complete = [
                i
                if i.comments is not None
                else replace(i, comments=tuple(await tracker.list_comments(i.key)))
                for i in page.issues
            ]
            async with uow:
                now = clock.now()
                if not await uow.tracker.take_lease(forum_id, holder, now, now + lease):
                    return report
                await uow.tracker.lock_forum(forum_id)
                take = _Reconciler(uow, forum, ids, clock, cursor is not None, read_at)
                for issue in complete:
                    await take.issue(issue)
                    newest = max(newest, issue.updated) if newest else issue.updated
                if newest is not None:
                    await uow.tracker.set_cursor(forum_id, newest)
                if page.next_page_token is None:
                    await uow.tracker.mark_synced(forum_id, now)
                await uow.commit()
            report = _add(report, take.report)
            if progress is not None:
                shown = progress(report)
                if shown is not None:
                    await shown
            token = page.next_page_token
            if token is None:
                return report
    finally:
        async with uow:
            await uow.tracker.release_lease(forum_id, holder)
            await uow.commit()


def _add(a: SyncReport, b: SyncReport) -> SyncReport:
    return replace(
        a,
        seen=a.seen + b.seen,
        ideas_created=a.ideas_created + b.ideas_created,
        comments_added=a.comments_added + b.comments_added,
        status_changes=a.status_changes + b.status_changes,
    )


async def bound_forums(*, uow: UnitOfWork) -> list[ForumId]:
    """Every forum bound to a Jira project."""
    async with uow:
        return [f.id for f in await uow.tracker.bound_forums()]


async def idea_description(
    idea: Idea, *, uow: UnitOfWork, trackers: IssueTrackers, secrets: SecretBox
) -> str:
    """What the idea says: from Jira for a filed idea of a bound forum, else from our store.

    Jira being away costs the description, never the page.
    """
    if not idea.tracker_key:
        return idea.description
    async with uow:
        forum = await uow.forums.get(idea.forum_id)
        sealed = await uow.tracker.connection(forum.vendor_id) if forum else None
    if forum is None or forum.jira is None or sealed is None:
        return idea.description
    try:
        return await _open(trackers, secrets, sealed).get_description(idea.tracker_key)
    except (TrackerUnavailable, TrackerRejected):
        return idea.description
