"""A vote or comment judged on an idea read without a lock, and the idea changing before it is
written.

On PostgreSQL a vote or a comment reads the idea without a lock and writes through functions
(cast_vote, withdraw_vote, move_counters) that lock it and write only if it is still as read;
otherwise it is judged again on a locked read. On SQLite a writing unit of work holds the
database's lock from its first statement, so nothing can change between the read and the
write: these races exist on PostgreSQL alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.adapters.sql import tables as t
from customercase.adapters.sql.repositories import SqlIdeaRepository
from customercase.bootstrap import Container
from customercase.domain.errors import IdeaMerged, IdeaNotFound
from customercase.domain.ids import IdeaId, UserId
from customercase.services import ideas
from tests.integration.seed import forum_with_idea

pytestmark = pytest.mark.parametrize("container", ["postgresql"], indirect=True)


def _after_first_unlocked_read(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[], Awaitable[None]]
) -> list[bool]:
    """Run `change` (committed elsewhere) right after the next unlocked read of an idea in a
    unit of work, as another request would between the vote's read and its write; the locks
    of the reads made, in order."""
    reads: list[bool] = []
    opened = SqlIdeaRepository.opened

    async def opened_then_changed(self: Any, *args: Any, lock: bool = False) -> Any:
        found = await opened(self, *args, lock=lock)
        reads.append(lock)
        if not lock and len(reads) == 1:
            await change()
        return found

    monkeypatch.setattr(SqlIdeaRepository, "opened", opened_then_changed)
    return reads


async def _elsewhere(container: Container, stmt: Any) -> None:
    async with container.engine().begin() as conn:
        await conn.execute(stmt)


async def _traces(container: Container, idea_id: IdeaId, *tables: sa.Table) -> list[int]:
    """The idea's vote and comment counters, then how many rows of each table are the idea's."""
    async with container.engine().connect() as conn:
        counters = (
            await conn.execute(
                sa.select(t.ideas.c.votes, t.ideas.c.comments).where(t.ideas.c.id == idea_id)
            )
        ).one()
        rows = [
            await conn.scalar(
                sa.select(sa.func.count()).select_from(table).where(table.c.idea_id == idea_id)
            )
            for table in tables
        ]
    return [*counters, *(int(r or 0) for r in rows)]


async def _votes(container: Container, idea_id: IdeaId) -> tuple[int, int, int]:
    """The vote counter, the vote rows and the logged moves of an idea."""
    votes, _, rows, moves = await _traces(container, idea_id, t.votes, t.idea_moves)
    return votes, rows, moves


def _merged_after_read(
    container: Container, monkeypatch: pytest.MonkeyPatch, idea_id: IdeaId, into: IdeaId
) -> list[bool]:
    """The idea merged into another (as staff elsewhere would) right after the next unlocked
    read of it; the locks of the reads made."""
    merge = t.ideas.update().where(t.ideas.c.id == idea_id).values(merged_into=into)
    return _after_first_unlocked_read(monkeypatch, lambda: _elsewhere(container, merge))


async def test_a_vote_on_an_idea_merged_after_it_was_read_is_refused_as_merged(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 1)
    other = await forum_with_idea(container, 0)
    reads = _merged_after_read(container, monkeypatch, seeded.idea_id, other.idea_id)

    with pytest.raises(IdeaMerged):
        await ideas.vote(
            seeded.idea_id, seeded.users[0], uow=container.uow(), clock=container.clock()
        )

    assert reads == [False, True]  # judged again on a locked read
    assert await _votes(container, seeded.idea_id) == (0, 0, 0)


async def test_a_vote_on_an_idea_rejected_after_it_was_read_finds_no_idea(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 1)
    reject = t.ideas.update().where(t.ideas.c.id == seeded.idea_id).values(moderation="rejected")
    _after_first_unlocked_read(monkeypatch, lambda: _elsewhere(container, reject))

    with pytest.raises(IdeaNotFound):
        await ideas.vote(
            seeded.idea_id, seeded.users[0], uow=container.uow(), clock=container.clock()
        )

    assert await _votes(container, seeded.idea_id) == (0, 0, 0)


async def test_a_vote_counts_the_votes_cast_between_its_read_and_its_write(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 2)
    first, second = seeded.users

    async def another_vote() -> None:
        await ideas.vote(seeded.idea_id, second, uow=container.uow(), clock=container.clock())

    reads = _after_first_unlocked_read(monkeypatch, another_vote)

    view = await ideas.vote(seeded.idea_id, first, uow=container.uow(), clock=container.clock())

    assert reads[0] is False and len(reads) == 2  # the second read is the other vote's own
    assert view.voted_by_me and view.idea.votes == 2
    assert await _votes(container, seeded.idea_id) == (2, 2, 2)


async def test_an_unvote_after_the_vote_was_withdrawn_and_cast_again_withdraws_the_new_one(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter: UserId = seeded.users[0]
    await ideas.vote(seeded.idea_id, voter, uow=container.uow(), clock=container.clock())

    async def again() -> None:
        # Another tab withdraws and votes again: the vote read is not the one there now.
        await ideas.unvote(seeded.idea_id, voter, uow=container.uow())
        await ideas.vote(seeded.idea_id, voter, uow=container.uow(), clock=container.clock())

    _after_first_unlocked_read(monkeypatch, again)

    view = await ideas.unvote(seeded.idea_id, voter, uow=container.uow())

    assert not view.voted_by_me and view.idea.votes == 0
    counted, rows, moves = await _votes(container, seeded.idea_id)
    assert (counted, rows, moves) == (0, 0, 4)  # cast, withdrawn, cast, withdrawn
    async with container.engine().connect() as conn:
        heat = await conn.scalar(sa.select(t.ideas.c.heat).where(t.ideas.c.id == seeded.idea_id))
    assert heat == 0.0  # each withdrawal took back exactly what its vote gave


async def test_nothing_may_be_written_after_a_vote_that_committed_on_its_own(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter = seeded.users[0]

    async with container.uow() as uow:
        await uow.ideas.opened(seeded.idea_id, voter)
        await uow.votes.cast(seeded.idea_id, voter, container.clock().now())
        with pytest.raises(AssertionError, match="wrote alone"):
            await uow.watches.set(seeded.idea_id, voter, False)
        # Left without commit: the vote stands all the same (it was its own transaction).

    assert await _votes(container, seeded.idea_id) == (1, 1, 1)


def _comment(seeded: Any, container: Container, body: str = "Yes, please.") -> Any:
    return ideas.add_comment(
        ideas.AddComment(seeded.idea_id, seeded.users[0], body),
        uow=container.uow(),
        clock=container.clock(),
        ids=container.ids(),
        spam=FakeSpamFilter(is_instant=True),
    )


async def test_a_comment_on_an_idea_merged_after_it_was_read_is_refused_and_leaves_no_trace(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 1)
    other = await forum_with_idea(container, 0)
    reads = _merged_after_read(container, monkeypatch, seeded.idea_id, other.idea_id)

    with pytest.raises(IdeaMerged):
        await _comment(seeded, container)

    assert reads == [False, True]
    # No comment, no counter move, no watch of the commenter's, nothing in the outbox.
    traces = await _traces(container, seeded.idea_id, t.comments, t.idea_moves, t.watches, t.outbox)
    assert traces == [0, 0, 0, 0, 0, 0]


async def test_a_comment_counts_the_comments_written_between_its_read_and_its_write(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 1)

    async def another_comment() -> None:
        await _comment(seeded, container, "Me too, from another tab.")

    _after_first_unlocked_read(monkeypatch, another_comment)

    await _comment(seeded, container)

    _, counted, rows, moves = await _traces(container, seeded.idea_id, t.comments, t.idea_moves)
    assert (counted, rows, moves) == (2, 2, 2)


async def test_a_vote_on_an_idea_approved_after_it_was_read_is_cast_on_the_locked_read(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await forum_with_idea(container, 0)
    idea = t.ideas.update().where(t.ideas.c.id == seeded.idea_id)
    await _elsewhere(container, idea.values(moderation="held"))
    async with container.engine().connect() as conn:
        author = UserId(
            await conn.scalar(sa.select(t.ideas.c.author_id).where(t.ideas.c.id == seeded.idea_id))
        )
    # Held, the idea is its author's alone; staff approve it between the read and the vote.
    reads = _after_first_unlocked_read(
        monkeypatch, lambda: _elsewhere(container, idea.values(moderation="published"))
    )

    view = await ideas.vote(seeded.idea_id, author, uow=container.uow(), clock=container.clock())

    assert reads == [False, True]
    assert view.voted_by_me and view.idea.votes == 1
    assert await _votes(container, seeded.idea_id) == (1, 1, 1)
