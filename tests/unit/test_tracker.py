"""Jira on the fakes: connecting a site, filing ideas and comments, webhooks and the sync runner,
over the in-memory tracker repository and the fake issue tracker."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from customercase.adapters.fakes.secrets import FakeSecretBox
from customercase.adapters.fakes.tracker import FakeIssueTracker, FakeIssueTrackers
from customercase.domain.errors import InvalidField, TrackerUnavailable
from customercase.domain.ideas import CommentSource, Status
from customercase.domain.ids import ForumId, IdeaId
from customercase.domain.notifications import NotificationKind
from customercase.domain.tracker import EventKind, NewIssue, TrackerEvent, TrackerUser
from customercase.domain.users import User
from customercase.domain.vendors import Forum, JiraBinding, Role
from customercase.services.ideas import AddComment, SubmitIdea, add_comment, submit_idea
from customercase.services.tracker import (
    LEASE,
    ConnectJira,
    SyncReport,
    add_tracker_comment,
    connect_jira,
    create_tracker_issue,
    receive_tracker_event,
    sync_forum,
)
from tests.builders import World

SITE = "https://acme.atlassian.net"
REPORTER = TrackerUser("acc-1", "Jira Reporter", "reporter@acme.example")


class Jira:
    """A fake world whose forum is bound to the fake tracker's SUP project, connected."""

    def __init__(self) -> None:
        self.world = World()
        self.tracker = FakeIssueTracker()
        self.trackers = FakeIssueTrackers(self.tracker)
        self.secrets = FakeSecretBox()
        self.forum: Forum
        self.staff: User

    async def connect(self) -> Jira:
        self.forum = await self.world.forum(jira=JiraBinding("SUP"))
        self.staff = await self.world.staff(self.forum.vendor_id, Role.ADMIN)
        await connect_jira(
            ConnectJira(self.forum.vendor_id, self.staff.id, SITE, "bot@acme.example", "token"),
            uow=self.world.uow,
            trackers=self.trackers,
            secrets=self.secrets,
            clock=self.world.clock,
        )
        return self

    async def sync(self, holder: str = "runner-1") -> SyncReport:
        w = self.world
        return await sync_forum(
            self.forum.id,
            uow=w.uow,
            trackers=self.trackers,
            secrets=self.secrets,
            ids=w.ids,
            clock=w.clock,
            holder=holder,
        )

    async def file(self, summary: str = "Dark mode for the dashboard") -> str:
        """An issue filed in Jira by someone else, not by us."""
        issue = await self.tracker.create_issue(NewIssue("SUP", "Task", summary, "", ""))
        self.tracker.issues[issue.key] = replace(issue, reporter=REPORTER)
        return issue.key

    async def event(self, kind: EventKind, key: str, delivery_id: str | None = None) -> None:
        issue = self.tracker.issues[key]
        w = self.world
        await receive_tracker_event(
            delivery_id,
            TrackerEvent(kind, "acme.atlassian.net", issue),
            uow=w.uow,
            ids=w.ids,
            clock=w.clock,
        )


@pytest.fixture
async def jira() -> Jira:
    return await Jira().connect()


async def test_connecting_jira_stores_the_token_sealed_and_hands_none_of_it_back() -> None:
    jira = Jira()
    jira.forum = await jira.world.forum(jira=JiraBinding("SUP"))
    staff = await jira.world.staff(jira.forum.vendor_id, Role.ADMIN)

    shown = await connect_jira(
        ConnectJira(jira.forum.vendor_id, staff.id, SITE + "/", "Bot@Acme.example", "token"),
        uow=jira.world.uow,
        trackers=jira.trackers,
        secrets=jira.secrets,
        clock=jira.world.clock,
    )

    assert shown.api_token == ""
    [(stored, _)] = jira.world.store.tables.jira_connections.values()
    assert (stored.site_url, stored.email, stored.api_token) == (
        SITE,
        "bot@acme.example",
        jira.secrets.seal("token"),
    )


async def test_a_token_jira_refuses_is_named_and_nothing_is_stored() -> None:
    jira = Jira()
    forum = await jira.world.forum(jira=JiraBinding("SUP"))
    staff = await jira.world.staff(forum.vendor_id, Role.ADMIN)

    with pytest.raises(InvalidField) as error:
        await connect_jira(
            ConnectJira(forum.vendor_id, staff.id, SITE, "bot@acme.example", "wrong"),
            uow=jira.world.uow,
            trackers=jira.trackers,
            secrets=jira.secrets,
            clock=jira.world.clock,
        )

    assert error.value.field == "api_token"
    assert jira.world.store.tables.jira_connections == {}


async def _idea_posted(jira: Jira) -> IdeaId:
    w = jira.world
    author = await w.user()
    view = await submit_idea(
        SubmitIdea(jira.forum.id, author.id, "Export to CSV"),
        uow=w.uow,
        clock=w.clock,
        ids=w.ids,
        spam=w.spam,
    )
    return view.idea.id


async def _file_idea(jira: Jira, idea_id: IdeaId) -> str | None:
    return await create_tracker_issue(
        idea_id,
        "",
        uow=jira.world.uow,
        trackers=jira.trackers,
        secrets=jira.secrets,
        idea_url="https://cases.example.org/ideas/x",
    )


async def test_an_idea_filed_twice_makes_one_issue_and_remembers_its_key(jira: Jira) -> None:
    idea_id = await _idea_posted(jira)

    first = await _file_idea(jira, idea_id)
    again = await _file_idea(jira, idea_id)

    assert first == again == "SUP-1"
    assert list(jira.tracker.issues) == ["SUP-1"]
    assert jira.world.store.tables.ideas[idea_id].tracker_key == "SUP-1"


async def test_a_comment_waits_while_its_idea_is_not_filed_then_is_posted_once(
    jira: Jira,
) -> None:
    w = jira.world
    idea_id = await _idea_posted(jira)
    commenter = await w.user(name="Carol")
    view = await add_comment(
        AddComment(idea_id, commenter.id, "Me too"),
        uow=w.uow,
        clock=w.clock,
        ids=w.ids,
        spam=w.spam,
    )

    async def post() -> str | None:
        return await add_tracker_comment(
            view.comment.id, uow=w.uow, trackers=jira.trackers, secrets=jira.secrets
        )

    with pytest.raises(TrackerUnavailable):
        await post()
    await _file_idea(jira, idea_id)
    first, again = await post(), await post()

    assert first == again
    assert [c.body for c in jira.tracker.comments["SUP-1"]] == ["Carol wrote on the forum:\nMe too"]


async def test_an_issue_created_in_jira_arrives_by_webhook_as_an_idea_of_its_reporter(
    jira: Jira,
) -> None:
    key = await jira.file("Single sign-on")

    await jira.event(EventKind.ISSUE_CREATED, key)

    [idea] = [i for i in jira.world.store.tables.ideas.values() if i.tracker_key == key]
    author = jira.world.store.tables.users[idea.author_id]
    assert (idea.summary, author.email) == ("Single sign-on", "reporter@acme.example")


async def test_a_webhook_delivered_twice_makes_one_idea(jira: Jira) -> None:
    key = await jira.file()

    await jira.event(EventKind.ISSUE_CREATED, key, delivery_id="delivery-1")
    await jira.event(EventKind.ISSUE_CREATED, key, delivery_id="delivery-1")

    assert len(jira.world.store.tables.ideas) == 1


async def test_an_issue_deleted_in_jira_leaves_its_idea_unlinked(jira: Jira) -> None:
    key = await jira.file()
    await jira.event(EventKind.ISSUE_CREATED, key)

    await jira.event(EventKind.ISSUE_DELETED, key)

    [idea] = jira.world.store.tables.ideas.values()
    assert idea.tracker_key is None


async def test_the_first_sync_imports_every_issue_and_comment_without_emailing_anyone(
    jira: Jira,
) -> None:
    keys = [await jira.file(f"Issue number {n}") for n in range(3)]
    await jira.tracker.add_comment(keys[0], "Seen in production")

    report = await jira.sync()

    tables = jira.world.store.tables
    assert (report.seen, report.ideas_created, report.comments_added) == (3, 3, 1)
    assert [c.source for c in tables.comments.values()] == [CommentSource.JIRA]
    assert tables.outbox == {}


async def test_a_later_sync_takes_a_status_change_and_tells_the_watchers(jira: Jira) -> None:
    key = await jira.file()
    await jira.sync()
    jira.tracker.change(key, status_name="In Progress", status_category="indeterminate")
    jira.world.clock.advance(minutes=10)

    report = await jira.sync()

    [idea] = jira.world.store.tables.ideas.values()
    assert (report.status_changes, idea.status) == (1, Status.IN_PROGRESS)
    assert [n.kind for n in jira.world.store.tables.outbox.values()] == [
        NotificationKind.STATUS_CHANGED
    ]


async def test_a_sync_rereading_an_issue_takes_neither_it_nor_its_comments_twice(
    jira: Jira,
) -> None:
    key = await jira.file()
    await jira.tracker.add_comment(key, "Seen in production")
    await jira.sync()
    jira.world.clock.advance(minutes=10)

    again = await jira.sync()

    assert (again.seen, again.ideas_created, again.comments_added) == (1, 0, 0)
    assert len(jira.world.store.tables.comments) == 1


async def test_a_forum_one_runner_is_syncing_is_skipped_by_another(jira: Jira) -> None:
    await jira.file()
    now = jira.world.clock.now()
    async with jira.world.uow as uow:
        await uow.tracker.take_lease(jira.forum.id, "runner-1", now, now + LEASE)
        await uow.commit()

    report = await jira.sync(holder="runner-2")

    assert report.skipped
    assert jira.world.store.tables.ideas == {}


async def test_a_lease_its_runner_let_run_out_is_taken_over(jira: Jira) -> None:
    await jira.file()
    now = jira.world.clock.now()
    async with jira.world.uow as uow:
        await uow.tracker.take_lease(jira.forum.id, "runner-1", now, now + LEASE)
        await uow.commit()
    jira.world.clock.advance((LEASE + timedelta(seconds=1)).total_seconds())

    report = await jira.sync(holder="runner-2")

    assert (report.skipped, report.ideas_created) == (False, 1)


async def test_a_finished_sync_gives_its_lease_up(jira: Jira) -> None:
    await jira.sync(holder="runner-1")

    report = await jira.sync(holder="runner-2")

    assert not report.skipped


async def test_only_forums_bound_to_the_project_take_its_webhooks(jira: Jira) -> None:
    other = await jira.world.forum(vendor_id=jira.forum.vendor_id, jira=JiraBinding("OPS"))
    key = await jira.file()

    await jira.event(EventKind.ISSUE_CREATED, key)

    forums = {i.forum_id for i in jira.world.store.tables.ideas.values()}
    assert forums == {ForumId(jira.forum.id)} and other.id not in forums


async def test_a_late_repeat_of_an_old_webhook_does_not_undo_a_newer_change(jira: Jira) -> None:
    key = await jira.file()
    await jira.event(EventKind.ISSUE_CREATED, key, delivery_id="created")
    jira.tracker.change(key, status_name="Done", status_category="done")
    done = TrackerEvent(EventKind.ISSUE_UPDATED, "acme.atlassian.net", jira.tracker.issues[key])
    w = jira.world
    await receive_tracker_event("to-done", done, uow=w.uow, ids=w.ids, clock=w.clock)
    jira.tracker.change(key, status_name="To Do", status_category="new")
    await jira.event(EventKind.ISSUE_UPDATED, key, delivery_id="reopened")

    await receive_tracker_event("to-done", done, uow=w.uow, ids=w.ids, clock=w.clock)

    [idea] = w.store.tables.ideas.values()
    assert idea.status is Status.OPEN
