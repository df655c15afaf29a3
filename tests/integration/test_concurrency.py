"""Counters stay exact when many people act at once (real transactions, both databases)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from customercase.adapters.fakes.spam import FakeSpamFilter
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


@pytest.mark.parametrize("container", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("instant", [True, False], ids=["one-transaction", "read-then-write"])
async def test_comments_and_votes_racing_keep_every_counter_exact(
    container: Container, instant: bool
) -> None:
    # With an instant filter a comment is one transaction on the locked idea; with one that
    # asks over the network, a read and then the write: the counters end exact either way.
    seeded = await forum_with_idea(container, 60)
    idea_id, people = seeded.idea_id, seeded.users
    spam = FakeSpamFilter(is_instant=instant)

    await asyncio.gather(
        *(
            ideas.add_comment(
                ideas.AddComment(idea_id, person, f"Comment {n}, racing the others."),
                uow=container.uow(),
                clock=container.clock(),
                ids=container.ids(),
                spam=spam,
            )
            for n, person in enumerate(people[:30])
        ),
        *(ideas.vote(idea_id, p, uow=container.uow(), clock=container.clock()) for p in people),
    )

    assert await _counted_and_rows(container, idea_id) == (60, 60)
    async with container.engine().connect() as conn:
        comments = await conn.scalar(sa.select(t.ideas.c.comments).where(t.ideas.c.id == idea_id))
        rows = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(t.comments)
            .where(t.comments.c.idea_id == idea_id)
        )
        moves = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(t.idea_moves)
            .where(t.idea_moves.c.idea_id == idea_id)
        )
    assert (comments, rows) == (30, 30)
    assert moves == 90  # one logged move per vote and per comment
