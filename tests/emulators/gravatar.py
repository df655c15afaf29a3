"""A Gravatar emulator over real HTTP (reference/external-apis.md §4).

`/avatar/{hash}[.jpg|.png]`: a hash that is not 32 or 64 hex characters is 404; a known hash
(SHA-256 or MD5 of an address given to `add`) gets a tiny PNG; an unknown one gets 404 with
`d=404`, else a default PNG. `s` is clamped to 1–2048; unknown parameters are ignored.
Switches: `failing` (500 on every request), `slow_seconds`. Requests are kept in `requests`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

# A 1x1 PNG; the default one differs by a byte so tests can tell them apart.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DEFAULT_PNG = PNG + b"\x00"
PATH = re.compile(r"^/avatar/([0-9a-fA-F]{32}|[0-9a-fA-F]{64})(?:\.(?:jpg|jpeg|png))?$")


@dataclass
class GravatarEmulator:
    hashes: set[str] = field(default_factory=set)
    failing: bool = False
    slow_seconds: float = 0.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, email: str) -> None:
        normal = email.strip().lower().encode()
        self.hashes.add(hashlib.sha256(normal).hexdigest())
        self.hashes.add(hashlib.md5(normal).hexdigest())  # noqa: S324 - Gravatar's legacy hash

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.requests.append((scope["path"], query))
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        match = PATH.match(scope["path"])
        if self.failing:
            status, body, kind = 500, b"oops", "text/plain"
        elif scope["method"] != "GET" or match is None:
            status, body, kind = 404, b"Not Found", "text/plain"
        elif match.group(1).lower() in self.hashes:
            status, body, kind = 200, PNG, "image/png"
        elif query.get("d", query.get("default")) == "404":
            status, body, kind = 404, b"Not Found", "text/plain"
        else:
            status, body, kind = 200, DEFAULT_PNG, "image/png"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
