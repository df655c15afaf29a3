"""Gravatar as our Avatars port, fetched server-side so that no page ever carries an email hash.

The image is asked for with `d=404`, so "no Gravatar" is a 404 rather than a stock picture,
and answers (pictures and misses alike) are kept in a small LRU cache with a time to live.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx
import structlog

from customercase.domain.avatars import Picture

log = structlog.get_logger("customercase.gravatar")

DEFAULT_URL = "https://gravatar.com/avatar"
MAX_BYTES = 512 * 1024
SIZE = 128


def gravatar_hash(email: str) -> str:
    """SHA-256 of the trimmed, lower-cased address (Gravatar's current scheme)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class GravatarAvatars:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str = DEFAULT_URL,
        timeout_seconds: float = 2.0,
        ttl_seconds: float = 6 * 3600,
        # A failure is remembered briefly, so an outage costs one slow request a minute.
        failure_ttl_seconds: float = 60,
        max_entries: int = 2048,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._ttl = ttl_seconds
        self._failure_ttl = failure_ttl_seconds
        self._max = max_entries
        self._now = monotonic
        self._cache: OrderedDict[str, tuple[float, Picture | None]] = OrderedDict()

    def url_for(self, email: str) -> str:
        return f"{self._base}/{gravatar_hash(email)}?d=404&s={SIZE}"

    async def picture(self, email: str) -> Picture | None:
        """The person's Gravatar; None when they have none or it cannot be fetched now."""
        key = gravatar_hash(email)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._now():
            self._cache.move_to_end(key)
            return cached[1]
        picture, ttl = await self._fetch(email)
        self._cache[key] = (self._now() + ttl, picture)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return picture

    async def _fetch(self, email: str) -> tuple[Picture | None, float]:
        try:
            response = await self._client.get(self.url_for(email), timeout=self._timeout)
        except httpx.HTTPError as error:
            log.warning("gravatar unreachable", error=type(error).__name__)
            return None, self._failure_ttl
        if response.status_code == 404:
            return None, self._ttl
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if (
            response.status_code != 200
            or not media_type.startswith("image/")
            or media_type == "image/svg+xml"  # an SVG could carry script; we only relay bitmaps
            or len(response.content) > MAX_BYTES
        ):
            log.warning("gravatar gave no usable image", status=response.status_code)
            return None, self._failure_ttl
        return Picture(response.content, media_type), self._ttl
