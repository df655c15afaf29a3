"""What an operator's metrics scrape reads from the database: outbox backlog and sync lag."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.ids import ForumId
from customercase.domain.notifications import OutboxStats
from customercase.domain.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class Backlog:
    """The outbox and the Jira sync as of one scrape; ages in seconds (None: never synced)."""

    outbox: OutboxStats
    oldest_due_age: float
    sync_lag: dict[ForumId, float | None]


async def backlog(*, uow: UnitOfWork, clock: Clock) -> Backlog:
    """Read at scrape time, so every web process reports the same shared numbers."""
    now = clock.now()
    async with uow:
        outbox = await uow.outbox.stats(now)
        synced = await uow.tracker.last_synced()
    oldest = outbox.oldest_due_at
    return Backlog(
        outbox=outbox,
        oldest_due_age=(now - oldest).total_seconds() if oldest else 0.0,
        sync_lag={
            forum_id: (now - at).total_seconds() if at else None for forum_id, at in synced.items()
        },
    )
