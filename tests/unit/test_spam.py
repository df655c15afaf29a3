"""Spam defence rules: what each verdict does to a post, and the HTML form guard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customercase.domain.spam import Fate, Verdict, fate_of
from customercase.services.ideas import SubmitIdea, submit_idea
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
