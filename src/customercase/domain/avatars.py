"""A person's picture, as served by our own /avatars/{user_id} route."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Picture:
    content: bytes
    media_type: str
