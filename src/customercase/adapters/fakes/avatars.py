"""Pictures for tests: whoever is in `pictures` has one; every question is recorded."""

from __future__ import annotations

from customercase.domain.avatars import Picture


class FakeAvatars:
    def __init__(self) -> None:
        self.pictures: dict[str, Picture] = {}
        self.asked: list[str] = []

    async def picture(self, email: str) -> Picture | None:
        """The picture stored for the email, if any."""
        self.asked.append(email)
        return self.pictures.get(email)
