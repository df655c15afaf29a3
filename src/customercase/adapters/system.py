"""The real clock and the real source of ids and secrets."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def new_token(self) -> str:
        return secrets.token_urlsafe(32)
