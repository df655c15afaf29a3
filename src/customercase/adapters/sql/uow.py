"""The unit of work over one SQLAlchemy connection and transaction."""

from __future__ import annotations

import asyncio
import functools
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from customercase.adapters.sql import prebuilt
from customercase.adapters.sql.engine import SQLITE_AUTOCOMMIT, sqlite_slots
from customercase.adapters.sql.moderation import SqlModerationRepository
from customercase.adapters.sql.repositories import (
    Seen,
    SqlCommentRepository,
    SqlForumRepository,
    SqlIdeaRepository,
    SqlInboundLog,
    SqlMergeRepository,
    SqlOutbox,
    SqlParticipantRepository,
    SqlRateLimitRepository,
    SqlSessionRepository,
    SqlSignInFlowRepository,
    SqlTokenRepository,
    SqlUserRepository,
    SqlVendorRepository,
    SqlVoteRepository,
    SqlWatchRepository,
    Standings,
)
from customercase.adapters.sql.retention import SqlRetentionRepository
from customercase.adapters.sql.tracker import SqlTrackerRepository
from customercase.domain.ports import (
    CommentRepository,
    ForumRepository,
    IdeaRepository,
    InboundLog,
    MergeRepository,
    ModerationRepository,
    Outbox,
    ParticipantRepository,
    RateLimitRepository,
    RetentionRepository,
    SessionRepository,
    SignInFlowRepository,
    TokenRepository,
    TrackerRepository,
    UserRepository,
    VendorRepository,
    VoteRepository,
    WatchRepository,
)
from customercase.domain.trending import DEFAULT_HALF_LIFE_DAYS


class SqlUnitOfWork:
    """One transaction; leaving the block without commit() rolls it back."""

    users: UserRepository
    sessions: SessionRepository
    vendors: VendorRepository
    forums: ForumRepository
    ideas: IdeaRepository
    votes: VoteRepository
    watches: WatchRepository
    comments: CommentRepository
    participants: ParticipantRepository
    inbound: InboundLog
    merges: MergeRepository
    outbox: Outbox
    rate_limits: RateLimitRepository
    tokens: TokenRepository
    tracker: TrackerRepository
    sign_in_flows: SignInFlowRepository
    moderation: ModerationRepository
    retention: RetentionRepository

    def __init__(self, engine: AsyncEngine, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> None:
        self._engine = engine
        self._half_life = half_life_days
        self._conn: AsyncConnection | None = None
        self._read_only = False  # asked for the next block
        self._reading = False  # the open block is read-only
        # SQLite: the slot (engine.py's sqlite_slots) the open block holds.
        self._slot: asyncio.Lock | asyncio.Semaphore | None = None
        self._inline = False  # SQLite: the open write block's statements run on the loop
        self._deferring = False  # PostgreSQL: the open write block defers writes (prebuilt.defer)

    def read_only(self) -> Self:
        """The next block reads only. On PostgreSQL it runs in autocommit, without the BEGIN
        and ROLLBACK round trips (each statement is consistent on its own under READ
        COMMITTED, as it was inside the transaction). On SQLite it runs on a connection of its
        own, beside the writer (it does not queue), in autocommit too: each statement reads
        one snapshot, as on PostgreSQL."""
        self._read_only = True
        return self

    async def __aenter__(self) -> Self:
        read_only, self._read_only = self._read_only, False
        sqlite = self._engine.dialect.name == "sqlite"
        if sqlite:
            slots = sqlite_slots(self._engine)
            slot = slots.readers if read_only else slots.writer
            await slot.acquire()
            self._slot = slot
        try:
            conn = await _engine_for(self._engine, read_only).connect()
            try:
                if sqlite and not read_only:
                    # On the driver, without the execution layer (~170 µs): see engine.py's
                    # _sqlite_begin for why IMMEDIATE.
                    await prebuilt.sqlite_rows(conn, _BEGIN_IMMEDIATE, {})
                    conn.info[prebuilt.SQLITE_INLINE] = True
                    self._inline = True
                elif not read_only:
                    # PostgreSQL: begun on asyncpg's connection, under SQLAlchemy's in
                    # autocommit (_engine_for), so the prebuilt statements run there too
                    # (prebuilt.rows) and the rest through SQLAlchemy, all in this transaction;
                    # begun lazily, before the first statement that writes or locks
                    # (prebuilt.Pending).
                    conn.info[prebuilt.PENDING] = prebuilt.Pending([])
                    self._deferring = True
            except BaseException:
                await conn.close()
                raise
        except BaseException:
            self._release_slot()
            raise
        self._conn = conn
        self._reading = read_only
        self.users = SqlUserRepository(conn)
        self.sessions = SqlSessionRepository(conn)
        self.vendors = SqlVendorRepository(conn)
        self.forums = SqlForumRepository(conn)
        seen: Seen | None = None if read_only else {}
        standings: Standings = {}
        self.ideas = SqlIdeaRepository(conn, seen, standings)
        self.votes = SqlVoteRepository(conn, self._half_life, seen)
        self.watches = SqlWatchRepository(conn)
        self.comments = SqlCommentRepository(conn, self._half_life, seen)
        self.participants = SqlParticipantRepository(conn)
        self.inbound = SqlInboundLog(conn)
        self.merges = SqlMergeRepository(conn, self._half_life)
        self.outbox = SqlOutbox(conn)
        self.rate_limits = SqlRateLimitRepository(conn)
        self.tokens = SqlTokenRepository(conn)
        self.tracker = SqlTrackerRepository(conn)
        self.sign_in_flows = SqlSignInFlowRepository(conn)
        self.moderation = SqlModerationRepository(conn, standings)
        self.retention = SqlRetentionRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._end_inline(conn)
        self._end_deferring(conn)  # what was not sent by now is dropped with the rollback
        try:
            if conn.in_transaction():
                await conn.rollback()
            if await _driver_in_transaction(conn):
                try:
                    await _end_on_driver(conn, "ROLLBACK")
                except BaseException:
                    # Never back into the pool mid-transaction (the pool resets only what
                    # SQLAlchemy began).
                    if not conn.invalidated:
                        await conn.invalidate()
                    raise
        finally:
            try:
                await conn.close()
            finally:
                self._release_slot()

    def _end_deferring(self, conn: AsyncConnection) -> None:
        if self._deferring:
            self._deferring = False
            if not conn.invalidated:
                conn.info.pop(prebuilt.PENDING, None)

    def _end_inline(self, conn: AsyncConnection) -> None:
        # Only where it was set: reading info of an invalidated connection would reconnect.
        if self._inline:
            self._inline = False
            conn.info.pop(prebuilt.SQLITE_INLINE, None)

    def _release_slot(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    async def ping(self) -> None:
        assert self._conn is not None, "ping() outside 'async with uow'"
        await self._conn.execute(sa.text("SELECT 1"))

    async def commit(self) -> None:
        assert self._conn is not None, "commit() outside 'async with uow'"
        assert not self._reading, "commit() in a read_only() block"
        # COMMIT may checkpoint (disk writes, fsync): on the driver's thread.
        self._end_inline(self._conn)
        # The deferred writes, if any (alone, if the unit began nothing), then COMMIT.
        await prebuilt.flush(self._conn, last=True)
        if self._conn.in_transaction():
            # SQLAlchemy's own (autobegun, in autocommit on PostgreSQL: nothing at the driver).
            await self._conn.commit()
        if await _driver_in_transaction(self._conn):
            # Begun on the driver (__aenter__) and not seen by SQLAlchemy.
            await _end_on_driver(self._conn, "COMMIT")


_BEGIN_IMMEDIATE = sa.text("BEGIN IMMEDIATE")
_SQLITE_END = {"COMMIT": sa.text("COMMIT"), "ROLLBACK": sa.text("ROLLBACK")}


async def _end_on_driver(conn: AsyncConnection, verb: str) -> None:
    if conn.dialect.name == "sqlite":
        await prebuilt.sqlite_rows(conn, _SQLITE_END[verb], {})
    else:
        await prebuilt.command(conn, verb)


async def _driver_in_transaction(conn: AsyncConnection) -> bool:
    """Whether the driver's connection is in a transaction SQLAlchemy did not begin (one an
    invalidated connection had is gone with it)."""
    if conn.invalidated:
        return False
    driver = await prebuilt.driver_of(conn)
    if conn.dialect.name == "sqlite":
        return bool(driver.in_transaction)
    return bool(driver.is_in_transaction())


def _engine_for(engine: AsyncEngine, read_only: bool) -> AsyncEngine:
    if engine.dialect.name == "postgresql":
        return _autocommit(engine)  # a write unit of work begins on the driver
    if not read_only:
        return engine
    return _sqlite_autocommit(engine)


@functools.lru_cache(maxsize=16)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine's autocommit view, sharing its pool; made once per engine, not per request."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@functools.lru_cache(maxsize=16)
def _sqlite_autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The SQLite engine's view that issues no BEGIN (engine.py), for read-only blocks. (The
    AUTOCOMMIT isolation level would reset the driver's own, undoing engine.py's recipe.)"""
    return engine.execution_options(**{SQLITE_AUTOCOMMIT: True})
