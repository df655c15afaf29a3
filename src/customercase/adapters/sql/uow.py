"""The unit of work over one SQLAlchemy connection and transaction."""

from __future__ import annotations

import asyncio
import functools
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from customercase.adapters.sql.engine import SQLITE_IMMEDIATE, writer_lock
from customercase.adapters.sql.moderation import SqlModerationRepository
from customercase.adapters.sql.repositories import (
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
        self._writer: asyncio.Lock | None = None  # SQLite: held by the open write block

    def read_only(self) -> Self:
        """The next block reads only. On PostgreSQL it runs in autocommit, without the BEGIN
        and ROLLBACK round trips (each statement is consistent on its own under READ
        COMMITTED, as it was inside the transaction). On SQLite it is a deferred transaction
        (one snapshot) on a connection of its own, beside the writer: it does not queue."""
        self._read_only = True
        return self

    async def __aenter__(self) -> Self:
        read_only, self._read_only = self._read_only, False
        sqlite = self._engine.dialect.name == "sqlite"
        if sqlite and not read_only:
            self._writer = writer_lock(self._engine)
            await self._writer.acquire()
        try:
            conn = await _engine_for(self._engine, read_only).connect()
            try:
                if sqlite or not read_only:
                    await conn.begin()
            except BaseException:
                await conn.close()
                raise
        except BaseException:
            self._release_writer()
            raise
        self._conn = conn
        self._reading = read_only
        self.users = SqlUserRepository(conn)
        self.sessions = SqlSessionRepository(conn)
        self.vendors = SqlVendorRepository(conn)
        self.forums = SqlForumRepository(conn)
        self.ideas = SqlIdeaRepository(conn)
        self.votes = SqlVoteRepository(conn, self._half_life)
        self.watches = SqlWatchRepository(conn)
        self.comments = SqlCommentRepository(conn, self._half_life)
        self.participants = SqlParticipantRepository(conn)
        self.inbound = SqlInboundLog(conn)
        self.merges = SqlMergeRepository(conn, self._half_life)
        self.outbox = SqlOutbox(conn)
        self.rate_limits = SqlRateLimitRepository(conn)
        self.tokens = SqlTokenRepository(conn)
        self.tracker = SqlTrackerRepository(conn)
        self.sign_in_flows = SqlSignInFlowRepository(conn)
        self.moderation = SqlModerationRepository(conn)
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
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            try:
                await conn.close()
            finally:
                self._release_writer()

    def _release_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    async def ping(self) -> None:
        assert self._conn is not None, "ping() outside 'async with uow'"
        await self._conn.execute(sa.text("SELECT 1"))

    async def commit(self) -> None:
        assert self._conn is not None, "commit() outside 'async with uow'"
        assert not self._reading, "commit() in a read_only() block"
        await self._conn.commit()


def _engine_for(engine: AsyncEngine, read_only: bool) -> AsyncEngine:
    if engine.dialect.name == "sqlite":
        return engine if read_only else _immediate(engine)
    return _autocommit(engine) if read_only else engine


@functools.lru_cache(maxsize=16)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine's autocommit view, sharing its pool; made once per engine, not per request."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@functools.lru_cache(maxsize=16)
def _immediate(engine: AsyncEngine) -> AsyncEngine:
    """The SQLite engine's view whose transactions begin IMMEDIATE (engine.py), for writers."""
    return engine.execution_options(**{SQLITE_IMMEDIATE: True})
