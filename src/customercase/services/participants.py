"""Participants: people staff bring into an idea by email, known to us or not yet."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.errors import InvalidField
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Clock, Ids, UnitOfWork
from customercase.domain.users import User, check_name, normalise_email
from customercase.services.access import open_idea, require_staff, require_user


@dataclass(frozen=True, slots=True)
class AddParticipant:
    idea_id: IdeaId
    email: str
    actor_id: UserId | None


async def user_for_email(
    uow: UnitOfWork, email: str, name: str | None, *, clock: Clock, ids: Ids
) -> User:
    """The user with this normalised email, or a new password-less one (claimed by a reset)."""
    found = await uow.users.by_email(email)
    if found is not None:
        return found
    try:
        display = check_name(name or "")
    except InvalidField:
        display = check_name(email.split("@", 1)[0][:100])
    user = User(UserId(ids.new_id()), email, display, clock.now())
    await uow.users.add(user)
    return user


async def add_participant(cmd: AddParticipant, *, uow: UnitOfWork, clock: Clock, ids: Ids) -> None:
    """Bring someone into an idea (staff only): they watch it and get an email saying so."""
    email = normalise_email(cmd.email)
    async with uow:
        idea, forum, viewer = await open_idea(uow, cmd.idea_id, cmd.actor_id)
        staff = require_user(viewer)
        require_staff(viewer)
        person = await user_for_email(uow, email, None, clock=clock, ids=ids)
        now = clock.now()
        if forum.is_private:
            # Staff asked for this person on this idea: let them see the forum it is in.
            await uow.forums.invite(forum.id, [email])
        if await uow.participants.add(idea.id, person.id, staff.id, now):
            await uow.watches.start(idea.id, person.id)
            await uow.outbox.add(
                Notification(
                    ids.new_id(),
                    NotificationKind.NEW_PARTICIPANT,
                    now,
                    recipient_id=person.id,
                    idea_id=idea.id,
                    actor_id=staff.id,
                )
            )
        await uow.commit()
