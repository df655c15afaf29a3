"""Real databases for the integration suite: a fresh PostgreSQL database per run, and SQLite.

PostgreSQL is not optional here: when it cannot be reached the run fails with a message that
says how to point the suite at one. Set CUSTOMERCASE_TEST_POSTGRES to a server URL
(default postgresql://postgres@127.0.0.1:5432/test); the suite creates and drops its own database.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest
from dependency_injector import providers
from litestar.types import ASGIApp
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.akismet import AkismetSpamFilter
from customercase.adapters.jira.tracker import JiraIssueTrackers, RetryPolicy
from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.migrate import upgrade
from customercase.adapters.sql.tables import outbox
from customercase.bootstrap import Container, build_container, read_settings, shutdown
from customercase.entrypoints.http.app import create_asgi
from tests.emulators.akismet import AkismetEmulator
from tests.emulators.google import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.emulators.google import CLIENT_SECRET as GOOGLE_CLIENT_SECRET
from tests.emulators.google import GoogleEmulator
from tests.emulators.jira import JiraEmulator
from tests.emulators.postmark import SENDER as POSTMARK_SENDER
from tests.emulators.postmark import TOKEN as POSTMARK_TOKEN
from tests.emulators.postmark import PostmarkEmulator
from tests.emulators.serve import Served
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
        # Tests read what they just changed; the list cache's own tests turn it on.
        list_cache_seconds=0,
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


@asynccontextmanager
async def browsers_of(app: ASGIApp) -> AsyncIterator[Browser]:
    """Opens clients of one app, each with its own cookie jar and address, like separate browsers.

    Each opens the site first and then sends the CSRF cookie back in the x-csrftoken header,
    as the pages' script does. The app runs on the test's own event loop (httpx's ASGI
    transport), so the database connections it opens belong to that loop too. Each browser
    gets an address of its own (an ASGI scope value, no traffic), so per-address rate limits
    see people, not the test.
    """
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
async def browser(container: Container) -> AsyncIterator[Browser]:
    """Separate browsers on the app of `container`."""
    async with browsers_of(create_asgi(container)) as open_browser:
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


@pytest.fixture
def jira_emulator() -> Iterator[JiraEmulator]:
    """A fresh Jira emulator served over real HTTP on loopback; its address in `base_url`."""
    emulator = JiraEmulator()
    with Served(emulator) as base_url:
        emulator.base_url = base_url
        yield emulator


WEBHOOK_SECRET = "jira-webhook-secret"


@dataclass
class JiraWorld:
    """The app's container, configured for Jira and pointed at a running emulator."""

    container: Container
    jira: JiraEmulator
    browser: Browser
    # Outbox rows of earlier tests share the database; this world's start after this.
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@pytest.fixture
async def jira_world(container: Container, jira_emulator: JiraEmulator) -> AsyncIterator[JiraWorld]:
    settings = msgspec.structs.replace(
        container.settings(), secret_key="test secret key", jira_webhook_secret=WEBHOOK_SECRET
    )
    fast = RetryPolicy(attempts=8, backoff_seconds=0.01, max_wait_seconds=0.5)
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        with container.override_providers(
            settings=settings,
            trackers=providers.Object(JiraIssueTrackers(client, fast)),
        ):
            async with browsers_of(create_asgi(container)) as open_browser:
                yield JiraWorld(container, jira_emulator, open_browser)


# --- mail (issue 4) ---------------------------------------------------------------------------

INBOUND_ADDRESS = "inbox@inbound.example.test"
INBOUND_USER, INBOUND_PASSWORD = "postmark", "inbound-secret"


@pytest.fixture
async def postmark() -> AsyncIterator[PostmarkEmulator]:
    """A Postmark emulator on loopback, over real HTTP."""
    emulator = PostmarkEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
async def mail_container(
    container: Container, postmark: PostmarkEmulator
) -> AsyncIterator[Container]:
    """The production container sending through the emulator, with the mailbox configured."""
    settings = msgspec.structs.replace(
        container.settings(),
        postmark_server_token=POSTMARK_TOKEN,
        postmark_api_url=postmark.url,
        postmark_first_wait_seconds=0.01,
        mail_from=POSTMARK_SENDER,
        inbound_address=INBOUND_ADDRESS,
        postmark_inbound_username=INBOUND_USER,
        postmark_inbound_password=INBOUND_PASSWORD,
        secret_key="test-secret-key",
    )
    mail = build_container(settings)
    # Rows other tests left pending would be sent by this test's worker: set them aside.
    async with mail.engine().begin() as conn:
        await conn.execute(
            outbox.update().where(outbox.c.state == "pending").values(state="set-aside")
        )
    yield mail
    await shutdown(mail)


@pytest.fixture
async def mail_browser(mail_container: Container) -> AsyncIterator[Browser]:
    """Like `browser`, on the app of `mail_container`."""
    async with browsers_of(create_asgi(mail_container)) as open_browser:
        yield open_browser


# --- Google sign-in (issue 3) -------------------------------------------------------------------


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
    async with browsers_of(create_asgi(with_google)) as open_browser:
        yield emulator, open_browser
    await shutdown(with_google)


# --- search (issue 7) ---------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def loop_container(
    request: pytest.FixtureRequest, database_urls: dict[str, str]
) -> Iterator[tuple[asyncio.AbstractEventLoop, Container]]:
    """A migrated container whose connections live on a loop of the test's own (hypothesis)."""
    loop = asyncio.new_event_loop()
    container = build_container(
        read_settings({}, database_url=database_urls[request.param], secret_key="test-secret")
    )
    loop.run_until_complete(upgrade(container.engine()))
    yield loop, container
    loop.run_until_complete(container.engine().dispose())
    loop.close()


@pytest.fixture(scope="session")
def akismet_emulator() -> Iterator[tuple[AkismetEmulator, str]]:
    """One Akismet emulator for the run; tests tell their calls apart by the text they send."""
    emulator = AkismetEmulator()
    with serving(emulator) as url:
        yield emulator, url


@asynccontextmanager
async def akismet_filtering(
    container: Container, emulated: tuple[AkismetEmulator, str]
) -> AsyncIterator[AkismetEmulator]:
    """The container's spam filter is the real Akismet adapter, pointed at the emulator."""
    emulator, url = emulated
    async with httpx.AsyncClient() as client:
        adapter = AkismetSpamFilter(
            api_key="test-key",
            blog="http://testserver.local",
            client=client,
            api_url=url,
            timeout_seconds=0.5,
            retry_wait_seconds=0.01,
        )
        with container.spam.override(providers.Object(adapter)):
            yield emulator
    emulator.slow_seconds = 0.0
