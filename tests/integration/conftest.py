"""Real databases for the integration suite: a fresh PostgreSQL database per run, and SQLite.

PostgreSQL is not optional here: when it cannot be reached the run fails with a message that
says how to point the suite at one. Set CUSTOMERCASE_TEST_POSTGRES to a server URL
(default postgresql://postgres@127.0.0.1:5432/test); the suite creates and drops its own database.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, build_container, read_settings, shutdown
from customercase.entrypoints.http.app import create_asgi
from tests.emulators.google import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.emulators.google import CLIENT_SECRET as GOOGLE_CLIENT_SECRET
from tests.emulators.google import GoogleEmulator
from tests.emulators.server import serving

SERVER = os.environ.get("CUSTOMERCASE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(SERVER, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL is required by the integration suite and could not be reached at "
            f"{SERVER} ({error}). Start it, or set CUSTOMERCASE_TEST_POSTGRES to a server URL.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A database of our own on the PostgreSQL server, dropped at the end of the run."""
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    admin = await _admin()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "customercase.sqlite3"
    yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def database_urls(postgres_url: str, sqlite_url: str) -> dict[str, str]:
    return {"postgresql": postgres_url, "sqlite": sqlite_url}


_migrated: set[str] = set()


@pytest.fixture(params=BACKENDS)
async def container(
    request: pytest.FixtureRequest, database_urls: dict[str, str]
) -> AsyncIterator[Container]:
    """The production container on a migrated database, with cheap argon2 parameters."""
    url = database_urls[request.param]
    settings = read_settings(
        {},
        database_url=url,
        public_url="http://testserver.local",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        secret_key="test-secret-key-not-for-production",
    )
    container = build_container(settings)
    if url not in _migrated:
        await upgrade(container.engine())
        _migrated.add(url)
    yield container
    await container.engine().dispose()


@pytest.fixture
async def engine(container: Container) -> AsyncEngine:
    return container.engine()


Browser = Callable[[], Awaitable[httpx.AsyncClient]]


def csrf_header_from_cookie(
    client: httpx.AsyncClient,
) -> Callable[[httpx.Request], Awaitable[None]]:
    async def hook(request: httpx.Request) -> None:
        token = client.cookies.get("csrftoken")
        if token and "x-csrftoken" not in request.headers:
            request.headers["x-csrftoken"] = token

    return hook


@pytest.fixture
async def browser(container: Container) -> AsyncIterator[Browser]:
    """Opens clients of one app, each with its own cookie jar and address, like separate browsers.

    Each opens the site first and then sends the CSRF cookie back in the x-csrftoken header,
    as the pages' script does.
    The app runs on the test's own event loop (httpx's ASGI transport), so the database
    connections it opens belong to that loop too.
    """
    app = create_asgi(container)
    async with AsyncExitStack() as stack:

        async def open_browser() -> httpx.AsyncClient:
            address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
            client.event_hooks["request"].append(csrf_header_from_cookie(client))
            await stack.enter_async_context(client)
            await client.get("/healthz")  # opening the site hands out the CSRF cookie
            return client

        yield open_browser


@pytest.fixture
async def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An engine on a brand-new, empty database of the backend in request.param."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        await engine.dispose()
        return
    name = f"cc_empty_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(f"{base}/{name}")
    yield engine
    await engine.dispose()
    admin = await _admin()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def google_emulator() -> Iterator[GoogleEmulator]:
    """The local Google OpenID provider, over real HTTP, for the whole run."""
    emulator = GoogleEmulator({"http://testserver.local/auth/google/callback"})
    with serving(emulator.app()) as base_url:
        emulator.base_url = base_url
        yield emulator


@pytest.fixture
async def google(
    container: Container, google_emulator: GoogleEmulator
) -> AsyncIterator[tuple[GoogleEmulator, Browser]]:
    """The emulator, reset, and browsers of an app whose Google sign-in points at it."""
    emulator = google_emulator
    emulator.claim_overrides = {}
    emulator.sign_with_foreign_key = emulator.malformed = emulator.rate_limited = False
    emulator.unknown_kid = False
    emulator.fail_with, emulator.delay_seconds = None, 0.0
    emulator.sign_in_as(uuid.uuid4().hex, f"{uuid.uuid4().hex[:12]}@gmail.example", "Some One")
    settings = msgspec.structs.replace(
        container.settings(),
        google_client_id=GOOGLE_CLIENT_ID,
        google_client_secret=GOOGLE_CLIENT_SECRET,
        google_discovery_url=f"{emulator.base_url}/.well-known/openid-configuration",
    )
    with_google = build_container(settings)
    app = create_asgi(with_google)
    async with AsyncExitStack() as stack:

        async def open_browser() -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 50000))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
            client.event_hooks["request"].append(csrf_header_from_cookie(client))
            await stack.enter_async_context(client)
            await client.get("/healthz")
            return client

        yield emulator, open_browser
    await shutdown(with_google)
