"""Bring a database to the newest schema (or back down), from code rather than alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply every migration up to `revision`."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    """Undo migrations down to `revision`."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))


def head_revision() -> str:
    """The newest revision this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations directory has no revisions"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def is_current(engine: AsyncEngine) -> bool:
    """Whether the database is at the newest revision."""
    return await current_revision(engine) == head_revision()


class AlembicSchema:
    """The Schema port: alembic's `current` and `heads`, read without alembic.ini."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def revisions(self) -> tuple[str | None, str]:
        return await current_revision(self._engine), head_revision()
