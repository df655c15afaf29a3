"""Engines for PostgreSQL (asyncpg) and the embedded SQLite default (aiosqlite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine tuned for the database at `url`."""
    if url.startswith("sqlite"):
        # One connection: SQLite has a single writer, and queueing in the pool is kinder than
        # 'database is locked'. WAL lets the CLI read while the server writes.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        # A server that accepts but does not answer would hold a request for asyncpg's default
        # 60 s; fail it fast instead (a 503), and do not queue for the pool longer than that.
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        echo=echo,
    )


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
