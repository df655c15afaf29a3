"""Participants: people staff bring into an idea by email, on the fakes."""

from __future__ import annotations

import pytest

from customercase.domain.errors import NotAllowed
from customercase.domain.ideas import Idea
from customercase.domain.notifications import NotificationKind
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Visibility
from customercase.services.participants import AddParticipant, add_participant
from tests.builders import World


@pytest.fixture
def world() -> World:
    return World()


async def _setting(world: World, **forum: object) -> tuple[Forum, User, Idea]:
    chosen = await world.forum(**forum)
    staff = await world.staff(chosen.vendor_id)
    idea = await world.idea(chosen, await world.user())
    return chosen, staff, idea


async def _add(world: World, idea: Idea, email: str, actor: User) -> None:
    await add_participant(
        AddParticipant(idea.id, email, actor.id), uow=world.uow, clock=world.clock, ids=world.ids
    )


def _told(world: World) -> list[str | None]:
    return [
        n.recipient_id
        for n in world.store.tables.outbox.values()
        if n.kind is NotificationKind.NEW_PARTICIPANT
    ]


async def test_a_person_added_by_staff_watches_the_idea_and_is_told_so(world: World) -> None:
    _, staff, idea = await _setting(world)
    person = await world.user()

    await _add(world, idea, person.email, staff)

    assert world.store.tables.watches[idea.id, person.id] is True
    assert _told(world) == [person.id]


async def test_adding_the_same_person_twice_tells_them_once(world: World) -> None:
    _, staff, idea = await _setting(world)
    person = await world.user()

    await _add(world, idea, person.email, staff)
    await _add(world, idea, person.email.upper(), staff)

    assert _told(world) == [person.id]


async def test_an_unknown_email_gets_an_account_without_a_password(world: World) -> None:
    _, staff, idea = await _setting(world)

    await _add(world, idea, "  Newcomer@Example.org", staff)

    [user] = [u for u in world.store.tables.users.values() if u.email == "newcomer@example.org"]
    assert (user.name, user.password_hash) == ("newcomer", None)
    assert _told(world) == [user.id]


async def test_a_person_added_in_a_private_forum_is_invited_to_it(world: World) -> None:
    forum, staff, idea = await _setting(world, visibility=Visibility.PRIVATE)

    await _add(world, idea, "guest@elsewhere.org", staff)

    assert (forum.id, "guest@elsewhere.org") in world.store.tables.invitations


async def test_only_staff_add_participants(world: World) -> None:
    _, _, idea = await _setting(world)
    customer = await world.user()

    with pytest.raises(NotAllowed):
        await _add(world, idea, "someone@example.org", customer)

    assert world.store.tables.participants == {}
