"""Writes a unit of work sends later (adapters/sql/prebuilt.defer: a watch, an outbox row, a
comment with its counter move) behave as if sent at once: later statements see them, a commit
stores them with the rest, a failure among them stores nothing, a rollback drops them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.notifications import Notification, NotificationKind
from tests.integration.seed import forum_with_idea


def _notification(idea_id: IdeaId, actor: UserId) -> Notification:
    # Due long ago: first in line when claimed, whatever other tests left pending.
    return Notification(
        uuid.uuid4().hex,
        NotificationKind.NEW_COMMENT,
        datetime(1999, 1, 1, tzinfo=UTC),
        idea_id=idea_id,
        actor_id=actor,
        payload={"comment_id": "c"},
    )


async def _count(container: Container, table: sa.Table, **where: str) -> int:
    async with container.engine().connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(table)
            .where(*(table.c[k] == v for k, v in where.items()))
        )
    return int(found or 0)


async def test_later_statements_see_a_watch_and_an_outbox_row_not_yet_sent(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 1)
    person = seeded.users[0]
    note = _notification(seeded.idea_id, person)

    async with container.uow() as uow:
        await uow.watches.start(seeded.idea_id, person)
        # A prebuilt read on the driver sees the watch ...
        view = await uow.ideas.view(seeded.idea_id, person)
        assert view is not None and view.watching
        await uow.outbox.add(note)
        # ... and a statement through SQLAlchemy sees the outbox row.
        claimed = await uow.outbox.claim(datetime.now(UTC), datetime.now(UTC), 1)
        assert note.id in {c.notification.id for c in claimed}
        # Not committed: no made-up notification is left for other tests' workers.


async def test_a_failing_deferred_write_stores_nothing_of_its_unit_of_work(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 2)
    person, other = seeded.users
    missing = IdeaId(uuid.uuid4().hex)  # no such idea: a watch of it breaks a foreign key

    with pytest.raises(sa.exc.DBAPIError):
        async with container.uow() as uow:
            await uow.outbox.add(_notification(seeded.idea_id, person))
            await uow.watches.start(seeded.idea_id, person)
            await uow.watches.start(missing, other)
            await uow.commit()

    assert await _count(container, t.watches, idea_id=seeded.idea_id, user_id=person) == 0
    assert await _count(container, t.outbox, actor_id=person) == 0
    # The connection went back to the pool clean: the next unit of work stores what it commits.
    async with container.uow() as uow:
        await uow.watches.start(seeded.idea_id, other)
        await uow.commit()
    assert await _count(container, t.watches, idea_id=seeded.idea_id, user_id=other) == 1


async def test_writes_of_a_unit_of_work_left_without_commit_are_dropped(
    container: Container,
) -> None:
    seeded = await forum_with_idea(container, 2)
    person, other = seeded.users

    async with container.uow() as uow:
        await uow.watches.start(seeded.idea_id, person)
        await uow.outbox.add(_notification(seeded.idea_id, person))
        # no commit: rolled back, deferred or not

    async with container.uow() as uow:
        await uow.watches.start(seeded.idea_id, other)
        await uow.commit()

    assert await _count(container, t.watches, idea_id=seeded.idea_id, user_id=person) == 0
    assert await _count(container, t.outbox, actor_id=person) == 0
    assert await _count(container, t.watches, idea_id=seeded.idea_id, user_id=other) == 1
