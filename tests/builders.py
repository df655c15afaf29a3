"""Builders of domain objects with sensible defaults, and a fake world to put them in.

`a_user(email_verified=True)` says only what a test cares about; every builder gives unique ids.
`World` holds a fresh in-memory database with the fake clock, ids and hasher, and stores
builders' objects straight through the unit of work, so a test arranges state without going
through the use case it is not about.
"""

from __future__ import annotations

import itertools
from typing import Any

from customercase.adapters.fakes.memory import InMemoryStore, InMemoryUnitOfWork
from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.adapters.fakes.system import (
    DEFAULT_NOW,
    FakePasswordHasher,
    FixedClock,
    SequentialIds,
)
from customercase.domain.ideas import Comment, CommentSource, Idea, Status
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.users import Session, SessionPolicy, User
from customercase.domain.vendors import Forum, Role, Vendor, Visibility

NOW = DEFAULT_NOW
PASSWORD = "correct horse battery"
POLICY = SessionPolicy(idle_seconds=3600, lifetime_seconds=8 * 3600, touch_every_seconds=60)

# Builders' ids never clash with SequentialIds' "id000001".
_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


def a_user(**overrides: Any) -> User:
    n = _n()
    fields: dict[str, Any] = {
        "id": UserId(f"user{n}"),
        "email": f"user{n}@example.org",
        "name": f"User {n}",
        "created_at": NOW,
        "password_hash": None,
        "email_verified": False,
    }
    return User(**(fields | overrides))


def a_vendor(**overrides: Any) -> Vendor:
    n = _n()
    fields: dict[str, Any] = {
        "id": VendorId(f"vendor{n}"),
        "name": f"Vendor {n}",
        "slug": f"vendor-{n}",
        "created_at": NOW,
    }
    return Vendor(**(fields | overrides))


def a_forum(**overrides: Any) -> Forum:
    n = _n()
    fields: dict[str, Any] = {
        "id": ForumId(f"forum{n}"),
        "vendor_id": VendorId("vendor0"),
        "name": f"Forum {n}",
        "slug": f"forum-{n}",
        "visibility": Visibility.PUBLIC,
        "mailbox_hash": f"mailbox{n}",
        "created_at": NOW,
    }
    return Forum(**(fields | overrides))


def an_idea(**overrides: Any) -> Idea:
    n = _n()
    fields: dict[str, Any] = {
        "id": IdeaId(f"idea{n}"),
        "forum_id": ForumId("forum0"),
        "author_id": UserId("user0"),
        "summary": f"Idea number {n}",
        "description": "",
        "status": Status.OPEN,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Idea(**(fields | overrides))


def a_comment(**overrides: Any) -> Comment:
    n = _n()
    fields: dict[str, Any] = {
        "id": CommentId(f"comment{n}"),
        "idea_id": IdeaId("idea0"),
        "author_id": UserId("user0"),
        "body": f"Comment number {n}",
        "source": CommentSource.WEB,
        "created_at": NOW,
    }
    return Comment(**(fields | overrides))


def a_session(**overrides: Any) -> Session:
    n = _n()
    fields: dict[str, Any] = {
        "token_hash": f"{n:064x}",
        "user_id": UserId("user0"),
        "created_at": NOW,
        "last_seen_at": NOW,
    }
    return Session(**(fields | overrides))


class World:
    """A fresh fake database and the fake ports the use cases take, with ways to fill it."""

    def __init__(self, half_life_days: float = 7.0) -> None:
        self.store = InMemoryStore()
        self.uow = InMemoryUnitOfWork(self.store, half_life_days)
        self.clock = FixedClock(NOW)
        self.ids = SequentialIds()
        self.hasher = FakePasswordHasher()
        self.spam = FakeSpamFilter()
        self.policy = POLICY

    async def add(self, *things: User | Vendor | Forum | Idea | Comment) -> None:
        """Store these, in order, in one committed transaction."""
        async with self.uow as uow:
            for thing in things:
                if isinstance(thing, User):
                    await uow.users.add(thing)
                elif isinstance(thing, Vendor):
                    await uow.vendors.add(thing)
                elif isinstance(thing, Forum):
                    await uow.forums.add(thing)
                elif isinstance(thing, Idea):
                    await uow.ideas.add(thing)
                else:
                    await uow.comments.add(thing, thing.created_at)
            await uow.commit()

    async def user(self, **overrides: Any) -> User:
        user = a_user(**overrides)
        await self.add(user)
        return user

    async def staff(self, vendor_id: VendorId, role: Role = Role.ADMIN, **overrides: Any) -> User:
        """A new user who is staff of the vendor."""
        user = await self.user(**overrides)
        async with self.uow as uow:
            await uow.vendors.add_staff(vendor_id, user.id, role)
            await uow.commit()
        return user

    async def forum(self, **overrides: Any) -> Forum:
        """A forum at a vendor of its own unless `vendor_id` is given."""
        if "vendor_id" not in overrides:
            vendor = a_vendor()
            await self.add(vendor)
            overrides["vendor_id"] = vendor.id
        forum = a_forum(**overrides)
        await self.add(forum)
        return forum

    async def idea(self, forum: Forum, author: User, **overrides: Any) -> Idea:
        """An idea stored as it is: no vote or watch of its author's."""
        idea = an_idea(forum_id=forum.id, author_id=author.id, **overrides)
        await self.add(idea)
        return idea

    async def invite(self, forum: Forum, *emails: str) -> None:
        async with self.uow as uow:
            await uow.forums.invite(forum.id, list(emails))
            await uow.commit()
