"""A Postmark emulator over real HTTP on loopback (reference/external-apis.md §2.6).

Serves POST /email and /email/batch as Postmark does: the server-token check, field validation,
per-message answers in request order, ErrorCode 406 for inactive recipients, 300 for bad
addresses or an unknown sender, 410 over 500 messages, 413 over the size limits. Switches inject
a 429 with Retry-After, a 5xx, a slow answer and a malformed body. `messages` is what was "sent".

Run by hand: `python -m tests.emulators.postmark --port 8025` and point
CUSTOMERCASE_POSTMARK_API_URL at it (token `emulator-token`, sender `notify@example.test`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn

TOKEN = "emulator-token"
TEST_TOKEN = "POSTMARK_API_TEST"
SENDER = "notify@example.test"
ADDRESS = re.compile(r"^(?:[^<>]*<)?([^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>?$")
BATCH_MAX = 500
EMAIL_BYTES_MAX = 10 * 1024 * 1024
BATCH_BYTES_MAX = 50 * 1024 * 1024


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PostmarkEmulator:
    token: str = TOKEN
    senders: set[str] = field(default_factory=lambda: {SENDER})
    inactive: set[str] = field(default_factory=set)
    # Answers to give before any real one: (HTTP status, Retry-After or None), first first.
    failures: list[tuple[int, str | None]] = field(default_factory=list)
    slow_seconds: float = 0.0
    malformed: int = 0
    # Answer this share of requests, at random, with a 429 (Retry-After 0) or a 500.
    flaky: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(4))
    requests: list[Recorded] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    url: str = ""

    # --- switches -------------------------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        self.failures.extend([(status, retry_after)] * times)

    def sent_to(self) -> list[str]:
        return [m["To"] for m in self.messages]

    # --- the HTTP app ---------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Recorded(scope["method"], scope["path"], headers, body))
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        status, answer, extra = self._answer(scope["method"], scope["path"], headers, body)
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        if self.failures:
            status, retry_after = self.failures.pop(0)
            extra = [(b"retry-after", retry_after.encode())] if retry_after else []
            code = 429 if status == 429 else 0
            return status, {"ErrorCode": code, "Message": "Injected failure."}, extra
        if self.flaky and self.rng.random() < self.flaky:
            status = self.rng.choice([429, 500])
            extra = [(b"retry-after", b"0")] if status == 429 else []
            return status, {"ErrorCode": 429 if status == 429 else 0, "Message": "Flaky."}, extra
        if self.malformed > 0:
            self.malformed -= 1
            return 200, b"{not json", []
        if method != "POST" or path not in ("/email", "/email/batch"):
            return 404, {"ErrorCode": 0, "Message": "Not found."}, []
        token = headers.get("x-postmark-server-token")
        if token not in (self.token, TEST_TOKEN):
            return 401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."}, []
        if "application/json" not in headers.get("content-type", ""):
            return 422, {"ErrorCode": 409, "Message": "JSON request required."}, []
        limit = BATCH_BYTES_MAX if path == "/email/batch" else EMAIL_BYTES_MAX
        if len(body) > limit:
            return 413, {"ErrorCode": 0, "Message": "Payload too large."}, []
        try:
            data = json.loads(body)
        except ValueError:
            return 422, {"ErrorCode": 402, "Message": "Received invalid JSON input."}, []
        store = token != TEST_TOKEN
        if path == "/email":
            if not isinstance(data, dict):
                return 422, {"ErrorCode": 403, "Message": "Incompatible JSON input."}, []
            result = self._one(data, store)
            return (200 if result["ErrorCode"] == 0 else 422), result, []
        if not isinstance(data, list):
            return 422, {"ErrorCode": 403, "Message": "Incompatible JSON input."}, []
        if len(data) > BATCH_MAX:
            return 422, {"ErrorCode": 410, "Message": "Too many batch messages."}, []
        return 200, [self._one(m if isinstance(m, dict) else {}, store) for m in data], []

    def _one(self, message: dict[str, Any], store: bool) -> dict[str, Any]:
        to = str(message.get("To") or "")
        recipients = [r.strip() for r in to.split(",") if r.strip()]
        sender = ADDRESS.match(str(message.get("From") or ""))

        def error(code: int, text: str) -> dict[str, Any]:
            return {"ErrorCode": code, "Message": text, "To": to}

        if not sender or sender.group(1).lower() not in self.senders:
            return error(400, "The 'From' address is not a confirmed Sender Signature.")
        if not recipients or len(recipients) > 50:
            return error(300, "Invalid 'To' address.")
        addresses = [ADDRESS.match(r) for r in recipients]
        if not all(addresses):
            return error(300, f"Error parsing 'To': Illegal email address '{to}'.")
        if not message.get("TextBody") and not message.get("HtmlBody"):
            return error(300, "Provide either email TextBody or HtmlBody or both.")
        for match in addresses:
            assert match is not None
            if match.group(1).lower() in self.inactive:
                return error(
                    406,
                    "You tried to send to recipient(s) that have been marked as inactive.",
                )
        message_id = str(uuid.uuid4())
        if store:
            self.messages.append({**message, "MessageID": message_id})
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
        return {
            "To": to,
            "SubmittedAt": stamp,
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }

    # --- serving --------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        config = uvicorn.Config(self, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Postmark emulator did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for clients' keep-alive connections
            self._thread.join(timeout=10)
            self._server = None


def post_inbound(
    url: str, payload: dict[str, Any], username: str, password: str, tries: int = 3
) -> list[int]:
    """Deliver an inbound webhook as Postmark does: retry on anything but 200, stop on 403."""
    statuses = []
    for _ in range(tries):
        status = httpx.post(url, json=payload, auth=(username, password), timeout=120).status_code
        statuses.append(status)
        if status in (200, 403):
            break
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    port = parser.parse_args().port
    emulator = PostmarkEmulator()
    print(f"Postmark emulator on http://127.0.0.1:{port} (token {TOKEN}, sender {SENDER})")
    uvicorn.run(emulator, host="127.0.0.1", port=port, lifespan="off")


if __name__ == "__main__":
    main()
