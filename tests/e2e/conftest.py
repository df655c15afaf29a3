"""The app served for real (uvicorn on loopback, a fresh SQLite file) and Debian's Chromium.

The server runs in a thread with its own event loop; the tests drive the browser with
Playwright's async API on pytest's loop. Seeding goes through the use cases, in a thread of
its own so that its event loop never meets pytest's.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, Settings, build_container, read_settings
from customercase.entrypoints.http.app import create_asgi
from customercase.services.demo import Demo, seed_demo

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse battery"
T = TypeVar("T")


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    demo: Demo

    def seed(self, work: Callable[[Container], Awaitable[T]]) -> T:
        """Run `work` against the site's database through the use cases, off pytest's loop."""

        async def run() -> T:
            container = build_container(self.settings)
            try:
                return await work(container)
            finally:
                await container.engine().dispose()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = tmp_path_factory.mktemp("e2e") / "site.sqlite3"
    sock, port = loopback_socket()
    settings = read_settings(
        {},
        database_url=f"sqlite+aiosqlite:///{database}",
        host="127.0.0.1",
        port=port,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        secret_key="e2e-secret-key-not-for-production",
        # A browser driven by a test fills a form in well under the 3 s a person takes.
        form_min_seconds=0,
        is_local=True,
    )

    async def prepare(container: Container) -> Demo:
        await upgrade(container.engine())
        demo = await seed_demo(
            uow=container.uow(),
            hasher=container.hasher(),
            clock=container.clock(),
            ids=container.ids(),
        )
        assert demo is not None
        return demo

    site = Site(f"http://127.0.0.1:{port}", settings, Demo("", "", ""))
    demo = site.seed(prepare)
    with serving(settings, sock):
        yield Site(site.url, settings, demo)


def loopback_socket() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@contextmanager
def serving(settings: Settings, sock: socket.socket) -> Iterator[None]:
    """The app of `settings` served by uvicorn on `sock`, in a thread, while the block runs."""
    config = uvicorn.Config(
        create_asgi(build_container(settings)),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        await browser.close()


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(chromium: Browser, site: Site) -> AsyncIterator[OpenPage]:
    """Opens pages in browser contexts of their own (own cookies), like separate people."""
    contexts: list[BrowserContext] = []

    async def open_page(**options: Any) -> Page:
        # bypass_csp lets the tests inject axe-core; escaping is what keeps user text inert.
        options.setdefault("bypass_csp", True)
        # Each person comes from an address of their own (the server trusts X-Forwarded-For
        # from loopback, as behind a proxy), so per-address sign-up limits count people.
        address = f"203.0.113.{random.randrange(1, 255)}"
        options.setdefault("extra_http_headers", {"X-Forwarded-For": address})
        context = await chromium.new_context(base_url=site.url, **options)
        context.set_default_timeout(5000)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical accessibility violations axe-core finds on the page."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def unique_email(name: str) -> str:
    return f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.org"


async def sign_up(page: Page, name: str = "Nora Newcomer") -> str:
    """Create an account through the sign-up page; returns its email."""
    email = unique_email(name)
    await page.goto("/signup")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url("**/me")
    return email


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
