"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams, loopback only.

Why our own: wrk is not installed everywhere, and httpx spends more CPU per request than the
server we measure. This one keeps one keep-alive connection per worker, sends pre-built
requests and reads exactly Content-Length bytes (or chunks) back. It is bounded twice: by a
number of requests and by a deadline, whichever comes first.

A *script* is a list of requests a worker sends in order before it picks the next script (vote
then unvote, so counters end where they began); each request is timed on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    expect: tuple[int, ...] = (200,)
    # Extra header lines, e.g. (("X-Forwarded-For", "198.18.0.1"),).
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Identity:
    """Cookies one simulated browser sends; CSRF tokens are echoed when the server sets one."""

    cookies: dict[str, str] = field(default_factory=dict)

    def remember(self, set_cookie_headers: list[str]) -> None:
        for header in set_cookie_headers:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def headers(self, unsafe: bool) -> str:
        lines = ""
        if self.cookies:
            lines += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        if unsafe and "csrftoken" in self.cookies:
            lines += f"x-csrftoken: {self.cookies['csrftoken']}\r\n"
        return lines


@dataclass(slots=True)
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # unexpected status or a broken connection
    started: float = 0.0
    ended: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, request: Request, who: Identity) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        unsafe = request.method not in ("GET", "HEAD")
        head = (
            f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"{who.headers(unsafe)}"
            + "".join(f"{name}: {value}\r\n" for name, value in request.headers)
        )
        if request.body or unsafe:
            head += (
                f"Content-Type: {request.content_type}\r\nContent-Length: {len(request.body)}\r\n"
            )
        self.writer.write(head.encode("latin-1") + b"\r\n" + request.body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, closing, cookies = 0, False, False, []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                closing = True
            elif name == "set-cookie":
                cookies.append(value.strip())
        body = await self._chunks() if chunked else await self.reader.readexactly(length)
        if cookies:
            who.remember(cookies)
        if closing:
            await self.close()
        return status, body

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await self.reader.readexactly(size + 2)
            if size == 0:
                return body


Script = Sequence[Request]


async def drive(
    host: str,
    port: int,
    next_script: Callable[[int], tuple[Identity, Script]],
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> Tally:
    """Run scripts from `next_script(worker)` on `concurrency` connections until a bound is hit."""
    if host not in LOOPBACK:
        raise SystemExit(f"the load generator only talks to loopback, not {host}")
    tally = Tally()
    budget = [max_requests]
    deadline = time.monotonic() + max_seconds

    async def worker(number: int) -> None:
        conn = Connection(host, port)
        try:
            while budget[0] > 0 and time.monotonic() < deadline:
                who, script = next_script(number)
                budget[0] -= len(script)
                for request in script:
                    began = time.perf_counter()
                    try:
                        status, _ = await conn.send(request, who)
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        tally.errors += 1
                        tally.statuses[0] = tally.statuses.get(0, 0) + 1
                        await conn.close()
                        continue
                    tally.latencies.append(time.perf_counter() - began)
                    tally.statuses[status] = tally.statuses.get(status, 0) + 1
                    if status not in request.expect:
                        tally.errors += 1
        finally:
            await conn.close()

    tally.started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    tally.ended = time.perf_counter()
    return tally


async def prime(host: str, port: int, who: Identity, path: str) -> None:
    """One GET so that cookies the server hands out (a CSRF token) are in the identity."""
    conn = Connection(host, port)
    try:
        await conn.send(Request("GET", path), who)
    finally:
        await conn.close()
