"""Engines for PostgreSQL (asyncpg) and the embedded SQLite default (aiosqlite)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# A pooled connection used this recently is taken as alive; one idle for longer is pinged
# before use. See _ping_when_idle: this is SQLAlchemy's pre-ping, minus the round trip on a
# busy server.
IDLE_PING_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> AsyncEngine:
    """An engine tuned for the database at `url`."""
    if url.startswith("sqlite"):
        # One connection: SQLite has a single writer, and queueing in the pool is kinder than
        # 'database is locked'. WAL lets the CLI read while the server writes.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # A server that accepts but does not answer would hold a request for asyncpg's default
        # 60 s; fail it fast instead (a 503), and do not queue for the pool longer than that.
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        echo=echo,
    )
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_when_idle(idle_ping_seconds))
    return engine


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_when_idle(idle_seconds: float) -> Any:
    """Ping a connection that sat in the pool longer than `idle_seconds` before handing it out.

    pool_pre_ping pings on every checkout: one more round trip on every unit of work, about a
    tenth of the CPU of a forum page (docs/performance.md). Connections die while idle (a
    server restart, a firewall's idle timeout), so those are the ones checked; a dead one is
    replaced by the pool, which retries the checkout (SQLAlchemy's "pessimistic disconnect
    handling" recipe). A connection that breaks between two busy requests fails its request, and
    SQLAlchemy then invalidates the whole pool, as it would with pre-ping.
    """

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in_at", 0.0) < idle_seconds:
            return
        try:
            dbapi_conn.ping()
        except Exception as error:
            raise exc.DisconnectionError() from error

    return checkout


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take transactions out of the driver's hands (it would not BEGIN before a SELECT) and
    # begin them ourselves below: SQLAlchemy's documented recipe for pysqlite and aiosqlite.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in (
        "foreign_keys=ON",
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")
