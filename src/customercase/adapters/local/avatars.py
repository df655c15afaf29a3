"""No pictures at all (CUSTOMERCASE_GRAVATAR_URL=off): everyone gets their initials."""

from __future__ import annotations

from customercase.domain.avatars import Picture


class NoPictures:
    async def picture(self, email: str) -> Picture | None:
        """Nobody has a picture."""
        return None
