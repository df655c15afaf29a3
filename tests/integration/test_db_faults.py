"""PostgreSQL restarted under load: clean 503s meanwhile, quick recovery, no accepted write lost.

The app runs against a PostgreSQL server of this test's own (pg_instance.py), which is
restarted while signed-in people list, vote and comment at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, build_container, read_settings
from customercase.entrypoints.http.app import create_asgi
from tests.integration.pg_instance import PostgresInstance
from tests.integration.walk import open_forum, sign_up, submit

PEOPLE = 16
REQUEST_TIMEOUT = 20.0
RECOVERY_SECONDS = 5.0
LOAD_BEFORE = 1.0
SETTLED_LOAD = 2.0


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresInstance]:
    server = PostgresInstance()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
async def app_on_own_postgres(
    own_postgres: PostgresInstance,
) -> AsyncIterator[tuple[Container, Any]]:
    settings = read_settings(
        {},
        database_url=own_postgres.url,
        public_url="http://testserver.local",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        secret_key="test-secret-key-not-for-production",
    )
    container = build_container(settings)
    await upgrade(container.engine())
    yield container, create_asgi(container)
    await container.engine().dispose()


@dataclass
class Outcome:
    what: str
    status: int
    started: float
    ended: float
    content_type: str
    retry_after: str | None
    body: Any


@dataclass
class Storm:
    """What everyone sent and got while the database went away and came back."""

    outcomes: list[Outcome] = field(default_factory=list)
    comments: set[str] = field(default_factory=set)
    votes: set[tuple[str, str]] = field(default_factory=set)

    async def act(self, client: httpx.AsyncClient, what: str, path: str, **kw: Any) -> Outcome:
        started = time.monotonic()
        method = what.split()[0]
        response = await asyncio.wait_for(client.request(method, path, **kw), REQUEST_TIMEOUT)
        body = response.json() if response.content else None
        outcome = Outcome(
            what,
            response.status_code,
            started,
            time.monotonic(),
            response.headers.get("content-type", ""),
            response.headers.get("retry-after"),
            body,
        )
        self.outcomes.append(outcome)
        return outcome


async def a_browser(app: Any, n: int) -> httpx.AsyncClient:
    """A client with an address of its own (per-address limits see people, not the test) that
    echoes the CSRF cookie into its header, as the pages do."""
    transport = httpx.ASGITransport(app=app, client=(f"10.0.{n // 250}.{n % 250 + 1}", 50000))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

    async def echo_csrf(request: httpx.Request) -> None:
        token = client.cookies.get("csrftoken")
        if token and "x-csrftoken" not in request.headers:
            request.headers["x-csrftoken"] = token

    client.event_hooks["request"].append(echo_csrf)
    await client.get("/healthz")
    return client


async def _keep_busy(
    storm: Storm,
    client: httpx.AsyncClient,
    me: str,
    forum: str,
    ideas: list[str],
    stop: asyncio.Event,
) -> None:
    """List, vote and comment in a loop until told to stop."""
    n = 0
    while not stop.is_set():
        idea = ideas[n % len(ideas)]
        n += 1
        await storm.act(client, "GET list", f"/api/v1/forums/{forum}/ideas")
        vote = await storm.act(client, "PUT vote", f"/api/v1/ideas/{idea}/vote")
        if vote.status == 200:
            storm.votes.add((idea, me))
        comment = await storm.act(
            client, "POST comment", f"/api/v1/ideas/{idea}/comments", json={"body": f"c{n}"}
        )
        if comment.status == 201:
            storm.comments.add(comment.body["id"])


async def _stored(
    container: Container, forum_id: str
) -> tuple[set[str], set[tuple[str, str]], bool]:
    async with container.engine().connect() as conn:
        ideas = t.ideas.c
        idea_ids = sa.select(ideas.id).where(ideas.forum_id == forum_id)
        comments = set(
            await conn.scalars(sa.select(t.comments.c.id).where(t.comments.c.idea_id.in_(idea_ids)))
        )
        votes = {
            (row.idea_id, row.user_id)
            for row in await conn.execute(
                sa.select(t.votes.c.idea_id, t.votes.c.user_id).where(
                    t.votes.c.idea_id.in_(idea_ids)
                )
            )
        }
        counters = await conn.execute(
            sa.select(ideas.id, ideas.votes, ideas.comments).where(ideas.forum_id == forum_id)
        )
        counted = all(row.votes == sum(1 for v in votes if v[0] == row.id) for row in counters)
    return comments, votes, counted


async def _first_success_after(storm: Storm, moment: float) -> float:
    """When the first request started after `moment` succeeded; gives up after RECOVERY_SECONDS."""
    deadline = moment + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        done = [o.ended for o in storm.outcomes if o.started >= moment and o.status < 400]
        if done:
            return min(done)
        await asyncio.sleep(0.05)
    return float("inf")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_database_restart_under_load_loses_no_accepted_write(
    own_postgres: PostgresInstance, app_on_own_postgres: tuple[Container, Any], mode: str
) -> None:
    container, app = app_on_own_postgres
    clients = [await a_browser(app, n) for n in range(PEOPLE)]
    people = [(await sign_up(client))["id"] for client in clients]
    forum = await open_forum(clients[0])
    ideas = [(await submit(clients[0], forum["id"], f"Idea {n}"))["id"] for n in range(4)]
    storm, stop = Storm(), asyncio.Event()

    busy = [
        asyncio.create_task(_keep_busy(storm, client, me, forum["id"], ideas, stop))
        for client, me in zip(clients, people, strict=True)
    ]
    await asyncio.sleep(LOAD_BEFORE)
    went_down = time.monotonic()
    await asyncio.to_thread(own_postgres.restart, mode)
    came_back = time.monotonic()
    recovered = await _first_success_after(storm, came_back)
    await asyncio.sleep(SETTLED_LOAD)
    stop.set()
    await asyncio.gather(*busy)
    for client in clients:
        await client.aclose()
    comments, votes, counted = await _stored(container, forum["id"])

    statuses = {o.status for o in storm.outcomes}
    failed = [o for o in storm.outcomes if o.status >= 400]
    settled = [o for o in storm.outcomes if o.started >= recovered + 1.0]
    print(
        f"{mode}: {len(storm.outcomes)} requests, {len(failed)} answered 503, "
        f"database away {came_back - went_down:.2f}s, "
        f"first success {recovered - came_back:.2f}s after it was back"
    )
    assert statuses <= {200, 201, 503}, [
        (o.what, o.status, o.body) for o in failed if o.status != 503
    ][:5]
    for outcome in failed:
        assert outcome.content_type.startswith("application/problem+json")
        assert outcome.retry_after and outcome.body["status"] == 503
    assert recovered - came_back < RECOVERY_SECONDS
    assert settled and all(o.status < 400 for o in settled)
    assert storm.comments <= comments
    assert storm.votes <= votes
    assert counted


async def test_readiness_and_requests_say_503_while_the_database_is_away_and_recover(
    own_postgres: PostgresInstance, app_on_own_postgres: tuple[Container, Any]
) -> None:
    _, app = app_on_own_postgres
    client = await a_browser(app, 1000)
    await sign_up(client)
    before = await client.get("/readyz")

    await asyncio.to_thread(own_postgres.stop)
    try:
        away = [await client.get("/readyz"), await client.get("/api/v1/me")]
    finally:
        await asyncio.to_thread(own_postgres.start)
    back = [await client.get("/readyz"), await client.get("/api/v1/me")]
    await client.aclose()

    assert before.status_code == 200
    for response in away:
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) > 0
    assert [r.status_code for r in back] == [200, 200]


async def test_a_database_that_accepts_but_never_answers_is_a_503_within_seconds() -> None:
    release = asyncio.Event()

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    container = build_container(
        read_settings(
            {},
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none",
            secret_key="test-secret-key-not-for-production",
        )
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_asgi(container)), base_url="http://t.local"
    )
    started = time.monotonic()

    response = await asyncio.wait_for(client.get("/readyz"), REQUEST_TIMEOUT)
    took = time.monotonic() - started
    await client.aclose()
    await container.engine().dispose()
    release.set()
    silent.close()
    await silent.wait_closed()

    assert response.status_code == 503 and response.headers["retry-after"]
    assert took < 10
