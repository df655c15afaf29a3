"""Error reports reach Sentry (a local endpoint that receives the envelopes over real HTTP)
with no personal data in them."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sentry_sdk
from dependency_injector import providers

from customercase.bootstrap import Container
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.monitoring import init_error_reports
from tests.emulators.server import serving
from tests.integration.conftest import browsers_of
from tests.integration.walk import PASSWORD, open_forum, unique

SECRETS = {
    "password": "hunter2-is-my-password",
    "token": "query-token-0123456789",
    "bearer": "bearer-secret-abcdef",
    "description": "write to me at private.person@example.net",
}


class SentryIngest:
    """Receives envelopes at /api/{project}/envelope/ and keeps their decoded bodies."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        encoding = dict(scope["headers"]).get(b"content-encoding", b"").decode()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.envelopes.append(body.decode("utf-8", "replace"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


class BrokenClock:
    def __init__(self, email: str) -> None:
        self.email = email

    def now(self) -> datetime:
        raise RuntimeError(f"clock broke for {self.email} password={SECRETS['password']}")


@pytest.fixture
def ingest() -> Iterator[tuple[SentryIngest, str]]:
    receiver = SentryIngest()
    with serving(receiver) as url:
        dsn = url.replace("http://", "http://public0key@") + "/42"
        assert init_error_reports(dsn, environment="test")
        yield receiver, dsn
    sentry_sdk.init()  # no DSN: reporting off again for the rest of the suite


def wait_for(receiver: SentryIngest, count: int) -> None:
    sentry_sdk.flush(timeout=5)
    deadline = time.monotonic() + 5
    while len(receiver.envelopes) < count and time.monotonic() < deadline:
        time.sleep(0.05)


async def test_a_crash_reaches_sentry_without_personal_data(
    container: Container, ingest: tuple[SentryIngest, str]
) -> None:
    receiver, _ = ingest
    async with browsers_of(create_asgi(container)) as browser:
        ada = await browser()
        email = f"{unique('ada')}@example.org"
        await ada.post(
            "/api/v1/auth/signup",
            json={"email": email, "name": "Ada", "password": SECRETS["password"]},
        )
        forum = await open_forum(ada)
        missing = await ada.get("/api/v1/ideas/no-such-idea")
        cookie = ada.cookies["cc_session"]
        with container.clock.override(providers.Object(BrokenClock(email))):
            crashed = await ada.post(
                f"/api/v1/forums/{forum['id']}/ideas?token={SECRETS['token']}",
                json={"summary": "Crash me", "description": SECRETS["description"]},
                headers={"Authorization": f"Bearer {SECRETS['bearer']}"},
            )
    wait_for(receiver, 1)

    assert missing.status_code == 404 and crashed.status_code == 500
    errors = [e for e in receiver.envelopes if '"type":"event"' in e]
    assert len(errors) == 1
    report = "".join(receiver.envelopes)
    assert "RuntimeError" in report and "clock broke for" in report
    assert "no-such-idea" not in report
    for secret in [email, cookie, *SECRETS.values(), "private.person"]:
        assert secret not in report
    assert PASSWORD not in report
