"""A person's avatar: their own picture if they have one, else their name for initials."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.avatars import Picture
from customercase.domain.errors import NotFound
from customercase.domain.ids import UserId
from customercase.domain.ports import Avatars, UnitOfWork


@dataclass(frozen=True, slots=True)
class Avatar:
    name: str
    picture: Picture | None


async def avatar_of(user_id: UserId, *, uow: UnitOfWork, avatars: Avatars) -> Avatar:
    """The user's picture (fetched by us, so their email stays ours); raise NotFound if unknown."""
    async with uow:
        user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    return Avatar(user.name, await avatars.picture(user.email))
