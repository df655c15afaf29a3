"""Counters stay exact when many people act at once (real transactions, both databases)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.domain.ids import IdeaId, UserId
from customercase.services import ideas
from tests.integration.seed import forum_with_idea


async def _counted_and_rows(container: Container, idea_id: IdeaId) -> tuple[int, int]:
    async with container.engine().connect() as conn:
        counted = await conn.scalar(sa.select(t.ideas.c.votes).where(t.ideas.c.id == idea_id))
        rows = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.votes).where(t.votes.c.idea_id == idea_id)
        )
    return int(counted or 0), int(rows or 0)


@pytest.mark.parametrize("container", ["sqlite", "postgresql"], indirect=True)
async def test_two_hundred_people_voting_at_once_make_two_hundred_votes(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 200)
    idea_id, voters = seeded.idea_id, seeded.users

    await asyncio.gather(
        *(
            ideas.vote(idea_id, voter, uow=container.uow(), clock=container.clock())
            for voter in voters
        )
    )

    assert await _counted_and_rows(container, idea_id) == (200, 200)


@pytest.mark.parametrize("container", ["sqlite", "postgresql"], indirect=True)
async def test_one_person_voting_fifty_times_at_once_makes_one_vote(container: Container) -> None:
    seeded = await forum_with_idea(container, 1)
    idea_id, voter = seeded.idea_id, seeded.users[0]

    await asyncio.gather(
        *(
            ideas.vote(idea_id, voter, uow=container.uow(), clock=container.clock())
            for _ in range(50)
        )
    )

    assert await _counted_and_rows(container, idea_id) == (1, 1)


@pytest.mark.parametrize("container", ["sqlite", "postgresql"], indirect=True)
async def test_votes_and_unvotes_racing_leave_the_counter_equal_to_the_rows(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 40)
    idea_id, voters = seeded.idea_id, seeded.users

    async def flip(voter: UserId) -> None:
        for _ in range(3):
            await ideas.vote(idea_id, voter, uow=container.uow(), clock=container.clock())
            await ideas.unvote(idea_id, voter, uow=container.uow())
        await ideas.vote(idea_id, voter, uow=container.uow(), clock=container.clock())

    await asyncio.gather(*(flip(v) for v in voters))

    assert await _counted_and_rows(container, idea_id) == (40, 40)
