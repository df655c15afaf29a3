"""Notification emails through the outbox on the fakes: the dispatcher, the email handler, the
in-memory outbox's claims and retries, and what staff see of deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customercase.adapters.fakes.composer import FakeComposer
from customercase.adapters.fakes.mailer import FakeMailer
from customercase.adapters.fakes.memory import InMemoryUnitOfWork, LostRace
from customercase.domain.errors import NotAllowed
from customercase.domain.ideas import IdeaView, Status
from customercase.domain.mail import Addressing, DeliveryState, OutgoingEmail, Signer
from customercase.domain.notifications import EMAIL_KINDS
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Role
from customercase.services.dispatch import DispatchReport, RetryPolicy, dispatch_due
from customercase.services.ideas import (
    AddComment,
    SubmitIdea,
    add_comment,
    change_status,
    set_watching,
    submit_idea,
)
from customercase.services.identity import (
    RequestPasswordReset,
    delete_account,
    request_password_reset,
)
from customercase.services.notifications import EmailNotifications, list_deliveries
from tests.builders import World

LEASE = 300.0


class Post:
    """A fake world, a fake mailer, and the dispatcher that delivers the world's outbox."""

    def __init__(self, max_attempts: int = 12) -> None:
        self.world = World()
        self.mailer = FakeMailer()
        self.composer = FakeComposer()
        self.addressing = Addressing(
            "https://cases.example.org",
            "reply@in.cases.example.org",
            "cases.example.org",
            Signer(b"k" * 32),
        )
        self.policy = RetryPolicy(
            lease_seconds=LEASE, max_attempts=max_attempts, jitter=lambda: 0.0
        )
        handler = EmailNotifications(
            uow=InMemoryUnitOfWork(self.world.store),
            mailer=self.mailer,
            composer=self.composer,
            addressing=self.addressing,
            ids=self.world.ids,
        )
        self.handlers = dict.fromkeys(EMAIL_KINDS, handler)

    async def dispatch(self) -> DispatchReport:
        return await dispatch_due(
            uow=self.world.uow, handlers=self.handlers, clock=self.world.clock, policy=self.policy
        )

    async def drain(self) -> None:
        """Dispatch until nothing is due now (a fanned-out row's children go the round after)."""
        for _ in range(10):
            if (await self.dispatch()).claimed == 0:
                return
        raise AssertionError("the outbox never drained")

    def mail_to(self, user: User) -> list[OutgoingEmail]:
        return [email for email in self.mailer.sent if email.to == user.email]


@pytest.fixture
def post() -> Post:
    return Post()


async def _forum_with_staff(post: Post) -> tuple[Forum, User]:
    forum = await post.world.forum()
    staff = await post.world.staff(forum.vendor_id, Role.ADMIN)
    return forum, staff


async def _submitted(post: Post, forum: Forum, author: User) -> IdeaView:
    w = post.world
    return await submit_idea(
        SubmitIdea(forum.id, author.id, "Dark mode for the dashboard"),
        uow=w.uow,
        clock=w.clock,
        ids=w.ids,
        spam=w.spam,
    )


async def _comment(post: Post, idea: IdeaView, author: User, body: str = "Yes please") -> None:
    w = post.world
    await add_comment(
        AddComment(idea.idea.id, author.id, body), uow=w.uow, clock=w.clock, ids=w.ids, spam=w.spam
    )


async def test_an_idea_posted_gets_its_author_one_confirmation_that_starts_the_thread(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    author = await post.world.user()
    idea = await _submitted(post, forum, author)

    await post.drain()

    [email] = post.mail_to(author)
    assert email.message_id == post.addressing.thread_id(idea.idea.id)
    assert email.references == ()


async def test_a_comment_reaches_every_watcher_but_its_author_once_in_the_thread(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    author, commenter, watcher = [await post.world.user() for _ in range(3)]
    idea = await _submitted(post, forum, author)
    await set_watching(idea.idea.id, watcher.id, True, uow=post.world.uow)
    await post.drain()
    post.mailer.sent.clear()

    await _comment(post, idea, commenter, "Count me in")
    await post.drain()

    assert sorted(email.to for email in post.mailer.sent) == sorted([author.email, watcher.email])
    assert {email.references for email in post.mailer.sent} == {
        (post.addressing.thread_id(idea.idea.id),)
    }


async def test_a_comment_email_carries_the_comment_body(post: Post) -> None:
    forum, _ = await _forum_with_staff(post)
    author, commenter = await post.world.user(), await post.world.user()
    idea = await _submitted(post, forum, author)

    await _comment(post, idea, commenter, "Count me in")
    await post.drain()

    assert ("new_comment", "Count me in") in [
        (kind, values["comment_body"]) for kind, values in post.composer.composed
    ]


async def test_someone_who_stopped_watching_gets_no_email_about_the_next_comment(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    author, commenter = await post.world.user(), await post.world.user()
    idea = await _submitted(post, forum, author)
    await post.drain()
    post.mailer.sent.clear()
    await set_watching(idea.idea.id, author.id, False, uow=post.world.uow)

    await _comment(post, idea, commenter)
    await post.drain()

    assert post.mailer.sent == []


async def test_a_status_change_reaches_the_watchers_but_not_the_staff_who_made_it(
    post: Post,
) -> None:
    forum, staff = await _forum_with_staff(post)
    author = await post.world.user()
    idea = await _submitted(post, forum, author)
    await set_watching(idea.idea.id, staff.id, True, uow=post.world.uow)
    await post.drain()
    post.mailer.sent.clear()

    w = post.world
    await change_status(idea.idea.id, Status.PLANNED, staff.id, uow=w.uow, clock=w.clock, ids=w.ids)
    await post.drain()

    assert [email.to for email in post.mailer.sent] == [author.email]


async def test_an_outage_leaves_the_email_pending_until_its_retry_is_due(post: Post) -> None:
    forum, _ = await _forum_with_staff(post)
    author = await post.world.user()
    await _submitted(post, forum, author)
    post.mailer.unavailable = 1

    first = await post.dispatch()
    too_soon = await post.dispatch()
    post.world.clock.advance(post.policy.first_delay_seconds)
    await post.drain()

    assert (first.retried, too_soon.claimed) == (1, 0)
    assert len(post.mail_to(author)) == 1


async def test_a_claimed_email_waits_for_its_lease_to_end_before_another_worker_sends_it(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    author = await post.world.user()
    await _submitted(post, forum, author)
    w = post.world
    async with w.uow as uow:  # a worker that claims, then dies before sending
        await uow.outbox.claim(w.clock.now(), w.clock.now() + timedelta(seconds=LEASE), 10)
        await uow.commit()

    during_lease = await post.dispatch()
    w.clock.advance(LEASE)
    after_lease = await post.dispatch()

    assert (during_lease.claimed, after_lease.sent) == (0, 1)
    assert len(post.mail_to(author)) == 1


async def test_an_email_still_failing_after_the_last_attempt_is_failed_for_good() -> None:
    post = Post(max_attempts=1)
    forum, staff = await _forum_with_staff(post)
    author = await post.world.user()
    await _submitted(post, forum, author)
    post.mailer.unavailable = 1

    report = await post.dispatch()

    assert report.failed == 1
    [record] = (await list_deliveries(forum.id, staff.id, None, 10, uow=post.world.uow)).items
    assert (record.state, record.attempts) == ("failed", 1)
    assert record.last_error is not None and "gave up after 1 attempts" in record.last_error


async def test_an_inactive_recipient_is_failed_and_shown_to_staff_with_the_reason(
    post: Post,
) -> None:
    forum, staff = await _forum_with_staff(post)
    author = await post.world.user()
    await _submitted(post, forum, author)
    post.mailer.inactive.add(author.email)

    await post.drain()

    records = (
        await list_deliveries(forum.id, staff.id, DeliveryState.FAILED, 10, uow=post.world.uow)
    ).items
    assert [(r.recipient_email, r.last_error) for r in records] == [
        (author.email, "inactive recipient")
    ]


async def test_deliveries_are_hidden_from_customers(post: Post) -> None:
    forum, _ = await _forum_with_staff(post)
    author = await post.world.user()
    await _submitted(post, forum, author)
    await post.drain()

    with pytest.raises(NotAllowed):
        await list_deliveries(forum.id, author.id, None, 10, uow=post.world.uow)


async def test_deliveries_list_the_newest_first(post: Post) -> None:
    forum, staff = await _forum_with_staff(post)
    first, second = await post.world.user(), await post.world.user()
    await _submitted(post, forum, first)
    post.world.clock.advance(minutes=1)
    await _submitted(post, forum, second)
    await post.drain()

    records = (await list_deliveries(forum.id, staff.id, None, 10, uow=post.world.uow)).items

    assert [r.recipient_email for r in records] == [second.email, first.email]


async def test_deliveries_page_through_every_record_once(post: Post) -> None:
    forum, staff = await _forum_with_staff(post)
    people = [await post.world.user() for _ in range(3)]
    for person in people:
        await _submitted(post, forum, person)
        post.world.clock.advance(minutes=1)
    await post.drain()

    seen, cursor = [], None
    while True:
        found = await list_deliveries(forum.id, staff.id, None, 2, cursor, uow=post.world.uow)
        seen += [r.recipient_email for r in found.items]
        if not (cursor := found.next_cursor):
            break

    assert seen == [p.email for p in reversed(people)]


async def test_a_reset_link_is_sent_and_its_token_erased_from_the_outbox(post: Post) -> None:
    user = await post.world.user()
    w = post.world
    await request_password_reset(
        RequestPasswordReset(user.email), uow=w.uow, clock=w.clock, ids=w.ids
    )

    await post.drain()

    [email] = post.mail_to(user)
    assert "/reset-password?token=" in email.text
    assert [n.payload for n in w.store.tables.outbox.values()] == [{}]


async def test_deleting_an_account_drops_its_unsent_emails_but_keeps_the_sent_ones(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    author = await post.world.user()
    sent = await _submitted(post, forum, author)
    await post.drain()
    await _submitted(post, forum, author)

    await delete_account(author.id, uow=post.world.uow)

    outbox = post.world.store.tables.outbox.values()
    assert [n.idea_id for n in outbox if n.recipient_id == author.id] == [sent.idea.id]


async def test_someone_who_stopped_watching_is_not_among_the_comment_deliveries_staff_see(
    post: Post,
) -> None:
    forum, staff = await _forum_with_staff(post)
    author, commenter = await post.world.user(), await post.world.user()
    idea = await _submitted(post, forum, author)
    await post.drain()
    await set_watching(idea.idea.id, author.id, False, uow=post.world.uow)

    await _comment(post, idea, commenter)
    await post.drain()

    records = (await list_deliveries(forum.id, staff.id, None, 10, uow=post.world.uow)).items
    assert [r.kind for r in records] == ["request_submitted"]


async def test_of_two_workers_claiming_one_email_at_once_only_the_first_keeps_it(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    await _submitted(post, forum, await post.world.user())
    first, second = InMemoryUnitOfWork(post.world.store), InMemoryUnitOfWork(post.world.store)
    now = post.world.clock.now()
    until = now + timedelta(seconds=LEASE)

    async with first, second:
        mine = await first.outbox.claim(now, until, 10)
        theirs = await second.outbox.claim(now, until, 10)
        await first.commit()
        with pytest.raises(LostRace):
            await second.commit()

    assert len(mine) == len(theirs) == 1
    [delivery] = post.world.store.tables.deliveries.values()
    assert delivery.attempts == 1


async def test_a_worker_claiming_after_another_committed_its_claim_gets_nothing(
    post: Post,
) -> None:
    forum, _ = await _forum_with_staff(post)
    await _submitted(post, forum, await post.world.user())
    first, second = InMemoryUnitOfWork(post.world.store), InMemoryUnitOfWork(post.world.store)
    now = post.world.clock.now()
    until = now + timedelta(seconds=LEASE)

    async with first:
        await first.outbox.claim(now, until, 10)
        await first.commit()
    async with second:
        theirs = await second.outbox.claim(now, until, 10)
        await second.commit()

    assert theirs == []
