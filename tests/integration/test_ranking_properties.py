"""Keyset walks through `top` and `trending` while votes and comments change between pages."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customercase.bootstrap import Container
from customercase.domain.ideas import CommentSource, Idea, IdeaQuery, Sort
from customercase.domain.ids import IdeaId, UserId
from customercase.services import ideas
from tests.integration.seed import forum_with_idea

PEOPLE = 4
CHANGE = st.tuples(
    st.integers(0, 7), st.integers(0, PEOPLE - 1), st.sampled_from(["vote", "unvote", "comment"])
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sort=st.sampled_from([Sort.TOP, Sort.TRENDING]),
    initial=st.lists(st.lists(st.integers(0, PEOPLE - 1), max_size=PEOPLE), min_size=2, max_size=8),
    limit=st.integers(1, 3),
    between_pages=st.lists(st.lists(CHANGE, max_size=6), max_size=10),
)
def test_pages_of_a_walk_never_repeat_or_skip_an_idea_while_votes_move(
    loop_container: tuple[asyncio.AbstractEventLoop, Container],
    sort: Sort,
    initial: list[list[int]],
    limit: int,
    between_pages: list[list[tuple[int, int, str]]],
) -> None:
    loop, container = loop_container

    async def act(idea_id: IdeaId, user: UserId, action: str) -> None:
        uow, clock = container.uow(), container.clock()
        if action == "vote":
            await ideas.vote(idea_id, user, uow=uow, clock=clock)
        elif action == "unvote":
            await ideas.unvote(idea_id, user, uow=uow)
        else:
            cmd = ideas.AddComment(idea_id, user, "Me too", CommentSource.WEB)
            await ideas.add_comment(
                cmd, uow=uow, clock=clock, ids=container.ids(), spam=container.spam()
            )

    async def scenario() -> tuple[list[IdeaId], list[IdeaId]]:
        seeded = await forum_with_idea(container, PEOPLE)
        ids = [seeded.idea_id]
        async with container.uow() as uow:
            for n in range(len(initial) - 1):
                idea = Idea.submit(
                    id=IdeaId(uuid.uuid4().hex),
                    forum_id=seeded.forum_id,
                    author_id=seeded.users[0],
                    summary=f"Idea {n}",
                    description=None,
                    now=datetime.now(UTC),
                )
                await uow.ideas.add(idea)
                ids.append(idea.id)
            await uow.commit()
        for idea_id, voters in zip(ids, initial, strict=True):
            for who in voters:
                await act(idea_id, seeded.users[who], "vote")
        seen: list[IdeaId] = []
        cursor = None
        for page_number in range(len(ids) + 2):
            query = IdeaQuery(seeded.forum_id, sort, limit=limit, after=cursor)
            page = await ideas.list_ideas(query, None, uow=container.uow())
            seen += [view.idea.id for view in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
            for which, who, action in (between_pages[page_number:] or [[]])[0]:
                await act(ids[which % len(ids)], seeded.users[who], action)
        return ids, seen

    ids, seen = loop.run_until_complete(scenario())

    assert len(seen) == len(set(seen))
    assert set(seen) == set(ids)
