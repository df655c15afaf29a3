"""Engines for PostgreSQL (asyncpg) and the embedded SQLite default (aiosqlite)."""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from customercase.adapters.sql import prebuilt

# A pooled connection used this recently is taken as alive; one idle for longer is pinged
# before use. See _ping_when_idle: this is SQLAlchemy's pre-ping, minus the round trip on a
# busy server.
IDLE_PING_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10
# SQLite: read-only units of work at once, each on a connection of its own; the pool holds
# one more, always free for the one write unit of work at a time (sqlite_slots).
SQLITE_READERS = 4
# Execution option of a read-only unit of work on SQLite: no BEGIN, each statement on its own.
SQLITE_AUTOCOMMIT = "customercase_sqlite_autocommit"


def make_engine(
    url: str,
    *,
    pool_size: int = 20,
    echo: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> AsyncEngine:
    """An engine tuned for the database at `url`."""
    if url.startswith("sqlite"):
        # SQLite has a single writer. Write units of work queue in-process for the engine's
        # writer slot (FIFO), not on the file lock, whose busy handler sleeps and retries; reads
        # run beside the writer on the other connections, which WAL allows.
        engine = create_async_engine(
            url,
            pool_size=SQLITE_READERS + 1,
            max_overflow=0,
            pool_timeout=60,
            # No ROLLBACK on every return to the pool (a hand-off to the driver's thread): a
            # transaction SQLAlchemy began is rolled back when its connection closes, and one
            # a unit of work began on the driver is ended by the unit of work (uow.py).
            pool_reset_on_return=None,
            # The writer's statements may run on the event loop's thread (prebuilt.sqlite_rows),
            # one at a time, while the driver's own thread is idle.
            connect_args={"check_same_thread": False},
            echo=echo,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        # Every connection the pool opens it keeps: overflow connections, opened and closed
        # again whenever more requests are in flight than the pool holds, cost ~6 % of a web
        # process's CPU at 16 concurrent requests (docs/performance.md).
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        # A server that accepts but does not answer would hold a request for asyncpg's default
        # 60 s; fail it fast instead (a 503), and do not queue for the pool longer than that.
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        echo=echo,
    )
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "before_cursor_execute", prebuilt.flush_before_execute)
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


@dataclass(frozen=True, slots=True)
class SqliteSlots:
    """Who may hold one of a SQLite engine's connections: one writer, and SQLITE_READERS
    readers, so the writer never waits in the pool behind readers (the pool's queue lets a
    newcomer take a connection before a waiter that was woken for it)."""

    loop: asyncio.AbstractEventLoop
    writer: asyncio.Lock
    readers: asyncio.Semaphore


_slots: weakref.WeakKeyDictionary[Any, SqliteSlots] = weakref.WeakKeyDictionary()


def sqlite_slots(engine: AsyncEngine) -> SqliteSlots:
    """The slots of this SQLite engine; a write unit of work holds the writer's from BEGIN to
    its end.

    One writer at a time is all SQLite allows; queueing here is first come, first served, while
    waiting on the file lock is polling with growing sleeps (busy_timeout), which is what made
    vote latency's tail hundreds of milliseconds at 50 connections. Other processes (the CLI,
    the worker) still meet the file lock, and busy_timeout handles them. One set per engine and
    event loop (asyncio's locks belong to the loop they first wait in).
    """
    loop = asyncio.get_running_loop()
    slots = _slots.get(engine.sync_engine)
    if slots is None or slots.loop is not loop:
        slots = SqliteSlots(loop, asyncio.Lock(), asyncio.Semaphore(SQLITE_READERS))
        _slots[engine.sync_engine] = slots
    return slots


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take transactions out of the driver's hands (it would not BEGIN before a SELECT) and
    # begin them ourselves below: SQLAlchemy's documented recipe for pysqlite and aiosqlite.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # synchronous=NORMAL under WAL: a commit is written to the WAL but not fsynced; the WAL is
    # fsynced at checkpoints. A process crash loses nothing committed (the WAL is in the OS's
    # page cache and is replayed on the next open); an OS crash or power loss can lose the last
    # commits before the most recent checkpoint, never corrupt the file. FULL would fsync every
    # commit (a few ms each on disk, with the writer lock held). Chosen: an accepted write
    # survives a crash of the server; surviving power loss is the PostgreSQL deployment's job.
    for pragma in (
        "foreign_keys=ON",
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A write unit of work begins on the driver itself, IMMEDIATE (uow.py): it takes the write
    # lock at BEGIN, because a transaction that read first and then wrote could meet another
    # process's write and fail with SQLITE_BUSY at once (no waiting helps a deferred
    # transaction whose snapshot is stale); BEGIN IMMEDIATE waits (busy_timeout) before it has
    # read anything. SQLAlchemy then only joins it. A read-only unit runs in autocommit.
    if conn.connection.driver_connection.in_transaction:
        return
    if conn.get_execution_options().get(SQLITE_AUTOCOMMIT, False):
        return
    conn.exec_driver_sql("BEGIN")
