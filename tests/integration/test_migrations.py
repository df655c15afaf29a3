import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql.migrate import downgrade, is_current, upgrade
from customercase.adapters.sql.search import SEARCH_TABLES
from customercase.adapters.sql.tables import metadata


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    # The search tables of one engine (SQLite FTS5, PostgreSQL lexemes) are not in tables.py.
    return {n for n in names if n != "alembic_version" and not n.startswith(SEARCH_TABLES)}


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
async def test_an_empty_database_migrates_up_to_head_and_back_down(
    empty_database: AsyncEngine,
) -> None:
    await upgrade(empty_database)
    after_upgrade = await _tables(empty_database)
    current = await is_current(empty_database)
    await downgrade(empty_database)
    after_downgrade = await _tables(empty_database)

    assert after_upgrade == set(metadata.tables)
    assert current
    assert after_downgrade == set()


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
async def test_migrating_twice_changes_nothing(empty_database: AsyncEngine) -> None:
    await upgrade(empty_database)
    await upgrade(empty_database)

    assert await is_current(empty_database)
