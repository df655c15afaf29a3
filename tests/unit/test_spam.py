"""Spam defence rules: what each verdict does to a post, and the HTML form guard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customercase.domain.errors import NotAllowed
from customercase.domain.ideas import IdeaView
from customercase.domain.spam import Fate, Moderation, Verdict, fate_of
from customercase.domain.users import User
from customercase.domain.vendors import Forum
from customercase.services.ideas import SubmitIdea, submit_idea
from customercase.services.moderation import Decide, decide
from customercase.services.spam import form_looks_human, issue_form_token, recheck_posts
from tests.builders import NOW, World

KEY = "secret-key"


@pytest.mark.parametrize(
    ("verdict", "first_post_held", "fate"),
    [
        (Verdict.BLATANT, False, Fate.DROP),
        (Verdict.SPAM, False, Fate.HOLD),
        (Verdict.HAM, False, Fate.PUBLISH),
        (Verdict.UNKNOWN, False, Fate.PUBLISH),
        (Verdict.HAM, True, Fate.HOLD),
        (Verdict.UNKNOWN, True, Fate.HOLD),
        (Verdict.BLATANT, True, Fate.DROP),
    ],
)
def test_each_verdict_decides_the_fate_of_a_post(
    verdict: Verdict, first_post_held: bool, fate: Fate
) -> None:
    assert fate_of(verdict, holds_first_post=first_post_held, is_first_post=True) is fate


def test_a_form_sent_after_a_few_seconds_with_an_empty_honeypot_looks_human() -> None:
    token = issue_form_token(KEY, NOW)

    assert form_looks_human(token, "", KEY, NOW + timedelta(seconds=10))


@pytest.mark.parametrize(
    ("honeypot", "seconds", "key"),
    [("http://spam.example", 10, KEY), ("", 1, KEY), ("", 2 * 86400, KEY), ("", 10, "other")],
)
def test_a_filled_honeypot_a_hasty_or_stale_form_or_a_forged_token_looks_like_a_bot(
    honeypot: str, seconds: int, key: str
) -> None:
    token = issue_form_token(key, NOW)

    assert not form_looks_human(token, honeypot, KEY, NOW + timedelta(seconds=seconds))


def test_a_missing_or_garbled_token_looks_like_a_bot() -> None:
    assert not form_looks_human(None, "", KEY, NOW)
    assert not form_looks_human("abc.def", "", KEY, NOW)


async def test_a_post_published_during_an_outage_stays_queued_while_the_filter_is_down() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    view = await submit_idea(
        SubmitIdea(forum.id, author.id, "Dark mode [[unreachable]]"),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )

    before = dict(world.store.tables.moderation_cases)
    counts = await recheck_posts(uow=world.uow, spam=world.spam, clock=world.clock)

    assert view.idea.is_published and before[view.idea.id].state == "recheck"
    assert counts[Verdict.UNKNOWN] == 1
    assert world.store.tables.moderation_cases[view.idea.id].state == "recheck"


async def test_a_post_the_filter_cannot_judge_for_days_leaves_the_recheck_queue() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    view = await submit_idea(
        SubmitIdea(forum.id, author.id, "Dark mode [[unreachable]]"),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )
    world.clock.advance(days=4)

    await recheck_posts(uow=world.uow, spam=world.spam, clock=world.clock)

    assert world.store.tables.moderation_cases[view.idea.id].state == "cleared"
    assert world.store.tables.ideas[view.idea.id].is_published


async def submit(world: World, forum: Forum, author: User, summary: str) -> IdeaView:
    return await submit_idea(
        SubmitIdea(forum.id, author.id, summary),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )


async def decide_on(
    world: World, post_id: str, staff: User, *, approve: bool, and_author: bool = False
) -> None:
    await decide(
        Decide(post_id, staff.id, approve, and_author),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )


async def test_held_spam_sends_no_notification_until_staff_approve_it() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    staff = await world.staff(forum.vendor_id)
    view = await submit(world, forum, author, "Cheap watches [[spam]]")
    before = [n.kind for n in world.store.tables.outbox.values()]

    await decide_on(world, view.idea.id, staff, approve=True)

    assert before == []
    assert [n.kind for n in world.store.tables.outbox.values()] == ["request_submitted"]
    assert [s.content for s in world.spam.reported_ham] == ["Cheap watches [[spam]]"]
    assert world.spam.reported_spam == []


async def test_staff_and_trusted_posters_are_not_screened() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    staff = await world.staff(forum.vendor_id)
    held = await submit(world, forum, author, "First [[spam]]")
    await decide_on(world, held.idea.id, staff, approve=True, and_author=True)
    world.spam.checked.clear()

    by_staff = await submit(world, forum, staff, "Staff [[spam]]")
    by_trusted = await submit(world, forum, author, "Trusted [[spam]]")

    assert by_staff.idea.is_published and by_trusted.idea.is_published
    assert world.spam.checked == []


async def test_a_blocked_poster_cannot_post_in_any_of_the_vendors_forums() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    other = await world.forum(vendor_id=forum.vendor_id)
    staff = await world.staff(forum.vendor_id)
    held = await submit(world, forum, author, "Buy [[spam]]")
    await decide_on(world, held.idea.id, staff, approve=False, and_author=True)

    with pytest.raises(NotAllowed):
        await submit(world, other, author, "Another idea")

    assert world.spam.reported_spam == []  # Akismet called it spam already: no mistake to report


async def test_only_the_first_post_is_held_in_a_forum_that_holds_first_posts() -> None:
    world = World()
    forum, author = await world.forum(holds_first_posts=True), await world.user()
    staff = await world.staff(forum.vendor_id)

    first = await submit(world, forum, author, "My first idea")
    await decide_on(world, first.idea.id, staff, approve=True)
    second = await submit(world, forum, author, "My second idea")

    assert not first.idea.is_published and second.idea.is_published
    assert world.spam.reported_ham == []


async def test_blatant_spam_leaves_no_trace() -> None:
    world = World()
    forum, author = await world.forum(), await world.user()

    view = await submit(world, forum, author, "Buy now [[discard]]")

    assert view.idea.moderation is Moderation.HELD
    assert world.store.tables.ideas == {} and world.store.tables.moderation_cases == {}
    assert world.store.tables.outbox == {}
