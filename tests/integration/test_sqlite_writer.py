"""SQLite, the default: writers queue in the server, in order; readers never wait for them."""

from __future__ import annotations

import asyncio

import pytest

from customercase.bootstrap import Container
from customercase.services import ideas
from tests.integration.seed import forum_with_idea

pytestmark = pytest.mark.parametrize("container", ["sqlite"], indirect=True)


async def test_a_reader_is_answered_while_a_writer_holds_the_database(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter = seeded.users[0]
    async with container.uow() as writing:
        await writing.votes.add(seeded.idea_id, voter, container.clock().now())
        # Uncommitted: a reader sees the idea as it was, at once.
        seen = await asyncio.wait_for(
            ideas.get_idea(seeded.idea_id, voter, uow=container.uow()), timeout=2
        )
        assert (seen.idea.votes, seen.voted_by_me) == (0, False)
        await writing.commit()

    seen = await ideas.get_idea(seeded.idea_id, voter, uow=container.uow())
    assert (seen.idea.votes, seen.voted_by_me) == (1, True)


async def test_writers_waiting_for_the_database_get_it_in_the_order_they_asked(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 20)
    served: list[int] = []

    async def write(n: int) -> None:
        async with container.uow() as uow:
            served.append(n)
            await uow.votes.add(seeded.idea_id, seeded.users[n], container.clock().now())
            await asyncio.sleep(0)  # let the others queue meanwhile
            await uow.commit()

    async with container.uow() as first:  # holds the writer's place while the others queue
        waiting = []
        for n in range(20):
            waiting.append(asyncio.create_task(write(n)))
            await asyncio.sleep(0)
        await first.commit()
    await asyncio.gather(*waiting)

    assert served == list(range(20))
    after = await ideas.get_idea(seeded.idea_id, None, uow=container.uow())
    assert after.idea.votes == 20
