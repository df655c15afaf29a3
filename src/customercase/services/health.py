"""Whether this process can serve: the database answers."""

from __future__ import annotations

from customercase.domain.ports import UnitOfWork


async def check_ready(*, uow: UnitOfWork) -> None:
    """Raise when the database cannot be reached."""
    async with uow:
        await uow.ping()
