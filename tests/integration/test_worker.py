"""`customercase worker` as a real process, and the same loop inside the web app."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from customercase.adapters.fakes.system import FixedClock
from customercase.bootstrap import Container, build_container
from customercase.entrypoints.http.app import create_app
from tests.emulators.postmark import SENDER, TOKEN, PostmarkEmulator
from tests.integration.conftest import Browser, csrf_header_from_cookie
from tests.integration.mailflow import drain, mail_to, outbox_rows
from tests.integration.walk import open_forum, sign_up, submit

SRC = Path(__file__).parents[2] / "src"


def _start_worker(
    container: Container, postmark: PostmarkEmulator, **env: str
) -> subprocess.Popen[bytes]:
    settings = container.settings()
    environ = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "CUSTOMERCASE_DATABASE_URL": settings.database_url,
        "CUSTOMERCASE_POSTMARK_SERVER_TOKEN": TOKEN,
        "CUSTOMERCASE_POSTMARK_API_URL": postmark.url,
        "CUSTOMERCASE_MAIL_FROM": SENDER,
        "CUSTOMERCASE_SECRET_KEY": settings.secret_key,
        "CUSTOMERCASE_WORKER_POLL_SECONDS": "0.1",
        "CUSTOMERCASE_LOG_LEVEL": "warning",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from customercase.entrypoints.cli import main; main()", "worker"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain")
        await asyncio.sleep(0.05)


async def test_the_worker_process_delivers_and_stops_cleanly_on_sigterm(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, bob = await mail_browser(), await mail_browser()
    await sign_up(ada, "Ada Staff")
    bob_u = await sign_up(bob, "Bob Author")
    forum = await open_forum(ada)
    worker = _start_worker(mail_container, postmark)

    await submit(bob, forum["id"], "Delivered by the worker process")
    await _until(lambda: bool(mail_to(postmark.messages, bob_u["email"])))
    worker.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(worker.wait, 15)

    assert code == 0, worker.stderr.read() if worker.stderr else ""
    assert len(mail_to(postmark.messages, bob_u["email"])) == 1


async def test_a_worker_killed_mid_batch_costs_at_most_one_repeat_and_loses_nothing(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada = await mail_browser()
    await sign_up(ada, "Ada Staff")
    forum = await open_forum(ada)
    authors = []
    for n in range(3):
        client = await mail_browser()
        authors.append(await sign_up(client, f"Author {n}"))
        await submit(client, forum["id"], f"Idea number {n}")
    postmark.slow_seconds = 1.0
    worker = _start_worker(mail_container, postmark, CUSTOMERCASE_WORKER_LEASE_SECONDS="30")

    await _until(lambda: bool(postmark.requests))
    worker.kill()
    await asyncio.to_thread(worker.wait, 15)
    await asyncio.sleep(1.5)  # the batch in flight lands at Postmark; the worker never knew
    postmark.slow_seconds = 0.0
    await drain(mail_container, FixedClock(datetime.now(UTC) + timedelta(seconds=31)))

    counts = [len(mail_to(postmark.messages, a["email"])) for a in authors]
    ids = {a["id"] for a in authors}
    rows = [r for r in await outbox_rows(mail_container) if r.recipient_id in ids]
    assert all(1 <= c <= 2 for c in counts), counts
    assert {r.state for r in rows} == {"sent"}


async def test_under_make_run_the_web_process_delivers_mail_itself(
    container: Container, postmark: PostmarkEmulator
) -> None:
    settings = msgspec.structs.replace(
        container.settings(),
        postmark_server_token=TOKEN,
        postmark_api_url=postmark.url,
        mail_from=SENDER,
        worker_in_process=True,
        worker_poll_seconds=0.05,
    )
    app = create_app(build_container(settings))

    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        client.event_hooks["request"].append(csrf_header_from_cookie(client))
        await client.get("/healthz")
        user = await sign_up(client, "Solo Runner")  # type: ignore[arg-type]
        forum = await open_forum(client)  # type: ignore[arg-type]
        await submit(client, forum["id"], "Sent from inside the web process")  # type: ignore[arg-type]
        await _until(lambda: bool(mail_to(postmark.messages, user["email"])))

    assert len(mail_to(postmark.messages, user["email"])) == 1
