"""Rows made straight through the unit of work, for tests that need many at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.domain.ideas import Idea
from customercase.domain.ids import ForumId, IdeaId, UserId, VendorId
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Vendor, Visibility


@dataclass(frozen=True)
class Seeded:
    forum_id: ForumId
    idea_id: IdeaId
    users: list[UserId]


async def forum_with_idea(container: Container, people: int) -> Seeded:
    """A public forum, one idea by an extra author (who has not voted), and `people` users."""
    now = datetime.now(UTC)
    users = [
        User(UserId(uuid.uuid4().hex), f"{uuid.uuid4().hex}@example.org", f"U{n}", now)
        for n in range(people + 1)
    ]
    vendor = Vendor(VendorId(uuid.uuid4().hex), "V", uuid.uuid4().hex[:20], now)
    forum = Forum(
        ForumId(uuid.uuid4().hex),
        vendor.id,
        "F",
        "f",
        Visibility.PUBLIC,
        uuid.uuid4().hex[:16],
        now,
    )
    idea = Idea.submit(
        id=IdeaId(uuid.uuid4().hex),
        forum_id=forum.id,
        author_id=users[0].id,
        summary="Seeded idea",
        description=None,
        now=now,
    )
    async with container.uow() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.vendors.add(vendor)
        await uow.forums.add(forum)
        await uow.ideas.add(idea)
        await uow.commit()
    return Seeded(forum.id, idea.id, [u.id for u in users[1:]])


async def mark_verified(container: Container, user_id: str) -> None:
    """As if the user had followed the link in the verification email."""
    async with container.engine().begin() as conn:
        await conn.execute(
            sa.update(t.users).where(t.users.c.id == user_id).values(email_verified=True)
        )
    # As verify_email does: this process's kept sessions of the user see the change at once.
    container.session_cache().drop_user(UserId(user_id))
