"""The Schema port's twin: revisions set by the test."""

from __future__ import annotations


class FakeSchema:
    def __init__(self, current: str | None = "head", head: str = "head") -> None:
        self.current = current
        self.head = head

    async def revisions(self) -> tuple[str | None, str]:
        return self.current, self.head
