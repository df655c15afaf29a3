"""The SecretBox's twin: a seal anyone can read, but that shows plainly what was sealed."""

from __future__ import annotations

PREFIX = "sealed:"


class FakeSecretBox:
    def seal(self, secret: str) -> str:
        return PREFIX + secret

    def open(self, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise ValueError("this was not sealed by the box")
        return sealed.removeprefix(PREFIX)
