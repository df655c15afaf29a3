"""The session cache of one process: a dict of sessions with an expiry each, bounded in size."""

from __future__ import annotations

import time
from collections.abc import Callable

from customercase.domain.ids import UserId
from customercase.domain.users import Session, User

Kept = tuple[float, Session, User]


class LocalSessionCache:
    """Sessions kept in this process only: a sign-out or a password reset in another process
    reaches them when they expire, within `ttl_seconds`. A time to live of 0 keeps nothing."""

    def __init__(
        self,
        ttl_seconds: float,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._clock = clock
        self._version = 0
        self._sessions: dict[str, Kept] = {}

    def version(self) -> int:
        return self._version

    def get(self, token_hash: str) -> tuple[Session, User] | None:
        found = self._sessions.get(token_hash)
        if found is None or found[0] <= self._clock():
            return None
        return found[1], found[2]

    def put(self, session: Session, user: User, version: int) -> None:
        if self._ttl <= 0 or version != self._version:
            return
        if len(self._sessions) >= self._size:
            # Entries are dropped by expiry only here: more sessions than a process serves in
            # a few seconds, so the ones left over are mostly stale. Start afresh (~4 MB at most).
            self._sessions.clear()
        self._sessions[session.token_hash] = (self._clock() + self._ttl, session, user)

    def drop(self, token_hash: str) -> None:
        self._version += 1
        self._sessions.pop(token_hash, None)

    def drop_user(self, user_id: UserId) -> None:
        self._version += 1
        # Rare (a password reset, an account deleted): a scan beats keeping an index per user.
        for token_hash in [h for h, kept in self._sessions.items() if kept[1].user_id == user_id]:
            del self._sessions[token_hash]
