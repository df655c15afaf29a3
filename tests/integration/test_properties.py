"""Invariants over any sequence of actions, against the real SQL adapters on both databases."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, build_container, read_settings
from customercase.domain.ideas import CommentSource
from customercase.services import ideas
from tests.integration.seed import forum_with_idea

ACTIONS = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["vote", "unvote", "watch", "unwatch"])),
    max_size=25,
)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=3, max_size=200)


@pytest.fixture(params=["sqlite", "postgresql"])
def own_loop_container(
    request: pytest.FixtureRequest, database_urls: dict[str, str]
) -> Iterator[tuple[asyncio.AbstractEventLoop, Container]]:
    """A container whose connections live on a loop of this test's own, for hypothesis."""
    loop = asyncio.new_event_loop()
    container = build_container(read_settings({}, database_url=database_urls[request.param]))
    loop.run_until_complete(upgrade(container.engine()))
    yield loop, container
    loop.run_until_complete(container.engine().dispose())
    loop.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_any_actions_leave_every_counter_equal_to_its_rows(
    own_loop_container: tuple[asyncio.AbstractEventLoop, Container],
    actions: list[tuple[int, str]],
) -> None:
    loop, container = own_loop_container

    async def scenario() -> tuple[int, int, dict[str, bool], dict[str, bool]]:
        seeded = await forum_with_idea(container, 4)
        idea_id, users = seeded.idea_id, seeded.users
        voted: dict[str, bool] = {}
        watching: dict[str, bool] = {}
        for who, action in actions:
            user, uow = users[who], container.uow()
            if action == "vote":
                await ideas.vote(idea_id, user, uow=uow, clock=container.clock())
                voted[user] = True
            elif action == "unvote":
                await ideas.unvote(idea_id, user, uow=uow)
                voted[user] = False
            else:
                await ideas.set_watching(idea_id, user, action == "watch", uow=uow)
                watching[user] = action == "watch"
        seen_votes = {
            u: (await ideas.get_idea(idea_id, u, uow=container.uow())).voted_by_me for u in users
        }
        seen_watch = {
            u: (await ideas.get_idea(idea_id, u, uow=container.uow())).watching for u in users
        }
        async with container.engine().connect() as conn:
            counted = await conn.scalar(sa.select(t.ideas.c.votes).where(t.ideas.c.id == idea_id))
            rows = await conn.scalar(
                sa.select(sa.func.count()).select_from(t.votes).where(t.votes.c.idea_id == idea_id)
            )
        expected_votes = {u: voted.get(u, False) for u in users}
        expected_watch = {u: watching.get(u, False) for u in users}
        assert seen_votes == expected_votes
        assert seen_watch == expected_watch
        return int(counted or 0), int(rows or 0), seen_votes, expected_votes

    counted, rows, _, expected = loop.run_until_complete(scenario())

    assert counted == rows == sum(expected.values())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(summary=TEXT, body=TEXT)
def test_summaries_and_bodies_of_any_unicode_round_trip(
    own_loop_container: tuple[asyncio.AbstractEventLoop, Container],
    summary: str,
    body: str,
) -> None:
    loop, container = own_loop_container
    expected_summary = " ".join(unicodedata.normalize("NFC", summary).split())
    expected_body = unicodedata.normalize("NFC", body).strip()
    assume(3 <= len(expected_summary) <= 200 and expected_body)

    async def scenario() -> tuple[str, str]:
        seeded = await forum_with_idea(container, 1)
        forum_id, users = seeded.forum_id, seeded.users
        view = await ideas.submit_idea(
            ideas.SubmitIdea(forum_id, users[0], summary),
            uow=container.uow(),
            clock=container.clock(),
            ids=container.ids(),
            spam=container.spam(),
        )
        await ideas.add_comment(
            ideas.AddComment(view.idea.id, users[0], body, CommentSource.WEB),
            uow=container.uow(),
            clock=container.clock(),
            ids=container.ids(),
            spam=container.spam(),
        )
        stored = await ideas.get_idea(view.idea.id, users[0], uow=container.uow())
        comments = await ideas.list_comments(view.idea.id, users[0], 5, None, uow=container.uow())
        return stored.idea.summary, comments.items[0].comment.body

    stored_summary, stored_body = loop.run_until_complete(scenario())

    assert stored_summary == expected_summary
    assert stored_body == expected_body
