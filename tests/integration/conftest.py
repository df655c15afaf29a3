"""Real databases for the integration suite: a fresh PostgreSQL database per run, and SQLite.

PostgreSQL is not optional here: when it cannot be reached the run fails with a message that
says how to point the suite at one. Set CUSTOMERCASE_TEST_POSTGRES to a server URL
(default postgresql://postgres@127.0.0.1:5432/test); the suite creates and drops its own database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, build_container, read_settings
from customercase.entrypoints.http.app import create_asgi

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


@pytest.fixture
async def browser(container: Container) -> AsyncIterator[Browser]:
    """Opens clients of one app, each with its own cookie jar, like separate browsers.

    The app runs on the test's own event loop (httpx's ASGI transport), so the database
    connections it opens belong to that loop too.
    """
    transport = httpx.ASGITransport(app=create_asgi(container))
    async with AsyncExitStack() as stack:

        async def open_browser() -> httpx.AsyncClient:
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
            return await stack.enter_async_context(client)

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


@pytest.fixture(params=BACKENDS)
def loop_container(
    request: pytest.FixtureRequest, database_urls: dict[str, str]
) -> Iterator[tuple[asyncio.AbstractEventLoop, Container]]:
    """A migrated container whose connections live on a loop of the test's own (hypothesis)."""
    loop = asyncio.new_event_loop()
    container = build_container(read_settings({}, database_url=database_urls[request.param]))
    loop.run_until_complete(upgrade(container.engine()))
    yield loop, container
    loop.run_until_complete(container.engine().dispose())
    loop.close()
