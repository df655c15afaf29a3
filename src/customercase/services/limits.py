"""Counting attempts against rate limits, in the database so every process sees them."""

from __future__ import annotations

import math

from customercase.domain.errors import TooManyAttempts
from customercase.domain.limits import Limit
from customercase.domain.ports import Clock, UnitOfWork


async def count_attempt(
    attempts: list[tuple[Limit, str]], *, uow: UnitOfWork, clock: Clock
) -> None:
    """Count one attempt per (limit, subject); raise TooManyAttempts when any limit is passed.

    The count is committed on its own, before the attempt runs, so a failing attempt counts too.
    """
    now = clock.now()
    retry_after = 0
    async with uow:
        for limit, subject in attempts:
            hits, started = await uow.rate_limits.hit(limit.key(subject), now, limit.window_seconds)
            if hits > limit.max_hits:
                left = limit.window_seconds - (now - started).total_seconds()
                retry_after = max(retry_after, math.ceil(left), 1)
        await uow.commit()
    if retry_after:
        raise TooManyAttempts(retry_after)
