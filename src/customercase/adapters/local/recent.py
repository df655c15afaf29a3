"""Recently read ideas of one process: a dict of ideas with their forums and an expiry each,
the oldest dropped first when it is full."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from customercase.domain.ideas import Idea
from customercase.domain.ids import IdeaId
from customercase.domain.vendors import Forum

Kept = tuple[float, Idea, Forum]


class LocalRecentIdeas:
    """Ideas kept in this process only, for `ttl_seconds` each (0 keeps nothing). Nothing a
    vote is judged on here is trusted without a check under the idea's lock; what an entry's
    age can show is the idea's summary or status in a vote's answer, as read that long ago."""

    def __init__(
        self,
        ttl_seconds: float,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._clock = clock
        self._ideas: dict[IdeaId, Kept] = {}

    def get(self, idea_id: IdeaId) -> tuple[Idea, Forum] | None:
        found = self._ideas.get(idea_id)
        if found is None or found[0] <= self._clock():
            return None
        return found[1], found[2]

    def put(self, idea: Idea, forum: Forum) -> None:
        if self._ttl <= 0:
            return
        ideas = self._ideas
        ideas.pop(idea.id, None)  # a dict keeps insertion order: put last, as the newest
        if len(ideas) >= self._size:
            del ideas[next(iter(ideas))]
        # Without its description (up to 20,000 characters, and no vote shows it).
        ideas[idea.id] = (self._clock() + self._ttl, replace(idea, description=""), forum)

    def forget(self, idea_id: IdeaId) -> None:
        self._ideas.pop(idea_id, None)
