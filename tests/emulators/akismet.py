"""An Akismet 1.1 emulator over real HTTP (reference/external-apis.md §3.4).

Verdicts follow Akismet's own test triggers (`comment_author=akismet-guaranteed-spam`,
`viagra-test-123`, `comment_author_email=akismet-guaranteed-spam@example.com` -> spam;
`user_role=administrator` -> ham) and these content markers: `[[spam]]` -> `true`,
`[[discard]]` -> `true` with `X-akismet-pro-tip: discard`; anything else is ham, unless
`mode` forces a verdict. Switches inject trouble: `fail_next(n, status)` (5xx or 429 with
Retry-After), `slow_seconds`, `malformed`. Every call is recorded in `calls`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

THANKS = "Thanks for making the web a better place."
SPAM_AUTHORS = {"akismet-guaranteed-spam", "viagra-test-123"}
SPAM_EMAIL = "akismet-guaranteed-spam@example.com"
ENDPOINTS = {"verify-key", "comment-check", "submit-spam", "submit-ham"}


@dataclass
class Call:
    endpoint: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class AkismetEmulator:
    keys: set[str] = field(default_factory=lambda: {"test-key"})
    # None: decide by triggers and markers; else "spam", "discard" or "ham" for every check.
    mode: str | None = None
    slow_seconds: float = 0.0
    malformed: bool = False
    calls: list[Call] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)

    def fail_next(self, times: int = 1, status: int = 503) -> None:
        self._failures.extend([status] * times)

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    def _verdict(self, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        if params.get("user_role") == "administrator":
            return "false", {}
        content = params.get("comment_content", "")
        mode = self.mode
        if mode is None:
            if "[[discard]]" in content:
                mode = "discard"
            elif (
                "[[spam]]" in content
                or params.get("comment_author") in SPAM_AUTHORS
                or params.get("comment_author_email") == SPAM_EMAIL
            ):
                mode = "spam"
        if mode == "discard":
            return "true", {"X-akismet-pro-tip": "discard"}
        if mode == "spam":
            return "true", {}
        return "false", {}

    def answer(
        self, endpoint: str, params: dict[str, str], host_key: str | None
    ) -> tuple[int, str, dict[str, str]]:
        if self._failures:
            status = self._failures.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else {}
            return status, "Service Unavailable", headers
        if self.malformed:
            return 200, "<html>oops</html>", {}
        key = host_key or params.get("api_key") or params.get("key", "")
        if key not in self.keys:
            return 200, "invalid", {"X-akismet-debug-help": "We were unable to verify your key."}
        if endpoint == "verify-key":
            return 200, "valid", {}
        missing = [p for p in ("blog", "user_ip") if not params.get(p)]
        if missing:
            text = f"Missing required field: {missing[0]}."
            return 200, text, {"X-akismet-debug-help": text}
        if endpoint in ("submit-spam", "submit-ham"):
            return 200, THANKS, {}
        body, headers = self._verdict(params)
        return 200, body, {"X-akismet-guid": uuid.uuid4().hex, **headers}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        endpoint = scope["path"].removeprefix("/1.1/")
        form = "application/x-www-form-urlencoded"
        if (
            scope["method"] != "POST"
            or endpoint not in ENDPOINTS
            or not headers.get("content-type", "").startswith(form)
        ):
            await _respond(send, 404, "Not Found", {})
            return
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        host = headers.get("host", "").split(":")[0]
        # Legacy form: https://{api_key}.rest.akismet.com/1.1/comment-check
        host_key = host.split(".")[0] if host.endswith(".rest.akismet.com") else None
        self.calls.append(Call(endpoint, params, headers))
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        status, text, extra = self.answer(endpoint, params, host_key)
        await _respond(send, status, text, extra)


async def _respond(send: Any, status: int, text: str, headers: dict[str, str]) -> None:
    raw = [(b"content-type", b"text/plain; charset=utf-8")]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": text.encode()})
