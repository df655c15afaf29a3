"""The moderation repository: the SQL adapter (both engines) and the in-memory fake, held to
the same assertions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from customercase.adapters.fakes.memory import InMemoryStore, InMemoryUnitOfWork
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings
from customercase.domain.ideas import Comment, CommentSource, Idea
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.ports import UnitOfWork
from customercase.domain.spam import (
    Case,
    CaseState,
    Moderation,
    Origin,
    PostKind,
    Standing,
    Verdict,
)
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Vendor, Visibility
from tests.builders import NOW
from tests.integration.conftest import _migrated


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
async def new_uow(
    request: pytest.FixtureRequest, database_urls: dict[str, str]
) -> AsyncIterator[Callable[[], UnitOfWork]]:
    if request.param == "fake":
        store = InMemoryStore()
        yield lambda: InMemoryUnitOfWork(store)
        return
    url = database_urls[request.param]
    container = build_container(read_settings({}, database_url=url))
    if url not in _migrated:
        await upgrade(container.engine())
        _migrated.add(url)
    yield container.uow
    await container.engine().dispose()


def _id() -> str:
    return uuid.uuid4().hex


async def seeded(new_uow: Callable[[], UnitOfWork]) -> tuple[Forum, User, Idea]:
    user = User(UserId(_id()), f"{_id()}@example.org", "Ada", NOW)
    vendor = Vendor(VendorId(_id()), "V", _id()[:20], NOW)
    forum = Forum(ForumId(_id()), vendor.id, "F", "f", Visibility.PUBLIC, _id()[:16], NOW)
    idea = Idea.submit(
        id=IdeaId(_id()),
        forum_id=forum.id,
        author_id=user.id,
        summary="Idea",
        description=None,
        now=NOW,
    )
    async with new_uow() as uow:
        await uow.users.add(user)
        await uow.vendors.add(vendor)
        await uow.forums.add(forum)
        await uow.ideas.add(idea)
        await uow.commit()
    return forum, user, idea


def a_case(forum: Forum, user: User, post_id: str, state: CaseState, minutes: int) -> Case:
    return Case(
        post_id,
        PostKind.COMMENT,
        forum.id,
        user.id,
        Verdict.SPAM,
        Origin("203.0.113.9", "UA", "https://ref/", "https://site/ideas/1"),
        state,
        NOW + timedelta(minutes=minutes),
    )


async def test_a_comment_counts_only_while_published(new_uow: Callable[[], UnitOfWork]) -> None:
    forum, user, idea = await seeded(new_uow)
    comment = Comment(
        CommentId(_id()), idea.id, user.id, "Hi", CommentSource.WEB, NOW, Moderation.HELD
    )
    async with new_uow() as uow:
        await uow.comments.add(comment, NOW)
        await uow.commit()

    counts = []
    published = []
    for moderation in (Moderation.PUBLISHED, Moderation.PUBLISHED, Moderation.REJECTED):
        async with new_uow() as uow:
            await uow.moderation.set_comment_moderation(comment.id, moderation)
            await uow.commit()
        async with new_uow() as uow:
            stored = await uow.ideas.get(idea.id)
            assert stored is not None
            counts.append(stored.comments)
            published.append(await uow.moderation.has_published(forum.id, user.id))
            kept = await uow.moderation.comment(comment.id)

    assert counts == [1, 1, 0]
    assert published == [True, True, True]  # the idea itself is published
    assert kept is not None and kept.moderation is Moderation.REJECTED


async def test_a_held_idea_is_not_a_published_post(new_uow: Callable[[], UnitOfWork]) -> None:
    forum, user, idea = await seeded(new_uow)

    async with new_uow() as uow:
        await uow.moderation.set_idea_moderation(idea.id, Moderation.HELD)
        await uow.commit()
    async with new_uow() as uow:
        has = await uow.moderation.has_published(forum.id, user.id)
        stored = await uow.ideas.get(idea.id)

    assert has is False
    assert stored is not None and stored.moderation is Moderation.HELD


async def test_cases_queue_oldest_first_and_leave_the_queue_when_closed(
    new_uow: Callable[[], UnitOfWork],
) -> None:
    forum, user, _ = await seeded(new_uow)
    held_late = a_case(forum, user, _id(), CaseState.HELD, 5)
    held_early = a_case(forum, user, _id(), CaseState.HELD, 1)
    recheck = a_case(forum, user, _id(), CaseState.RECHECK, 2)
    async with new_uow() as uow:
        for case in (held_late, held_early, recheck):
            await uow.moderation.add(case)
        await uow.commit()

    async with new_uow() as uow:
        queue = await uow.moderation.held_in(forum.id, 10)
        due = await uow.moderation.due_rechecks(1000)
        await uow.moderation.close(held_early.post_id, CaseState.APPROVED)
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.moderation.held_in(forum.id, 10)
        stored = await uow.moderation.get(held_early.post_id)

    assert [c.post_id for c in queue] == [held_early.post_id, held_late.post_id]
    assert recheck.post_id in [c.post_id for c in due]
    assert [c.post_id for c in after] == [held_late.post_id]
    assert stored == replace(held_early, state=CaseState.APPROVED)


async def test_a_standing_is_set_and_replaced(new_uow: Callable[[], UnitOfWork]) -> None:
    forum, user, _ = await seeded(new_uow)

    seen = []
    for standing in (Standing.TRUSTED, Standing.BLOCKED):
        async with new_uow() as uow:
            await uow.moderation.set_standing(forum.vendor_id, user.id, standing)
            await uow.commit()
        async with new_uow() as uow:
            seen.append(await uow.moderation.standing(forum.vendor_id, user.id))

    assert seen == [Standing.TRUSTED, Standing.BLOCKED]
