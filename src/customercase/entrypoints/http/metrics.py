"""Prometheus metrics at /metrics: off unless enabled, and then only for the bearer token.

Request counts and latency come from Litestar's Prometheus middleware, labelled by route
template (never the raw path, which would carry ids and explode the series). The outbox, sync
and pool gauges are read when scraped: the outbox and sync from the database (shared by every
process), the pool from the process that answers.
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from customercase.domain.ports import Clock, UnitOfWork
from customercase.services.operations import Backlog, backlog

PATH = "/metrics"


def metrics_config() -> PrometheusConfig:
    """Requests by method, route template and status; /metrics itself is not counted."""
    return PrometheusConfig(
        app_name="customercase",
        prefix="customercase",
        group_path=True,
        exclude=[f"^{PATH}$"],
    )


def metrics_handler(
    token: str, engine: AsyncEngine, uow: Callable[[], UnitOfWork], clock: Clock
) -> HTTPRouteHandler:
    """The /metrics route, answering only a request that carries `Bearer <token>`."""
    if not token:
        raise SystemExit("CUSTOMERCASE_METRICS is on but CUSTOMERCASE_METRICS_TOKEN is empty.")
    expected = f"Bearer {token}".encode()

    @get(PATH, include_in_schema=False, cache=False)
    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise NotAuthorizedException("The metrics need the bearer token.")
        scraped = _requests_registry()
        text = generate_latest(scraped) + generate_latest(
            _gauges(await backlog(uow=uow(), clock=clock), engine)
        )
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    return metrics


def _requests_registry() -> CollectorRegistry:
    """This process's counters, or every worker's when `serve --workers N` shares a directory."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _gauges(found: Backlog, engine: AsyncEngine) -> CollectorRegistry:
    """A fresh registry per scrape: these values are read now, not kept between scrapes."""
    registry = CollectorRegistry()
    rows = Gauge(
        "customercase_outbox_rows",
        "Outbox rows by delivery outcome (pending, sent, failed, skipped)",
        ["state"],
        registry=registry,
    )
    for state, count in found.outbox.by_state.items():
        rows.labels(state).set(count)
    Gauge("customercase_outbox_due", "Pending outbox rows already due", registry=registry).set(
        found.outbox.due
    )
    Gauge(
        "customercase_outbox_oldest_due_age_seconds",
        "How long the oldest due outbox row has waited (0: none due)",
        registry=registry,
    ).set(found.oldest_due_age)
    lag = Gauge(
        "customercase_sync_lag_seconds",
        "Time since the forum's last complete Jira sync (+Inf: never)",
        ["forum"],
        registry=registry,
    )
    for forum_id, seconds in found.sync_lag.items():
        lag.labels(forum_id).set(math.inf if seconds is None else seconds)
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        Gauge("customercase_db_pool_size", "Connections the pool keeps", registry=registry).set(
            pool.size()
        )
        Gauge(
            "customercase_db_pool_checked_out",
            "Pooled connections in use by this process",
            registry=registry,
        ).set(pool.checkedout())
    return registry
