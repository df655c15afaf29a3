"""Helpers for the mail tests: run the outbox dry, read what the emulator got, read the rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.domain.ports import Clock
from customercase.services.dispatch import DispatchReport, dispatch_due


async def drain(container: Container, clock: Clock | None = None) -> DispatchReport:
    """Dispatch until nothing is due (a fan-out takes two rounds); the rounds' sums."""
    total = DispatchReport()
    for _ in range(200):
        report = await dispatch_due(
            uow=container.uow(),
            handlers=container.handlers(),
            clock=clock or container.clock(),
            policy=container.retry_policy(),
        )
        if report.claimed == 0:
            return total
        for name in ("claimed", "sent", "retried", "failed", "skipped", "fanned_out"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    raise AssertionError("the outbox never ran dry")


async def outbox_rows(container: Container, idea_id: str | None = None) -> list[Any]:
    async with container.engine().connect() as conn:
        stmt = t.outbox.select().order_by(t.outbox.c.created_at, t.outbox.c.id)
        if idea_id:
            stmt = stmt.where(t.outbox.c.idea_id == idea_id)
        return list((await conn.execute(stmt)).all())


async def push_due(container: Container, to: datetime) -> None:
    """Make every pending row due at `to` (as if its retry time had come)."""
    async with container.engine().begin() as conn:
        await conn.execute(t.outbox.update().where(t.outbox.c.state == "pending").values(due_at=to))


def headers_of(message: dict[str, Any]) -> dict[str, str]:
    return {h["Name"]: h["Value"] for h in message.get("Headers", [])}


VERIFICATION_SUBJECT = "Confirm your email address"


def mail_to(messages: list[dict[str, Any]], address: str) -> list[dict[str, Any]]:
    """The mail about ideas sent to the address; the sign-up verification mail every new
    account gets is left out (tests/integration/test_identity.py covers that one)."""
    return [m for m in messages if m["To"] == address and m["Subject"] != VERIFICATION_SUBJECT]


async def sql(container: Container, statement: str) -> list[Any]:
    async with container.engine().connect() as conn:
        return list((await conn.execute(sa.text(statement))).all())
