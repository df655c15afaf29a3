"""The list cache: anonymous visitors of a public forum may get its first page a few seconds
old, never a private forum's; signed-in people get its order, with counts read afresh and
their own marks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import providers

from customercase.adapters.local.lists import LocalListCache
from customercase.adapters.local.sessions import LocalSessionCache
from customercase.bootstrap import Container, build_container
from customercase.domain.ideas import IdeaQuery
from customercase.domain.ids import ForumId
from customercase.entrypoints.http.app import create_asgi
from tests.integration.conftest import browsers_of
from tests.integration.walk import open_forum, sign_up, submit

TTL = 30.0


class Seconds:
    """The cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def process(
    container: Container, clock: Seconds, ttl: float = TTL, cache: LocalListCache | None = None
) -> AsyncIterator[Callable[[], Any]]:
    """One web process on the container's database, with a list cache and a session cache of
    its own, both on the test's clock."""
    own = build_container(container.settings())
    own.lists.override(providers.Object(cache or LocalListCache(ttl, clock=clock)))
    own.session_cache.override(providers.Object(LocalSessionCache(ttl, clock=clock)))
    async with browsers_of(create_asgi(own)) as open_browser:
        yield open_browser
    await own.engine().dispose()


async def votes_seen(client: Any, forum_id: str) -> list[int]:
    response = await client.get(f"/api/v1/forums/{forum_id}/ideas")
    assert response.status_code == 200, response.text
    return [i["votes"] for i in response.json()["items"]]


async def test_anonymous_visitors_get_the_kept_page_until_it_expires(container: Container) -> None:
    clock = Seconds()
    async with process(container, clock) as browser:
        staff, voter, anonymous = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(voter)
        forum = await open_forum(staff)
        idea = await submit(staff, forum["id"], "Export to CSV")
        assert await votes_seen(anonymous, forum["id"]) == [1]

        await voter.put(f"/api/v1/ideas/{idea['id']}/vote")
        kept = await votes_seen(anonymous, forum["id"])
        mine = (await voter.get(f"/api/v1/forums/{forum['id']}/ideas")).json()["items"][0]
        clock.now += TTL + 0.1
        fresh = await votes_seen(anonymous, forum["id"])

    assert kept == [1]  # the kept page: a vote does not throw it away
    assert mine["votes"] == 2 and mine["voted_by_me"] is True  # signed in: counts exact
    assert fresh == [2]


def marks_seen(response: Any) -> list[tuple[int, bool, bool]]:
    assert response.status_code == 200, response.text
    return [(i["votes"], i["voted_by_me"], i["watching"]) for i in response.json()["items"]]


async def test_my_vote_shows_with_its_count_at_once_while_the_page_is_kept(
    container: Container,
) -> None:
    async with process(container, Seconds()) as browser:
        staff, me, anonymous = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(me)
        forum = await open_forum(staff)
        idea = await submit(staff, forum["id"], "Export to CSV")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"
        kept_before = await votes_seen(anonymous, forum["id"])
        before = marks_seen(await me.get(ideas))

        await me.put(f"/api/v1/ideas/{idea['id']}/vote")
        after = marks_seen(await me.get(ideas))
        kept_after = await votes_seen(anonymous, forum["id"])

    assert before == [(1, False, False)]
    assert after == [(2, True, False)]
    assert kept_before == kept_after == [1]  # the page was kept all along


async def test_another_persons_vote_shows_in_my_counts_at_once(container: Container) -> None:
    async with process(container, Seconds()) as browser:
        staff, voter, me = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(voter)
        await sign_up(me)
        forum = await open_forum(staff)
        idea = await submit(staff, forum["id"], "Export to CSV")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"
        before = marks_seen(await me.get(ideas))

        await voter.put(f"/api/v1/ideas/{idea['id']}/vote")
        after = marks_seen(await me.get(ideas))

    assert (before, after) == ([(1, False, False)], [(2, False, False)])


async def test_my_marks_never_reach_another_person_or_a_visitor(container: Container) -> None:
    """The author voted for and watches their idea; the first to list it keeps the page."""
    async with process(container, Seconds()) as browser:
        author, other, anonymous = await browser(), await browser(), await browser()
        await sign_up(author)
        await sign_up(other)
        forum = await open_forum(author)
        await submit(author, forum["id"], "Export to CSV")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"

        by_author = marks_seen(await author.get(ideas))
        by_other = marks_seen(await other.get(ideas))
        by_anonymous = marks_seen(await anonymous.get(ideas))
        by_author_again = marks_seen(await author.get(ideas))

    assert by_author == by_author_again == [(1, True, True)]
    assert by_other == by_anonymous == [(1, False, False)]


async def test_a_signed_in_viewer_gets_fresh_counts_in_the_kept_order_until_it_expires(
    container: Container,
) -> None:
    clock = Seconds()
    async with process(container, clock) as browser:
        staff, voter, me = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(voter)
        await sign_up(me)
        forum = await open_forum(staff)
        older = await submit(staff, forum["id"], "Export to CSV")
        await submit(staff, forum["id"], "Dark mode")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"
        await me.get(ideas)

        await voter.put(f"/api/v1/ideas/{older['id']}/vote")
        kept_order = await me.get(ideas)
        clock.now += TTL + 0.1
        fresh_order = await me.get(ideas)

    def summaries_and_votes(response: Any) -> list[tuple[str, int]]:
        return [(i["summary"], i["votes"]) for i in response.json()["items"]]

    assert summaries_and_votes(kept_order) == [("Dark mode", 1), ("Export to CSV", 2)]
    assert summaries_and_votes(fresh_order) == [("Export to CSV", 2), ("Dark mode", 1)]


async def test_a_new_idea_shows_at_once_in_the_process_that_took_it(container: Container) -> None:
    async with process(container, Seconds()) as browser:
        staff, anonymous = await browser(), await browser()
        await sign_up(staff)
        forum = await open_forum(staff)
        await submit(staff, forum["id"], "Export to CSV")
        before = await votes_seen(anonymous, forum["id"])
        await submit(staff, forum["id"], "Dark mode")
        after = await votes_seen(anonymous, forum["id"])

    assert (before, after) == ([1], [1, 1])


async def test_a_forum_turned_private_is_never_answered_from_the_cache(
    container: Container,
) -> None:
    """In the process that made the change, at once; in another, once its pages expire."""
    here_clock, there_clock = Seconds(), Seconds()
    async with (
        process(container, here_clock) as here,
        process(container, there_clock) as there,
    ):
        staff, anonymous_here, anonymous_there = await here(), await here(), await there()
        await sign_up(staff)
        forum = await open_forum(staff)
        await submit(staff, forum["id"], "Export to CSV")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"
        assert (await anonymous_here.get(ideas)).status_code == 200
        assert (await anonymous_there.get(ideas)).status_code == 200

        turned = await staff.patch(f"/api/v1/forums/{forum['id']}", json={"visibility": "private"})
        assert turned.status_code == 200
        here_now = (await anonymous_here.get(ideas)).status_code
        there_within_ttl = (await anonymous_there.get(ideas)).status_code
        there_clock.now += TTL + 0.1
        there_after_ttl = (await anonymous_there.get(ideas)).status_code
        here_later = (await anonymous_here.get(ideas)).status_code

    assert here_now == 404
    assert there_within_ttl == 200  # the bound documented: another process's pages expire
    assert there_after_ttl == 404 and here_later == 404


async def test_a_private_forum_is_never_kept(container: Container) -> None:
    cache = LocalListCache(TTL, clock=Seconds())
    async with process(container, Seconds(), cache=cache) as browser:
        staff, stranger, anonymous = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(stranger)
        forum = await open_forum(staff, "private")
        idea = await submit(staff, forum["id"], "Export to CSV")
        ideas = f"/api/v1/forums/{forum['id']}/ideas"
        by_staff = marks_seen(await staff.get(ideas))
        by_stranger = await stranger.get(ideas)
        by_anonymous = await anonymous.get(ideas)
        await staff.delete(f"/api/v1/ideas/{idea['id']}/vote")
        by_staff_after_unvoting = marks_seen(await staff.get(ideas))

    assert by_staff == [(1, True, True)] and by_staff_after_unvoting == [(0, False, True)]
    assert by_stranger.status_code == 404 and by_anonymous.status_code == 404
    assert cache.get(IdeaQuery(ForumId(forum["id"]))) is None


async def test_a_time_to_live_of_zero_keeps_nothing(container: Container) -> None:
    async with process(container, Seconds(), ttl=0) as browser:
        staff, voter, anonymous = await browser(), await browser(), await browser()
        await sign_up(staff)
        await sign_up(voter)
        forum = await open_forum(staff)
        idea = await submit(staff, forum["id"], "Export to CSV")
        before = await votes_seen(anonymous, forum["id"])
        await voter.put(f"/api/v1/ideas/{idea['id']}/vote")
        after = await votes_seen(anonymous, forum["id"])

    assert (before, after) == ([1], [2])


async def test_a_session_ended_server_side_lists_as_a_visitor(container: Container) -> None:
    clock = Seconds()
    async with process(container, clock) as browser:
        staff, voter = await browser(), await browser()
        await sign_up(staff)
        voter_user = await sign_up(voter)
        forum = await open_forum(staff)
        idea = await submit(staff, forum["id"], "Export to CSV")
        await voter.put(f"/api/v1/ideas/{idea['id']}/vote")
        signed_in = (await voter.get(f"/api/v1/forums/{forum['id']}/ideas")).json()["items"][0]
        # Ended by another process: this one honours it once its kept session expires.
        async with container.uow() as uow:
            await uow.sessions.delete_all_of(voter_user["id"])
            await uow.commit()
        clock.now += TTL
        ended = await voter.get(f"/api/v1/forums/{forum['id']}/ideas")

    assert signed_in["voted_by_me"] is True
    assert ended.status_code == 200  # the cookie it still sends names no session: a visitor
    assert (
        ended.json()["items"][0]["votes"] == 2 and ended.json()["items"][0]["voted_by_me"] is False
    )
