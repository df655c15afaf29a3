"""CPU per request of the hot routes through the whole ASGI app, in this process: Litestar, our
middleware, the services and the database driver, without the HTTP server or a load generator.

Steadier than the HTTP run when the box is shared (process CPU time, best of rounds), and what
a change to the request path moves. Needs the PostgreSQL seed of `run.py` (customercase_bench).

    .venv/bin/python benchmarks/inprocess.py [--route vote_unvote] [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import resource
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run, seed
from customercase.bootstrap import build_container, read_settings
from customercase.domain.ids import IdeaId, UserId
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.http.identity import SESSION_COOKIE
from customercase.entrypoints.logs import configure_logging
from customercase.services import ideas
from customercase.services.identity import hash_token

Answer = tuple[int, list[tuple[bytes, bytes]]]
Call = Callable[[], Awaitable[Answer]]
Maker = Callable[[str, str, bytes, list[tuple[bytes, bytes]]], Call]


def asgi_caller(app: Any) -> Maker:
    """Requests as callables that run the app once each and answer status and headers."""

    def make(method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> Call:
        raw_path, _, query = path.partition("?")

        async def call() -> Answer:
            answer: list[Any] = [0, []]
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    await asyncio.sleep(3600)
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    answer[:] = [message["status"], list(message.get("headers", []))]

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": method,
                "scheme": "http",
                "path": raw_path,
                "raw_path": raw_path.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 40000),
                "server": ("127.0.0.1", 8000),
                "state": {},
            }
            await app(scope, receive, send)
            return answer[0], answer[1]

        return call

    return make


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", action="append", dest="routes")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    opts = parser.parse_args()

    s = await seed.ensure_seed(opts.scale)
    fx = await _fixture(s)
    dsn = seed.dsn(s.database).replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = read_settings(
        dict(os.environ),
        database_url=dsn,
        worker_in_process=False,
        secret_key=secrets.token_hex(16),
        public_url="http://127.0.0.1:8000",
    )
    container = build_container(settings)
    app = create_asgi(container)
    make = asgi_caller(app)
    # Lifespan is not run: the app needs none for these routes (no in-process worker).
    csrf = ""
    rng = random.Random(7)
    token = fx.tokens[0]
    anon = [(b"cookie", f"csrftoken={csrf}".encode())]
    signed = [
        (b"cookie", f"csrftoken={csrf}; {SESSION_COOKIE}={token}".encode()),
        (b"x-csrftoken", csrf.encode()),
        (b"content-type", b"application/json"),
    ]
    forum_list = f"/api/v1/forums/{fx.forum_id}/ideas?sort=top&limit=20"
    comment = json.dumps({"body": "Measured, and it would help us too."}).encode()

    def routes() -> dict[str, Callable[[], list[Call]]]:
        def vote_unvote() -> list[Call]:
            path = f"/api/v1/ideas/{rng.choice(fx.idea_ids)}/vote"
            return [make("PUT", path, b"", signed), make("DELETE", path, b"", signed)]

        def vote_unvote_service() -> list[Call]:
            # The same pair through the services alone: what the framework adds is the rest.
            idea, user = IdeaId(rng.choice(fx.idea_ids)), UserId(USERS[0])

            async def cast() -> Answer:
                await ideas.vote(idea, user, uow=container.uow(), clock=container.clock())
                return 200, []

            async def withdraw() -> Answer:
                await ideas.unvote(idea, user, uow=container.uow())
                return 200, []

            return [cast, withdraw]

        return {
            "vote_unvote_service": vote_unvote_service,
            "list_anon": lambda: [make("GET", forum_list, b"", anon)],
            "list_signed_in": lambda: [make("GET", forum_list, b"", signed)],
            "idea": lambda: [make("GET", f"/api/v1/ideas/{rng.choice(fx.idea_ids)}", b"", anon)],
            "vote_unvote": vote_unvote,
            "comment": lambda: [
                make("POST", f"/api/v1/ideas/{rng.choice(fx.idea_ids)}/comments", comment, signed)
            ],
        }

    table = routes()
    chosen = opts.routes or [r for r in table if not r.endswith("_service")]
    # The CSRF cookie must be one Litestar signed: take it from a first answer.
    csrf = await _csrf_token(make, forum_list)
    anon[:] = [(b"cookie", f"csrftoken={csrf}".encode())]
    signed[:2] = [
        (b"cookie", f"csrftoken={csrf}; {SESSION_COOKIE}={token}".encode()),
        (b"x-csrftoken", csrf.encode()),
    ]
    for name in chosen:
        with contextlib.redirect_stdout(io.StringIO()) as logs:
            before = resource.getrusage(resource.RUSAGE_SELF)
            best, statuses = await _measure(table[name], opts.requests, opts.rounds)
            after = resource.getrusage(resource.RUSAGE_SELF)
        del logs  # the access log is written (and costs what it costs), not shown
        print(
            f"  {name:16} {best * 1e6:8.0f} µs CPU per request"
            f"  ({1 / best:,.0f} per CPU-s)  system {_system_share(before, after):.0%}"
            f"  statuses {statuses}"
        )
    await container.engine().dispose()
    await _undo(s, fx)


def _system_share(before: Any, after: Any) -> float:
    """The kernel's part of the CPU time (socket sends and receives, mostly)."""
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    return system / (user + system) if user + system else 0.0


async def _measure(
    requests_of: Callable[[], list[Call]], requests: int, rounds: int
) -> tuple[float, dict[int, int]]:
    """The least CPU per request over the rounds, and the statuses answered."""
    best = float("inf")
    statuses: dict[int, int] = {}
    for _ in range(rounds):
        done = 0
        started = time.process_time()
        while done < requests:
            for call in requests_of():
                status, _ = await call()
                statuses[status] = statuses.get(status, 0) + 1
                done += 1
        best = min(best, (time.process_time() - started) / done)
    return best, statuses


async def _csrf_token(make: Maker, path: str) -> str:
    """The CSRF cookie Litestar hands a browser on its first page (it checks its signature)."""
    _, headers = await make("GET", path, b"", [])()
    for key, value in headers:
        if key == b"set-cookie" and value.startswith(b"csrftoken="):
            return value.split(b";", 1)[0].split(b"=", 1)[1].decode()
    raise SystemExit("the app handed out no CSRF cookie")


# The last pool users, not those run.py signs in, so that a run of each at once (another
# checkout's) keep out of each other's votes and sessions.
USERS = [seed.pool_user_id(seed.POOL_USERS - 1 - n) for n in range(4)]


async def _fixture(s: seed.Seed) -> run.Fixture:
    conn = await asyncpg.connect(seed.dsn(s.database))
    try:
        await run.undo_pool_votes(conn, USERS)
        tokens = await run.new_sessions(conn, USERS, datetime.now(UTC))
        ideas = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM ideas WHERE forum_id = $1 ORDER BY random() LIMIT 2000", s.forum_id
            )
        ]
    finally:
        await conn.close()
    return run.Fixture(s.forum_id, ideas, ideas, tokens)


async def _undo(s: seed.Seed, fx: run.Fixture) -> None:
    """Withdraw the votes left (counters too) and the sessions made for this run."""
    hashes = [hash_token(t) for t in fx.tokens]
    conn = await asyncpg.connect(seed.dsn(s.database))
    try:
        await run.undo_pool_votes(conn, USERS)
        await conn.execute("DELETE FROM sessions WHERE token_hash = ANY($1::text[])", hashes)
    finally:
        await conn.close()


if __name__ == "__main__":
    # As `customercase serve` runs: uvloop, JSON access lines.
    configure_logging("info")
    uvloop.run(main())
