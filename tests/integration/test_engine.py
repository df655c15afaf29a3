"""The PostgreSQL engine survives connections the server dropped while they sat in the pool."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql.engine import make_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
    return int(pid)


async def _terminate(postgres_url: str, pid: int) -> None:
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url, pool_size=1, idle_ping_seconds=0)
    dropped = await _backend_pid(engine)
    await _terminate(postgres_url, dropped)

    try:
        replacement = await _backend_pid(engine)
    finally:
        await engine.dispose()

    assert replacement != dropped


async def test_a_connection_dropped_between_busy_requests_fails_one_request_only(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url, pool_size=1, idle_ping_seconds=3600)
    dropped = await _backend_pid(engine)
    await _terminate(postgres_url, dropped)

    try:
        with pytest.raises(sa.exc.DBAPIError):
            await _backend_pid(engine)
        replacement = await _backend_pid(engine)
    finally:
        await engine.dispose()

    assert replacement != dropped
