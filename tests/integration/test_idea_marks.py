"""A kept page's fresh counters and one viewer's marks (`IdeaRepository.marks`): the SQL adapter
(both engines) and the in-memory fake, held to the same assertions."""

from __future__ import annotations

from collections.abc import Callable

from customercase.domain.ideas import Marks
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.ports import UnitOfWork
from customercase.domain.users import User
from tests.builders import NOW
from tests.integration.test_moderation_repository import _id, new_uow, seeded

__all__ = ["new_uow"]  # the fixture, parametrized over the fake and both engines


async def test_marks_are_the_counters_and_the_viewers_own_vote_and_watch(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, author, idea = await seeded(new_uow)
    other = User(UserId(_id()), f"{_id()}@example.org", "Grace", NOW)
    async with new_uow() as uow:
        await uow.users.add(other)
        await uow.votes.add(idea.id, author.id, NOW)
        await uow.votes.add(idea.id, other.id, NOW)
        await uow.watches.start(idea.id, author.id)
        await uow.commit()

    async with new_uow().read_only() as uow:
        authors, others, again = await uow.ideas.marks(
            [(author.id, [idea.id]), (other.id, [idea.id]), (author.id, [idea.id])]
        )

    assert authors == again == {idea.id: Marks(2, 0, True, True)}
    assert others == {idea.id: Marks(2, 0, True, False)}


async def test_marks_leave_out_ideas_that_are_not_there(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, author, idea = await seeded(new_uow)

    async with new_uow().read_only() as uow:
        found, nothing = await uow.ideas.marks(
            [(author.id, [IdeaId(_id()), idea.id]), (author.id, [])]
        )

    assert found == {idea.id: Marks(0, 0, False, False)}
    assert nothing == {}
