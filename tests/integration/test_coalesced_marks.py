"""Signed-in viewers' marks asked for at the same time are read together (CoalescedMarks), on
the fake and both engines: each viewer gets their own, and nothing older than their asking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from customercase.adapters.local.marks import CoalescedMarks
from customercase.domain.ideas import Marks
from customercase.domain.ids import UserId
from customercase.domain.ports import UnitOfWork
from customercase.domain.users import User
from tests.builders import NOW
from tests.integration.test_moderation_repository import _id, new_uow, seeded

__all__ = ["new_uow"]  # the fixture, parametrized over the fake and both engines


class _Counted:
    """A unit-of-work factory that counts the units it hands out."""

    def __init__(self, new_uow: Callable[[], UnitOfWork]) -> None:
        self._new_uow = new_uow
        self.made = 0

    def __call__(self) -> UnitOfWork:
        self.made += 1
        return self._new_uow()


async def _people(new_uow: Callable[[], UnitOfWork], count: int) -> list[User]:
    people = [User(UserId(_id()), f"{_id()}@example.org", f"P{n}", NOW) for n in range(count)]
    async with new_uow() as uow:
        for person in people:
            await uow.users.add(person)
        await uow.commit()
    return people


async def test_viewers_asking_at_once_get_their_own_marks_from_fewer_reads(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, _, idea = await seeded(new_uow)
    people = await _people(new_uow, 12)
    voters = people[::2]
    async with new_uow() as uow:
        for person in voters:
            await uow.votes.add(idea.id, person.id, NOW)
        await uow.commit()
    counted = _Counted(new_uow)
    reader = CoalescedMarks(counted)

    answers = await asyncio.gather(*(reader.marks([idea.id], p.id) for p in people))

    assert answers == [{idea.id: Marks(len(voters), 0, p in voters, False)} for p in people]
    # All asked before the first read began: one read (one unit of work, one statement).
    assert counted.made == 1


async def test_a_viewer_asking_after_voting_sees_the_vote(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, _, idea = await seeded(new_uow)
    (ada,) = await _people(new_uow, 1)
    reader = CoalescedMarks(new_uow)
    before = await reader.marks([idea.id], ada.id)
    async with new_uow() as uow:
        await uow.votes.add(idea.id, ada.id, NOW)
        await uow.commit()

    after = await reader.marks([idea.id], ada.id)

    assert before == {idea.id: Marks(0, 0, False, False)}
    assert after == {idea.id: Marks(1, 0, True, False)}


class _Away:
    """A unit of work whose database is away."""

    def read_only(self) -> Any:
        raise ConnectionError("database away")


async def test_a_failed_read_reaches_every_viewer_waiting_on_it_and_the_next_read_works(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, _, idea = await seeded(new_uow)
    people = await _people(new_uow, 3)
    made = 0

    def flaky() -> Any:
        nonlocal made
        made += 1
        return _Away() if made == 1 else new_uow()

    reader = CoalescedMarks(flaky)

    first = await asyncio.gather(
        *(reader.marks([idea.id], p.id) for p in people), return_exceptions=True
    )
    again = await reader.marks([idea.id], people[0].id)

    assert [type(e) for e in first] == [ConnectionError] * 3
    assert again == {idea.id: Marks(0, 0, False, False)}


async def test_a_viewer_who_leaves_does_not_hold_up_the_others(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    _, _, idea = await seeded(new_uow)
    ada, bob, cy = await _people(new_uow, 3)
    reader = CoalescedMarks(new_uow)

    first = asyncio.ensure_future(reader.marks([idea.id], ada.id))
    gone = asyncio.ensure_future(reader.marks([idea.id], bob.id))
    stays = asyncio.ensure_future(reader.marks([idea.id], cy.id))
    await asyncio.sleep(0)
    gone.cancel()

    assert await first == {idea.id: Marks(0, 0, False, False)}
    assert await stays == {idea.id: Marks(0, 0, False, False)}
    with pytest.raises(asyncio.CancelledError):
        await gone
