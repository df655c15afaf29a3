"""Search (`q`) and similar ideas through the API, on SQLite and on PostgreSQL (API.md)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customercase.adapters.sql import repositories
from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.domain.ideas import IdeaQuery
from customercase.domain.spam import Moderation
from customercase.services import ideas
from tests.integration.conftest import Browser
from tests.integration.seed import forum_with_idea
from tests.integration.walk import open_forum, sign_up, submit

SUMMARIES = [
    "Export reports to CSV",
    "Dark mode for the dashboard",
    "Mode switch: dark or light in settings",
    "Café menu in the app",
    "中文搜索支持",
    "Faster dashboard loading",
]


async def _forum_of(browser: Browser, summaries: list[str] = SUMMARIES) -> tuple[Any, str]:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    for summary in summaries:
        await submit(client, forum["id"], summary)
    return client, forum["id"]


async def _found(client: Any, forum_id: str, q: str, **params: Any) -> list[str]:
    response = await client.get(f"/api/v1/forums/{forum_id}/ideas", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [item["summary"] for item in response.json()["items"]]


async def test_a_word_finds_other_forms_of_it(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    found = await _found(client, forum_id, "exporting report ")

    assert found == ["Export reports to CSV"]


async def test_a_quoted_phrase_needs_its_words_side_by_side(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    phrase = await _found(client, forum_id, '"dark mode"')
    words = await _found(client, forum_id, "dark mode")

    assert phrase == ["Dark mode for the dashboard"]
    assert sorted(words) == [
        "Dark mode for the dashboard",
        "Mode switch: dark or light in settings",
    ]


async def test_a_minus_word_excludes_ideas_holding_it(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    found = await _found(client, forum_id, "dark -dashboard")
    only_exclusions = await _found(client, forum_id, "-dashboard -mode")

    assert found == ["Mode switch: dark or light in settings"]
    assert sorted(only_exclusions) == sorted(
        ["Export reports to CSV", "Café menu in the app", "中文搜索支持"]
    )


async def test_the_last_word_matches_as_a_prefix_while_typing(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    typing = await _found(client, forum_id, "faster dashb")
    earlier_word = await _found(client, forum_id, "dashb faster")

    assert typing == ["Faster dashboard loading"]
    assert earlier_word == []


async def test_accents_case_and_cjk_are_searchable(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    accented = await _found(client, forum_id, "CAFÉ")
    cjk = await _found(client, forum_id, "中文搜索支持")
    symbols = await _found(client, forum_id, '"" - !!! ??')

    assert accented == ["Café menu in the app"]
    assert cjk == ["中文搜索支持"]
    assert len(symbols) == len(SUMMARIES)


async def test_a_word_no_idea_holds_finds_nothing(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    found = await _found(client, forum_id, "zeppelin")

    assert found == []


async def test_more_votes_rank_an_equal_match_higher(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser, ["Calendar sync", "Calendar export"])
    listed = await client.get(f"/api/v1/forums/{forum_id}/ideas", params={"sort": "new"})
    older = listed.json()["items"][-1]
    for _ in range(3):
        voter = await browser()
        await sign_up(voter)
        await voter.put(f"/api/v1/ideas/{older['id']}/vote")

    found = await _found(client, forum_id, "calendar")

    assert found == ["Calendar sync", "Calendar export"]


async def test_pages_of_a_search_hold_every_match_once(browser: Browser) -> None:
    summaries = [f"Widget number {n}" for n in range(7)] + ["Something else"]
    client, forum_id = await _forum_of(browser, summaries)
    seen: list[str] = []
    cursor = None

    for _ in range(10):
        params: dict[str, Any] = {"q": "widget", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"/api/v1/forums/{forum_id}/ideas", params=params)).json()
        seen += [item["summary"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(summaries[:7])


async def test_a_private_forum_is_not_searched_by_outsiders(browser: Browser) -> None:
    staff, outsider = await browser(), await browser()
    await sign_up(staff)
    await sign_up(outsider)
    forum = await open_forum(staff, "private")
    await submit(staff, forum["id"], "Secret roadmap item")

    searched = await outsider.get(f"/api/v1/forums/{forum['id']}/ideas", params={"q": "secret"})
    similar = await outsider.get(
        f"/api/v1/forums/{forum['id']}/ideas/similar", params={"q": "secret roadmap"}
    )
    own = await _found(staff, forum["id"], "secret")

    assert searched.status_code == similar.status_code == 404
    assert own == ["Secret roadmap item"]


async def _similar(client: Any, forum_id: str, q: str) -> list[str]:
    response = await client.get(f"/api/v1/forums/{forum_id}/ideas/similar", params={"q": q})
    assert response.status_code == 200, response.text
    return [item["summary"] for item in response.json()["items"]]


async def test_a_misspelled_summary_finds_its_duplicate(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser)

    misspelled = await _similar(client, forum_id, "dashbaord drak mode")
    reordered = await _similar(client, forum_id, "the dashboard in dark mode")
    unrelated = await _similar(client, forum_id, "zeppelin")

    assert misspelled[0] == "Dark mode for the dashboard"
    assert reordered[0] == "Dark mode for the dashboard"
    assert unrelated == []


async def test_similar_answers_at_most_five(browser: Browser) -> None:
    client, forum_id = await _forum_of(browser, [f"Report builder {n}" for n in range(8)])

    found = await _similar(client, forum_id, "report builder")

    assert len(found) == 5


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=60))
def test_any_query_text_is_answered_never_an_error(
    loop_container: tuple[asyncio.AbstractEventLoop, Container], q: str
) -> None:
    loop, container = loop_container

    async def scenario() -> tuple[int, int]:
        seeded = await forum_with_idea(container, 0)
        page = await ideas.list_ideas(IdeaQuery(seeded.forum_id, text=q), None, uow=container.uow())
        similar = await ideas.similar_ideas(seeded.forum_id, q, None, uow=container.uow())
        return len(page.items), len(similar)

    found, similar = loop.run_until_complete(scenario())

    assert found <= 1 and similar <= 1


@pytest.mark.parametrize("container", ["postgresql"], indirect=True)
async def test_a_forum_searches_in_its_own_language(container: Container) -> None:
    french, english = await forum_with_idea(container, 1), await forum_with_idea(container, 1)
    async with container.uow() as uow:
        forum = await uow.forums.get(french.forum_id)
        assert forum is not None
        await uow.forums.update(replace(forum, search_language="french"))
        await uow.commit()
    for seeded in (french, english):
        await ideas.submit_idea(
            ideas.SubmitIdea(seeded.forum_id, seeded.users[0], "Exporter les rapports"),
            uow=container.uow(),
            clock=container.clock(),
            ids=container.ids(),
            spam=container.spam(),
        )

    in_french = await ideas.list_ideas(
        IdeaQuery(french.forum_id, text="rapport exporté"), None, uow=container.uow()
    )
    in_english = await ideas.list_ideas(
        IdeaQuery(english.forum_id, text="rapport exporté"), None, uow=container.uow()
    )

    assert [v.idea.summary for v in in_french.items] == ["Exporter les rapports"]
    assert in_english.items == []


async def test_staff_choose_a_forums_search_language_and_an_unknown_one_is_refused(
    browser: Browser, container: Container
) -> None:
    staff, forum_id = await _forum_of(browser, ["Die Benachrichtigungen kommen zu spät"])

    refused = await staff.patch(f"/api/v1/forums/{forum_id}", json={"search_language": "klingon"})
    changed = await staff.patch(f"/api/v1/forums/{forum_id}", json={"search_language": "german"})
    found = await _found(staff, forum_id, "Benachrichtigung")

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "search_language" in refused.text
    assert changed.json()["search_language"] == "german"
    if container.settings().database_url.startswith("postgresql"):
        # German stemming: the singular finds the plural (English stemming does not).
        assert found == ["Die Benachrichtigungen kommen zu spät"]


async def test_an_idea_held_for_moderation_is_neither_searched_nor_suggested(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 1)
    async with container.uow() as uow:
        await uow.moderation.set_idea_moderation(seeded.idea_id, Moderation.HELD)
        await uow.commit()

    found = await ideas.list_ideas(
        IdeaQuery(seeded.forum_id, text="seeded"), seeded.users[0], uow=container.uow()
    )
    similar = await ideas.similar_ideas(
        seeded.forum_id, "Seeded idea", seeded.users[0], uow=container.uow()
    )

    assert found.items == []
    assert similar == []


async def _add_ideas(container: Container, forum_id: str, rows: list[tuple[str, int, int]]) -> None:
    """Ideas straight into the table: (summary, votes, minutes from now it was posted)."""
    now = datetime.now(UTC)
    async with container.engine().begin() as conn:
        author = await conn.scalar(
            sa.select(t.ideas.c.author_id).where(t.ideas.c.forum_id == forum_id)
        )
        for summary, votes, minutes in rows:
            at = now + timedelta(minutes=minutes)
            await conn.execute(
                t.ideas.insert().values(
                    id=uuid.uuid4().hex, forum_id=forum_id, author_id=author, summary=summary,
                    description="", status="open", votes=votes, comments=0, heat=0.0,
                    moderation=Moderation.PUBLISHED.value, created_at=at, updated_at=at,
                )
            )  # fmt: skip


@pytest.mark.parametrize("container", ["postgresql"], indirect=True)
async def test_a_common_word_is_ranked_among_the_most_voted_and_newest_matches(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 1M ideas these are 1,000 each and 20; here a forum of a dozen shows the same shape.
    monkeypatch.setattr(repositories, "SEARCH_POPULAR", 3)
    monkeypatch.setattr(repositories, "SEARCH_RECENT", 3)
    monkeypatch.setattr(repositories, "SEARCH_COMMON", 2)
    seeded = await forum_with_idea(container, 0)
    # Calendar 0 is the oldest and most voted, Calendar 9 the newest with no vote.
    await _add_ideas(
        container, seeded.forum_id, [(f"Calendar {k}", 9 - k, k + 1) for k in range(10)]
    )
    await _add_ideas(container, seeded.forum_id, [("Calendar gizmo", 0, -5)])

    common = await ideas.list_ideas(
        IdeaQuery(seeded.forum_id, text="calendar"), None, uow=container.uow()
    )
    rare = await ideas.list_ideas(
        IdeaQuery(seeded.forum_id, text="gizmo"), None, uow=container.uow()
    )

    assert [v.idea.summary for v in common.items] == [
        "Calendar 0", "Calendar 1", "Calendar 2", "Calendar 7", "Calendar 8", "Calendar 9"
    ]  # fmt: skip
    assert [v.idea.summary for v in rare.items] == ["Calendar gizmo"]


@pytest.mark.parametrize("container", ["postgresql"], indirect=True)
async def test_similar_ideas_find_a_duplicate_among_many_sharing_its_common_words(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 0)
    await _add_ideas(
        container, seeded.forum_id, [(f"Sync board {k} to calendar", 0, k) for k in range(40)]
    )
    await _add_ideas(container, seeded.forum_id, [("Outlook calendar sync", 0, 41)])
    async with container.engine().begin() as conn:
        await conn.execute(sa.text("ANALYZE ideas"))  # the word statistics similar ideas read

    async def first(q: str) -> str:
        found = await ideas.similar_ideas(seeded.forum_id, q, None, uow=container.uow())
        return found[0].idea.summary

    assert await first("sync outlook calender") == "Outlook calendar sync"  # one word misspelled
    assert await first("calender sync with outlok") == "Outlook calendar sync"  # two of three


async def test_a_long_summary_reworded_and_misspelled_finds_its_duplicate(
    container: Container,
) -> None:
    # Long enough that SQLite searches only its rarest trigrams, and PostgreSQL its least
    # common words, among many ideas that share the common ones.
    seeded = await forum_with_idea(container, 0)
    others = [(f"Export the weekly report with invitations {k}", 0, k) for k in range(30)]
    await _add_ideas(container, seeded.forum_id, others)
    await _add_ideas(container, seeded.forum_id, [("Synchronise calendar invitations", 0, 31)])

    found = await ideas.similar_ideas(
        seeded.forum_id, "invitations synchronize calendar", None, uow=container.uow()
    )

    assert found[0].idea.summary == "Synchronise calendar invitations"


@pytest.mark.parametrize("container", ["postgresql"], indirect=True)
async def test_a_typed_prefix_finds_every_word_it_begins_including_words_added_since(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The prefix is read as the exact words it begins (the vocabulary triggers keep), or as a
    # prefix when it begins more of them than SEARCH_EXPANSIONS: the same answer either way.
    # No idea is walked first, so every match comes from the index and the vocabulary.
    monkeypatch.setattr(repositories, "SEARCH_POPULAR", 0)
    monkeypatch.setattr(repositories, "SEARCH_RECENT", 0)
    seeded = await forum_with_idea(container, 0)
    await _add_ideas(
        container,
        seeded.forum_id,
        [("Guest checkout", 0, 1), ("Guess the price", 0, 2), ("Reports for guests", 0, 3)],
    )

    async def found(q: str) -> list[str]:
        page = await ideas.list_ideas(IdeaQuery(seeded.forum_id, text=q), None, uow=container.uow())
        return sorted(v.idea.summary for v in page.items)

    before = await found("gue")
    await _add_ideas(container, seeded.forum_id, [("Guerrilla marketing kit", 0, 4)])
    async with container.engine().begin() as conn:
        await conn.execute(
            t.ideas.update()
            .where(t.ideas.c.summary == "Guess the price")
            .values(summary="Guesstimate the price")
        )
    after = await found("gue")
    async with container.engine().connect() as conn:
        vocabulary = await conn.scalars(
            sa.text("SELECT lexeme FROM search_lexemes WHERE lexeme LIKE 'gue%' ORDER BY 1")
        )
        begun = list(vocabulary)
    stemmed = await found("checkout guests")  # typed `guests` is `guest`: finds "Guest"
    monkeypatch.setattr(repositories, "SEARCH_EXPANSIONS", 1)
    as_prefix = await found("gue")

    assert before == ["Guess the price", "Guest checkout", "Reports for guests"]
    assert after == [
        "Guerrilla marketing kit", "Guesstimate the price", "Guest checkout", "Reports for guests"
    ]  # fmt: skip
    assert begun == ["guerrilla", "guess", "guesstim", "guest"]
    assert stemmed == ["Guest checkout"]
    assert as_prefix == after
