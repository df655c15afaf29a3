"""/metrics as an operator scrapes it: off by default, token-only, by route, with the backlog."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from customercase.bootstrap import Container, build_container
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.vendors import Forum, JiraBinding, Vendor, Visibility
from customercase.entrypoints.http.app import create_asgi
from tests.integration.conftest import Browser

TOKEN = "scrape-token-for-tests"


@pytest.fixture
async def scraped(container: Container) -> AsyncIterator[Container]:
    """The suite's container with metrics switched on, on the same database."""
    settings = msgspec.structs.replace(container.settings(), metrics=True, metrics_token=TOKEN)
    on = build_container(settings)
    yield on
    await on.engine().dispose()


async def _client(container: Container) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_asgi(container))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in _samples(text).items() if n == name and wanted <= set(ls))


async def _scrape(client: httpx.AsyncClient) -> str:
    answer = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_are_not_served_unless_switched_on(browser: Browser) -> None:
    client = await browser()

    answer = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 404


async def test_metrics_need_the_bearer_token(scraped: Container) -> None:
    async with await _client(scraped) as client:
        bare = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})

    assert bare.status_code == 401 and wrong.status_code == 401
    assert "customercase_" not in bare.text + wrong.text


async def test_requests_are_counted_by_route_template_not_raw_path(scraped: Container) -> None:
    async with await _client(scraped) as client:
        before = await _scrape(client)
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
        someone = uuid.uuid4().hex
        await client.get(f"/avatars/{someone}?size=64")
        after = await _scrape(client)

    counted = "customercase_requests_total"
    healthz = _value(after, counted, path="/healthz", method="GET", status_code="200")
    assert healthz - _value(before, counted, path="/healthz") == 3
    assert _value(after, "customercase_request_duration_seconds_count", path="/healthz") >= 3
    avatar_paths = {
        dict(labels)["path"]
        for (name, labels) in _samples(after)
        if name == counted and dict(labels)["path"].startswith("/avatars")
    }
    assert avatar_paths == {"/avatars/{user_id}"}
    assert someone not in after
    assert _value(after, "customercase_db_pool_size") >= 1


async def test_the_outbox_backlog_shows_how_many_are_due_and_for_how_long(
    scraped: Container,
) -> None:
    async with await _client(scraped) as client:
        before = await _scrape(client)
        now = datetime.now(UTC)
        async with scraped.uow() as uow:
            for hours in (2, 1):
                await uow.outbox.add(
                    Notification(
                        uuid.uuid4().hex,
                        NotificationKind.ACCOUNT_RECOVERY,
                        now - timedelta(hours=hours),
                        payload={"to": "x@example.org"},
                    )
                )
            await uow.commit()
        after = await _scrape(client)

    assert _value(after, "customercase_outbox_due") - _value(before, "customercase_outbox_due") == 2
    assert (
        _value(after, "customercase_outbox_rows", state="pending")
        - _value(before, "customercase_outbox_rows", state="pending")
        == 2
    )
    assert _value(after, "customercase_outbox_oldest_due_age_seconds") >= 2 * 3600
    # The recipient address never reaches the metrics.
    assert "example.org" not in after


async def test_sync_lag_per_bound_forum_is_infinite_until_a_sync_completes(
    scraped: Container,
) -> None:
    now = datetime.now(UTC)
    vendor = Vendor(VendorId(uuid.uuid4().hex), "V", uuid.uuid4().hex[:20], now)
    forum = Forum(
        ForumId(uuid.uuid4().hex),
        vendor.id,
        "F",
        "f",
        Visibility.PUBLIC,
        uuid.uuid4().hex[:16],
        now,
    )
    forum = replace(forum, jira=JiraBinding(project_key="OPS"))
    async with scraped.uow() as uow:
        await uow.vendors.add(vendor)
        await uow.forums.add(forum)
        await uow.commit()
    async with await _client(scraped) as client:
        never = await _scrape(client)
        async with scraped.uow() as uow:
            await uow.tracker.mark_synced(forum.id, now - timedelta(minutes=10))
            await uow.commit()
        synced = await _scrape(client)

    lag = "customercase_sync_lag_seconds"
    assert math.isinf(_value(never, lag, forum=forum.id))
    assert 600 <= _value(synced, lag, forum=forum.id) < 700


def test_the_token_is_required_when_metrics_are_on(container: Container) -> None:
    settings = msgspec.structs.replace(container.settings(), metrics=True, metrics_token="")

    with pytest.raises(SystemExit, match="METRICS_TOKEN"):
        create_asgi(build_container(settings))
