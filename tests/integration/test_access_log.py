"""What `customercase serve` writes per request: one JSON line, no query string, no address."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from customercase.bootstrap import Container
from tests.integration.pg_instance import free_port
from tests.integration.test_shutdown import SRC, _until_up

pytestmark = pytest.mark.parametrize("container", ["sqlite"], indirect=True)


@pytest.fixture
def logged_web_process(
    container: Container, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`customercase serve` at log level info, its stderr kept in a file."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "CUSTOMERCASE_DATABASE_URL": container.settings().database_url,
        "CUSTOMERCASE_LOG_LEVEL": "info",
        "CUSTOMERCASE_SECRET_KEY": "test-secret-key-not-for-production",
    }
    main = "from customercase.entrypoints.cli import main; main()"
    command = [sys.executable, "-c", main, "serve", "--port", str(port)]
    log = tmp_path / "stderr"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)  # noqa: S603 - our own
        try:
            yield process, f"http://127.0.0.1:{port}", log
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


async def test_each_request_is_one_json_line_with_route_status_time_and_request_id(
    logged_web_process: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, base_url, log = logged_web_process
    forum = uuid.uuid4().hex
    await _until_up(base_url)
    async with httpx.AsyncClient(base_url=base_url) as client:
        searched = await client.get(
            f"/api/v1/forums/{forum}/ideas?q=secret-search-words",
            headers={"x-request-id": "trace-42", "x-forwarded-for": "203.0.113.7"},
        )
        await client.get("/healthz", headers={"x-forwarded-for": "198.51.100.9"})
    process.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(process.wait, 20)
    output = log.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    searched_line = next(line for line in requests if line.get("request_id") == "trace-42")
    health_line = next(line for line in requests if line.get("path") == "/healthz")

    assert exit_code == 0
    assert searched.headers["x-request-id"] == "trace-42"
    assert searched_line["method"] == "GET"
    assert searched_line["route"] == "/api/v1/forums/{forum_id}/ideas"
    assert searched_line["path"] == f"/api/v1/forums/{forum}/ideas"
    assert searched_line["status"] == searched.status_code
    assert isinstance(searched_line["ms"], float | int)
    # The proxy's X-Forwarded-For is the client; it is logged only as a keyed hash.
    assert len(searched_line["client"]) == 12
    assert searched_line["client"] != health_line["client"]
    assert "secret-search-words" not in output
    assert "203.0.113.7" not in output and '127.0.0.1"' not in output
