"""Searching a forum's ideas and finding likely duplicates, on the fake unit of work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from customercase.domain.errors import InvalidField
from customercase.domain.ideas import IdeaQuery, IdeaView, Page, Sort
from customercase.domain.spam import Moderation
from customercase.domain.vendors import Forum
from customercase.services.ideas import list_ideas, similar_ideas, unvote, vote
from tests.builders import NOW, World

SUMMARIES = [
    "Export reports to CSV",
    "Dark mode for the dashboard",
    "Mode switch: dark or light in settings",
    "Café menu in the app",
    "中文搜索支持",
    "Faster dashboard loading",
]


@pytest.fixture
def world() -> World:
    return World()


async def _forum_of(world: World, summaries: list[str] = SUMMARIES) -> Forum:
    forum, author = await world.forum(), await world.user()
    for n, summary in enumerate(summaries):
        await world.idea(forum, author, summary=summary, created_at=NOW + timedelta(minutes=n))
    return forum


async def _page(world: World, forum: Forum, **query: Any) -> Page[IdeaView]:
    return await list_ideas(IdeaQuery(forum.id, **query), None, uow=world.uow)


async def _found(world: World, forum: Forum, text: str) -> list[str]:
    return [v.idea.summary for v in (await _page(world, forum, text=text)).items]


async def test_a_word_finds_other_forms_of_it(world: World) -> None:
    forum = await _forum_of(world)

    assert await _found(world, forum, "exporting report ") == ["Export reports to CSV"]


async def test_a_quoted_phrase_needs_its_words_side_by_side(world: World) -> None:
    forum = await _forum_of(world)

    phrase = await _found(world, forum, '"dark mode"')
    words = await _found(world, forum, "dark mode")

    assert phrase == ["Dark mode for the dashboard"]
    assert sorted(words) == [
        "Dark mode for the dashboard",
        "Mode switch: dark or light in settings",
    ]


async def test_a_minus_word_excludes_ideas_holding_it(world: World) -> None:
    forum = await _forum_of(world)

    found = await _found(world, forum, "dark -dashboard")
    only_exclusions = await _found(world, forum, "-dashboard -mode")

    assert found == ["Mode switch: dark or light in settings"]
    assert sorted(only_exclusions) == sorted(
        ["Export reports to CSV", "Café menu in the app", "中文搜索支持"]
    )


async def test_the_last_word_matches_as_a_prefix_while_typing(world: World) -> None:
    forum = await _forum_of(world)

    typing = await _found(world, forum, "faster dashb")
    earlier_word = await _found(world, forum, "dashb faster")

    assert typing == ["Faster dashboard loading"]
    assert earlier_word == []


async def test_case_accents_and_cjk_are_searchable(world: World) -> None:
    forum = await _forum_of(world)

    assert await _found(world, forum, "CAFÉ") == ["Café menu in the app"]
    assert await _found(world, forum, "中文搜索支持") == ["中文搜索支持"]


async def test_more_votes_rank_an_equal_match_higher(world: World) -> None:
    forum = await _forum_of(world, ["Calendar sync", "Calendar export"])
    first = (await _page(world, forum, sort=Sort.NEW)).items[-1].idea
    for _ in range(3):
        voter = await world.user()
        await vote(first.id, voter.id, uow=world.uow, clock=world.clock)

    assert await _found(world, forum, "calendar") == ["Calendar sync", "Calendar export"]


async def test_held_and_merged_ideas_are_not_found(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    shown = await world.idea(forum, author, summary="Widget export")
    await world.idea(forum, author, summary="Widget held", moderation=Moderation.HELD)
    await world.idea(forum, author, summary="Widget merged", merged_into=shown.id)

    assert await _found(world, forum, "widget") == ["Widget export"]


async def test_pages_of_a_search_hold_every_match_once(world: World) -> None:
    summaries = [f"Widget number {n}" for n in range(7)] + ["Something else"]
    forum = await _forum_of(world, summaries)
    seen: list[str] = []

    page = await _page(world, forum, text="widget", limit=2)
    seen += [v.idea.summary for v in page.items]
    while page.next_cursor is not None and len(seen) <= len(summaries):
        page = await _page(world, forum, text="widget", limit=2, after=page.next_cursor)
        seen += [v.idea.summary for v in page.items]

    assert sorted(seen) == sorted(summaries[:7])


async def test_a_cursor_of_a_plain_list_is_refused_by_a_search(world: World) -> None:
    forum = await _forum_of(world)
    plain = await _page(world, forum, limit=1)

    with pytest.raises(InvalidField) as error:
        await _page(world, forum, text="dark", after=plain.next_cursor)

    assert error.value.field == "cursor"


@pytest.mark.parametrize("sort", [Sort.TOP, Sort.TRENDING])
async def test_votes_cast_during_a_walk_neither_repeat_nor_skip_an_idea(
    world: World, sort: Sort
) -> None:
    forum = await _forum_of(world, [f"Idea {n}" for n in range(5)])
    voter = await world.user()
    oldest = (await _page(world, forum, sort=Sort.NEW)).items[-1].idea
    await vote(oldest.id, voter.id, uow=world.uow, clock=world.clock)
    ranked = [v.idea.id for v in (await _page(world, forum, sort=sort)).items]
    seen = []

    page = await _page(world, forum, sort=sort, limit=2)
    seen += [v.idea.id for v in page.items]
    await unvote(oldest.id, voter.id, uow=world.uow)
    await vote(ranked[2], voter.id, uow=world.uow, clock=world.clock)
    while page.next_cursor is not None and len(seen) <= 5:
        page = await _page(world, forum, sort=sort, limit=2, after=page.next_cursor)
        seen += [v.idea.id for v in page.items]

    assert seen == ranked


async def test_a_misspelled_summary_finds_its_duplicate(world: World) -> None:
    forum = await _forum_of(world)

    async def similar(text: str) -> list[str]:
        views = await similar_ideas(forum.id, text, None, uow=world.uow)
        return [v.idea.summary for v in views]

    assert (await similar("dashbaord drak mode"))[0] == "Dark mode for the dashboard"
    assert (await similar("the dashboard in dark mode"))[0] == "Dark mode for the dashboard"
    assert await similar("zeppelin") == []


async def test_similar_answers_at_most_five(world: World) -> None:
    forum = await _forum_of(world, [f"Report builder {n}" for n in range(8)])

    found = await similar_ideas(forum.id, "report builder", None, uow=world.uow)

    assert len(found) == 5
