"""The repositories the in-memory fake grew for mail, Google sign-in and Jira: the SQL adapter
(both engines) and the fake, held to the same assertions.

The database is shared with other tests, so every row here has fresh ids, and what is claimed
or swept by time (outbox rows, sign-in flows) is dated in a far-off year of its own: each test
takes an earlier year than the one before, so neither its claims and sweeps nor anyone else's
(today's) reach another test's rows.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from customercase.domain.ideas import Comment, CommentSource, Idea
from customercase.domain.ids import ForumId, IdeaId, UserId, VendorId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import UnitOfWork
from customercase.domain.privacy import erased_email
from customercase.domain.tracker import TrackerConnection
from customercase.domain.users import SignInFlow, User
from customercase.domain.vendors import Forum, JiraBinding, Role, Vendor, Visibility
from tests.builders import NOW
from tests.integration.test_moderation_repository import new_uow as new_uow  # the fixture

NewUow = Callable[[], UnitOfWork]
# Each test takes a year of the 30th century for itself, counting down (see the docstring).
# Each test claims at an earlier year than the one before, and before anything other tests
# queue (they run in the present): no row but its own is ever due when it claims.
_years = itertools.count(1999, -1)


def _id() -> str:
    return uuid.uuid4().hex


def _ancient() -> datetime:
    return datetime(next(_years), 1, 1, tzinfo=UTC)


async def _world(new_uow: NewUow, **forum: object) -> tuple[Forum, User, Idea]:
    user = User(UserId(_id()), f"{_id()}@example.org", "Ada", NOW)
    vendor = Vendor(VendorId(_id()), "V", _id()[:20], NOW)
    fields: dict[str, object] = {
        "id": ForumId(_id()),
        "vendor_id": vendor.id,
        "name": "F",
        "slug": "f",
        "visibility": Visibility.PUBLIC,
        "mailbox_hash": _id()[:16],
        "created_at": NOW,
    } | forum
    made = Forum(**fields)  # type: ignore[arg-type]
    idea = Idea.submit(
        id=IdeaId(_id()),
        forum_id=made.id,
        author_id=user.id,
        summary="Idea",
        description=None,
        now=NOW,
    )
    async with new_uow() as uow:
        await uow.users.add(user)
        await uow.vendors.add(vendor)
        await uow.forums.add(made)
        await uow.ideas.add(idea)
        await uow.commit()
    return made, user, idea


async def _user(new_uow: NewUow, **overrides: object) -> User:
    user = User(
        **(
            {"id": UserId(_id()), "email": f"{_id()}@example.org", "name": "Bob", "created_at": NOW}
            | overrides
        )
    )  # type: ignore[arg-type]
    async with new_uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


def _note(idea: Idea, user: User | None, at: datetime, **payload: str) -> Notification:
    # A kind the mail tests do not count by, so these rows never show up in their tallies.
    return Notification(
        _id(),
        NotificationKind.NEW_PARTICIPANT,
        at,
        recipient_id=user.id if user else None,
        idea_id=idea.id,
        payload=payload,
    )


# ---- the outbox ----


async def test_a_claimed_row_is_hidden_until_its_lease_ends_and_counts_each_try(
    new_uow: NewUow,
) -> None:
    _, user, idea = await _world(new_uow)
    at = _ancient()
    note = _note(idea, user, at)
    async with new_uow() as uow:
        await uow.outbox.add(note)
        await uow.commit()

    seen = []
    for now in (at, at + timedelta(minutes=1), at + timedelta(minutes=5)):
        async with new_uow() as uow:
            claims = await uow.outbox.claim(now, now + timedelta(minutes=5), 10)
            await uow.commit()
        seen.append([(c.notification.id, c.attempts) for c in claims])

    assert seen == [[(note.id, 1)], [], [(note.id, 2)]]


async def test_claims_take_the_due_rows_oldest_first_up_to_the_limit(new_uow: NewUow) -> None:
    _, user, idea = await _world(new_uow)
    at = _ancient()
    notes = [_note(idea, user, at + timedelta(seconds=n)) for n in range(3)]
    async with new_uow() as uow:
        for note in reversed(notes):
            await uow.outbox.add(note)
        await uow.commit()

    async with new_uow() as uow:
        claims = await uow.outbox.claim(at + timedelta(minutes=1), at + timedelta(hours=1), 2)
        await uow.commit()

    assert [c.notification for c in claims] == notes[:2]


async def test_a_retried_row_waits_for_its_new_time_and_a_finished_one_is_never_claimed(
    new_uow: NewUow,
) -> None:
    forum, user, idea = await _world(new_uow)
    at = _ancient()
    retried, finished = _note(idea, user, at), _note(idea, user, at, token="secret")
    async with new_uow() as uow:
        await uow.outbox.add(retried)
        await uow.outbox.add(finished)
        await uow.commit()

    async with new_uow() as uow:
        await uow.outbox.retry_at(retried.id, at + timedelta(hours=1), "429")
        await uow.outbox.finish(finished, DeliveryState.SENT, at)
        await uow.commit()
    async with new_uow() as uow:
        soon = await uow.outbox.claim(at + timedelta(minutes=59), at + timedelta(days=1), 10)
        await uow.commit()
    async with new_uow() as uow:
        later = await uow.outbox.claim(at + timedelta(hours=1), at + timedelta(days=1), 10)
        records = await uow.outbox.deliveries(forum.id, None, 10)
        await uow.commit()

    assert (soon, [c.notification.id for c in later]) == ([], [retried.id])
    by_id = {r.id: r for r in records}
    assert (by_id[retried.id].state, by_id[retried.id].last_error) == ("pending", "429")
    assert (by_id[finished.id].state, by_id[finished.id].done_at) == ("sent", at)


async def test_a_finished_row_is_not_reopened_by_a_late_retry(new_uow: NewUow) -> None:
    forum, user, idea = await _world(new_uow)
    at = _ancient()
    note = _note(idea, user, at)
    async with new_uow() as uow:
        await uow.outbox.add(note)
        await uow.commit()

    async with new_uow() as uow:
        await uow.outbox.finish(note, DeliveryState.FAILED, at, "inactive recipient")
        await uow.outbox.retry_at(note.id, at, "a late retry")
        await uow.commit()
    async with new_uow() as uow:
        claims = await uow.outbox.claim(at + timedelta(days=1), at + timedelta(days=2), 10)
        [record] = await uow.outbox.deliveries(forum.id, None, 10)
        await uow.commit()

    assert claims == []
    assert (record.state, record.last_error) == ("failed", "inactive recipient")


async def test_a_row_is_closed_once_and_a_late_worker_is_told_it_lost(new_uow: NewUow) -> None:
    forum, user, idea = await _world(new_uow)
    at = _ancient()
    note = _note(idea, user, at)
    async with new_uow() as uow:
        await uow.outbox.add(note)
        await uow.commit()

    async with new_uow() as uow:
        first = await uow.outbox.finish(note, DeliveryState.SENT, at)
        await uow.commit()
    async with new_uow() as uow:
        late = await uow.outbox.finish(note, DeliveryState.FAILED, at, "lease ran out")
        [record] = await uow.outbox.deliveries(forum.id, None, 10)
        await uow.commit()

    assert (first, late) == (True, False)
    assert (record.state, record.last_error) == ("sent", None)


async def test_deliveries_are_the_forums_rows_with_a_recipient_newest_first(
    new_uow: NewUow,
) -> None:
    forum, user, idea = await _world(new_uow)
    _, _, elsewhere = await _world(new_uow)
    at = _ancient()
    old, new = _note(idea, user, at), _note(idea, user, at + timedelta(seconds=1))
    fan_out, foreign = _note(idea, None, at), _note(elsewhere, user, at)
    async with new_uow() as uow:
        for note in (old, new, fan_out, foreign):
            await uow.outbox.add(note)
        await uow.commit()
    async with new_uow() as uow:
        await uow.outbox.finish(old, DeliveryState.SENT, at)
        await uow.commit()

    async with new_uow() as uow:
        every = await uow.outbox.deliveries(forum.id, None, 10)
        pending = await uow.outbox.deliveries(forum.id, DeliveryState.PENDING, 10)
        one = await uow.outbox.deliveries(forum.id, None, 1)

    assert [(r.id, r.recipient_email) for r in every] == [
        (new.id, user.email),
        (old.id, user.email),
    ]
    assert [r.id for r in pending] == [new.id]
    assert [r.id for r in one] == [new.id]


async def test_erasing_a_user_drops_their_unsent_rows_and_keeps_the_sent(new_uow: NewUow) -> None:
    forum, _, idea = await _world(new_uow)
    user = await _user(new_uow)
    at = _ancient()
    sent, unsent = _note(idea, user, at), _note(idea, user, at + timedelta(seconds=1))
    async with new_uow() as uow:
        await uow.outbox.add(sent)
        await uow.outbox.add(unsent)
        await uow.commit()
    async with new_uow() as uow:
        await uow.outbox.finish(sent, DeliveryState.SENT, at)
        await uow.users.erase(user.id)
        await uow.commit()

    async with new_uow() as uow:
        records = await uow.outbox.deliveries(forum.id, None, 10)

    assert [(r.id, r.recipient_email) for r in records] == [(sent.id, erased_email(user.id))]


# ---- users, watches and forums ----


async def test_a_google_account_links_to_one_user_verifies_them_and_is_let_go_on_erasure(
    new_uow: NewUow,
) -> None:
    user = await _user(new_uow)
    subject = _id()

    async with new_uow() as uow:
        await uow.users.link_google(user.id, subject)
        await uow.commit()
    async with new_uow() as uow:
        linked = await uow.users.by_google_subject(subject)
        await uow.users.erase(user.id)
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.users.by_google_subject(subject)

    assert linked is not None and (linked.id, linked.email_verified) == (user.id, True)
    assert after is None


async def test_watchers_are_those_watching_now_in_id_order(new_uow: NewUow) -> None:
    _, author, idea = await _world(new_uow)
    stays, leaves = await _user(new_uow), await _user(new_uow)

    async with new_uow() as uow:
        await uow.watches.start(idea.id, author.id)
        await uow.watches.set(idea.id, stays.id, True)
        await uow.watches.set(idea.id, leaves.id, False)
        await uow.commit()
    async with new_uow() as uow:
        watchers = await uow.watches.watchers(idea.id)
        flags = [await uow.watches.is_watching(idea.id, u.id) for u in (author, stays, leaves)]

    assert watchers == sorted([author.id, stays.id])
    assert flags == [True, True, False]


async def test_involved_viewers_are_everyone_with_a_trace_in_the_forum(new_uow: NewUow) -> None:
    forum, author, idea = await _world(new_uow)
    voter, commenter, unwatched, invited, staff, stranger = [await _user(new_uow) for _ in range(6)]
    async with new_uow() as uow:
        await uow.votes.add(idea.id, voter.id, NOW)
        await uow.comments.add(
            Comment.write(
                id=_id(),  # type: ignore[arg-type]
                idea_id=idea.id,
                author_id=commenter.id,
                body="Hi",
                source=CommentSource.WEB,
                now=NOW,
            ),
            NOW,
        )
        await uow.watches.set(idea.id, unwatched.id, False)
        await uow.forums.invite(forum.id, [invited.email])
        await uow.vendors.add_staff(forum.vendor_id, staff.id, Role.AGENT)
        await uow.commit()

    async with new_uow() as uow:
        viewers = await uow.forums.involved_viewers(forum)
        named = await uow.forums.viewers_with_emails(forum, [staff.email, invited.email])
        nobody = await uow.forums.viewers_with_emails(forum, [])

    assert {v.user.id for v in viewers if v.user} == {
        author.id,
        voter.id,
        commenter.id,
        unwatched.id,
        invited.id,
    }
    assert stranger.id not in {v.user.id for v in viewers if v.user}
    assert {(v.user.id, v.role, v.is_invited) for v in named if v.user} == {
        (staff.id, Role.AGENT, False),
        (invited.id, None, True),
    }
    assert nobody == []


async def test_a_forum_is_found_by_its_mailbox_hash(new_uow: NewUow) -> None:
    forum, _, _ = await _world(new_uow)

    async with new_uow() as uow:
        found = await uow.forums.by_mailbox_hash(forum.mailbox_hash)
        missing = await uow.forums.by_mailbox_hash(_id()[:16])

    assert (found, missing) == (forum, None)


# ---- participants, inbound mail, sign-in flows ----


async def test_a_participant_and_an_inbound_message_are_each_recorded_once(
    new_uow: NewUow,
) -> None:
    _, staff, idea = await _world(new_uow)
    person = await _user(new_uow)
    message_id = _id()

    answers = []
    for _ in range(2):
        async with new_uow() as uow:
            answers.append(
                (
                    await uow.participants.add(idea.id, person.id, staff.id, NOW),
                    await uow.inbound.first_sighting(message_id, NOW),
                )
            )
            await uow.commit()

    assert answers == [(True, True), (False, False)]


async def test_a_sign_in_flow_is_taken_once_and_not_after_it_expired(new_uow: NewUow) -> None:
    at = _ancient()
    live = SignInFlow(_id(), "nonce", "verifier", at + timedelta(minutes=10))
    stale = SignInFlow(_id(), "nonce", "verifier", at)
    async with new_uow() as uow:
        await uow.sign_in_flows.add(live)
        await uow.sign_in_flows.add(stale)
        await uow.commit()

    async with new_uow() as uow:
        first = await uow.sign_in_flows.take(live.state_hash, at)
        again = await uow.sign_in_flows.take(live.state_hash, at)
        expired = await uow.sign_in_flows.take(stale.state_hash, at)
        await uow.commit()
    async with new_uow() as uow:
        swept = await uow.sign_in_flows.sweep(at + timedelta(days=1))
        await uow.commit()

    assert (first, again, expired) == (live, None, None)
    assert swept == 0  # the expired flow went when it was taken


async def test_sweeping_sign_in_flows_deletes_only_the_expired(new_uow: NewUow) -> None:
    at = _ancient()
    flows = [SignInFlow(_id(), "n", "v", at + timedelta(minutes=m)) for m in (0, 1, 2)]
    async with new_uow() as uow:
        for flow in flows:
            await uow.sign_in_flows.add(flow)
        await uow.commit()

    async with new_uow() as uow:
        swept = await uow.sign_in_flows.sweep(at + timedelta(minutes=1))
        left = await uow.sign_in_flows.take(flows[2].state_hash, at)
        await uow.commit()

    assert (swept, left) == (2, flows[2])


# ---- Jira ----


async def test_a_sync_lease_has_one_holder_until_it_ends_or_is_released(new_uow: NewUow) -> None:
    forum, _, _ = await _world(new_uow)

    async def take(holder: str, minutes: int) -> bool:
        now = NOW + timedelta(minutes=minutes)
        async with new_uow() as uow:
            taken = await uow.tracker.take_lease(forum.id, holder, now, now + timedelta(minutes=5))
            await uow.commit()
        return taken

    async def release(holder: str) -> None:
        async with new_uow() as uow:
            await uow.tracker.release_lease(forum.id, holder)
            await uow.commit()

    answers = [await take("a", 0), await take("b", 1), await take("a", 2), await take("b", 8)]
    await release("a")  # b holds it now: nothing happens
    blocked = await take("a", 9)
    await release("b")
    freed = await take("a", 9)

    assert answers == [True, False, True, True]
    assert (blocked, freed) == (False, True)


async def test_a_sync_cursor_starts_empty_and_keeps_what_was_set(new_uow: NewUow) -> None:
    forum, _, _ = await _world(new_uow)

    async with new_uow() as uow:
        before = await uow.tracker.cursor(forum.id)
        await uow.tracker.set_cursor(forum.id, NOW)
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.tracker.cursor(forum.id)

    assert (before, after) == (None, NOW)


async def test_a_connection_is_replaced_and_the_bound_forums_listed_oldest_first(
    new_uow: NewUow,
) -> None:
    project = _id()[:10].upper()
    older, _, _ = await _world(new_uow, jira=JiraBinding(project))
    newer, _, _ = await _world(new_uow, jira=JiraBinding(project), created_at=NOW + timedelta(1))
    await _world(new_uow)

    async with new_uow() as uow:
        await uow.tracker.save_connection(
            older.vendor_id, TrackerConnection("https://a", "a@x.org", "s1"), NOW
        )
        await uow.tracker.save_connection(
            older.vendor_id, TrackerConnection("https://b", "b@x.org", "s2"), NOW
        )
        await uow.commit()
    async with new_uow() as uow:
        connection = await uow.tracker.connection(older.vendor_id)
        bound = await uow.tracker.bound_forums(project)
        every = await uow.tracker.bound_forums()

    assert connection == TrackerConnection("https://b", "b@x.org", "s2")
    assert [f.id for f in bound] == [older.id, newer.id]
    assert {older.id, newer.id} <= {f.id for f in every}


async def test_ideas_and_comments_are_linked_to_their_issue_and_found_by_it(
    new_uow: NewUow,
) -> None:
    forum, user, idea = await _world(new_uow)
    comment = Comment.write(
        id=_id(),  # type: ignore[arg-type]
        idea_id=idea.id,
        author_id=user.id,
        body="Hi",
        source=CommentSource.WEB,
        now=NOW,
    )
    async with new_uow() as uow:
        await uow.comments.add(comment, NOW)
        await uow.tracker.link_idea(idea.id, "SUP-7")
        await uow.tracker.link_comment(comment.id, "10001")
        await uow.tracker.set_summary(idea.id, "Renamed in Jira", NOW + timedelta(1))
        await uow.commit()

    async with new_uow() as uow:
        found = await uow.tracker.idea_by_key(forum.id, "SUP-7")
        has = await uow.tracker.has_comment(idea.id, "10001")
        other = await uow.tracker.has_comment(idea.id, "10002")
        stored = await uow.tracker.comment(comment.id)

    assert found is not None and (found.id, found.summary) == (idea.id, "Renamed in Jira")
    assert (has, other) == (True, False)
    assert stored is not None and stored.tracker_comment_id == "10001"


async def test_a_webhook_delivery_is_first_seen_once_by_its_first_128_characters(
    new_uow: NewUow,
) -> None:
    delivery = _id() * 5  # 160 characters: the column keeps 128

    answers = []
    for seen_as in (delivery, delivery, delivery[:128] + "different tail"):
        async with new_uow() as uow:
            answers.append(await uow.tracker.first_delivery(seen_as, NOW))
            await uow.commit()

    assert answers == [True, False, False]
