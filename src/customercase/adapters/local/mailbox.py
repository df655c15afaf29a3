"""The dev mailbox `make run` uses instead of Postmark: mail is kept in the database and read
in the browser at /dev/mailbox, so a local run shows every email without sending one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql import tables as t
from customercase.domain.checks import Reach, Verification
from customercase.domain.mail import DeliveryResult, OutgoingEmail, StoredEmail


def _stored(row: sa.Row[Any]) -> StoredEmail:
    fields = dict(row.message)
    fields["references"] = tuple(fields.get("references") or ())
    return StoredEmail(row.id, OutgoingEmail(**fields), row.sent_at.isoformat())


class LocalMailbox:
    """Satisfies Mailer (keeps every message) and DevMailbox (shows them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def send_batch(self, emails: Sequence[OutgoingEmail]) -> list[DeliveryResult]:
        now = datetime.now(UTC)
        rows = [
            {"id": uuid.uuid4().hex, "message": msgspec.to_builtins(email), "sent_at": now}
            for email in emails
        ]
        if rows:
            async with self._engine.begin() as conn:
                await conn.execute(t.dev_mailbox.insert(), rows)
        return [DeliveryResult.sent(row["id"]) for row in rows]

    async def verify(self, probe: OutgoingEmail | None) -> Verification:
        """Nothing to ask: mail kept here never reaches anyone's inbox."""
        return Verification(Reach.OFF, "mail is kept in the local dev mailbox and never leaves")

    async def recent(self, limit: int) -> list[StoredEmail]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                t.dev_mailbox.select()
                .order_by(t.dev_mailbox.c.sent_at.desc(), t.dev_mailbox.c.id)
                .limit(limit)
            )
            return [_stored(r) for r in rows]

    async def get(self, email_id: str) -> StoredEmail | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(t.dev_mailbox.select().where(t.dev_mailbox.c.id == email_id))
            ).first()
        return _stored(row) if row else None
