"""SIGTERM to a web process under load: requests already in flight are answered, new
connections are refused, then it exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from customercase.bootstrap import Container
from tests.integration.pg_instance import free_port

SRC = Path(__file__).resolve().parents[2] / "src"
IN_FLIGHT = 6


@pytest.fixture
def web_process(container: Container) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`customercase serve` on a free loopback port, on the suite's migrated database."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "CUSTOMERCASE_DATABASE_URL": container.settings().database_url,
        "CUSTOMERCASE_LOG_LEVEL": "warning",
        "CUSTOMERCASE_SECRET_KEY": "test-secret-key-not-for-production",
        "CUSTOMERCASE_ARGON2_TIME_COST": "1",
        "CUSTOMERCASE_ARGON2_MEMORY_KIB": "1024",
    }
    command = [
        sys.executable,
        "-c",
        "from customercase.entrypoints.cli import main; main()",
        "serve",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our own command line
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _until_up(base_url: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    pytest.fail("the web process did not start within 30 s")


async def _half_sent(
    base_url: str, sent: asyncio.Event, release: asyncio.Event
) -> AsyncIterator[httpx.Response]:
    """Yields once: a sign-up whose body is half sent before `release`, then its answer."""
    body = (
        f'{{"email": "drain-{uuid.uuid4().hex[:8]}@example.org", '
        f'"name": "Drained", "password": "correct horse battery"}}'
    ).encode()

    async def content() -> AsyncIterator[bytes]:
        yield body[:20]
        sent.set()
        await release.wait()
        yield body[20:]

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield await client.post(
            "/api/v1/auth/signup", content=content(), headers={"content-type": "application/json"}
        )


async def test_sigterm_lets_requests_in_flight_finish_then_the_process_exits(
    web_process: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base_url = web_process
    await _until_up(base_url)
    release = asyncio.Event()
    sent = [asyncio.Event() for _ in range(IN_FLIGHT)]

    async def one(started: asyncio.Event) -> httpx.Response:
        async for response in _half_sent(base_url, started, release):
            return response
        raise AssertionError("no answer")

    answers = [asyncio.create_task(one(started)) for started in sent]
    await asyncio.wait_for(asyncio.gather(*(s.wait() for s in sent)), 10)
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(base_url=base_url) as latecomer:
        with pytest.raises(httpx.ConnectError):
            await latecomer.get("/healthz")
    release.set()
    responses = await asyncio.wait_for(asyncio.gather(*answers), 30)
    exit_code = await asyncio.to_thread(process.wait, 20)

    assert [r.status_code for r in responses] == [201] * IN_FLIGHT
    assert exit_code == 0
