"""A clock that stands still, ids that count, and a password hasher that costs nothing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

# A Monday morning a few weeks past the trending epoch, so heats stay small numbers.
DEFAULT_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FixedClock:
    """Tells the same time until a test sets or advances it."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self._now = self._aware(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = self._aware(now)

    def advance(
        self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0
    ) -> datetime:
        """Move time forward and return the new now."""
        self._now += timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        return self._now

    @staticmethod
    def _aware(now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("a clock tells timezone-aware times")
        return now


class SequentialIds:
    """Ids id000001, id000002, … and tokens that count likewise but are as long as real ones."""

    def __init__(self) -> None:
        self._ids = 0
        self._tokens = 0

    def new_id(self) -> str:
        self._ids += 1
        return f"id{self._ids:06d}"

    def new_token(self) -> str:
        # 43 characters, like secrets.token_urlsafe(32).
        self._tokens += 1
        return f"token{self._tokens:038d}"


class FakePasswordHasher:
    """`<prefix>` + SHA-256: deterministic and fast. A hash with another prefix still verifies,
    but needs a rehash, as an argon2 hash made with weaker parameters would."""

    def __init__(self, prefix: str = "fake$") -> None:
        self.prefix = prefix
        # How many verifications ran, so a test can see that a failure still cost one.
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return self.prefix + self._digest(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verifications += 1
        if password_hash is None or "$" not in password_hash:
            return False
        _, digest = password_hash.rsplit("$", 1)
        return hmac.compare_digest(digest, self._digest(password))

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(self.prefix)

    @staticmethod
    def _digest(password: str) -> str:
        return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
