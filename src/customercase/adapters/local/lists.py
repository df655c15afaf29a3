"""The list cache of one process: a dict of pages with an expiry each, bounded in size."""

from __future__ import annotations

import time
from collections.abc import Callable

from customercase.domain.ideas import IdeaQuery, IdeaView, Page
from customercase.domain.ids import ForumId

Kept = tuple[float, Page[IdeaView]]


class LocalListCache:
    """Pages kept in this process only: another process's change reaches these pages when
    they expire, within `ttl_seconds`. A time to live of 0 keeps nothing."""

    def __init__(
        self,
        ttl_seconds: float,
        size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._clock = clock
        self._version = 0
        self._forums: dict[ForumId, dict[IdeaQuery, Kept]] = {}
        self._count = 0

    def version(self) -> int:
        return self._version

    def get(self, query: IdeaQuery) -> Page[IdeaView] | None:
        found = self._forums.get(query.forum_id, {}).get(query)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]

    def put(self, query: IdeaQuery, page: Page[IdeaView], version: int) -> None:
        if self._ttl <= 0 or version != self._version:
            return
        if self._count >= self._size:
            # Rarely reached (forums × sorts × statuses × limits): start afresh, no bookkeeping.
            self._forums.clear()
            self._count = 0
        pages = self._forums.setdefault(query.forum_id, {})
        self._count += query not in pages
        pages[query] = (self._clock() + self._ttl, page)

    def invalidate(self, forum_id: ForumId | None = None) -> None:
        self._version += 1
        if forum_id is None:
            self._forums.clear()
            self._count = 0
        else:
            self._count -= len(self._forums.pop(forum_id, {}))
