"""Deleted vendors (hidden at once, purged in batches later) and the sweeps of rows that have
served their time. Kept apart from repositories.py: nothing here is on a request's hot path
but the two filters every vendor-scoped read applies (`vendor_is_live`, `forum_is_live`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customercase.adapters.sql import tables as t
from customercase.domain.ids import VendorId
from customercase.domain.mail import DeliveryState

# A deleted vendor is rare, so the ids of the hidden are a short list the reads exclude.


def hidden_vendor_ids() -> sa.Select[Any]:
    return sa.select(t.vendors.c.id).where(t.vendors.c.deleted_at.is_not(None))


def hidden_forum_ids() -> sa.Select[Any]:
    return sa.select(t.forums.c.id).where(t.forums.c.vendor_id.in_(hidden_vendor_ids()))


def vendor_is_live(vendor_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """True for a vendor (id column) that is not deleted."""
    return vendor_id.not_in(hidden_vendor_ids())


def forum_is_live(forum_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """True for a forum (id column) whose vendor is not deleted."""
    return forum_id.not_in(hidden_forum_ids())


_DONE = [DeliveryState.SENT.value, DeliveryState.FAILED.value, DeliveryState.SKIPPED.value]


# One step of a purge: a table, and which of its rows belong to the vendor.
_Step = tuple[sa.Table, sa.ColumnElement[bool]]


def _purge_steps(vendor_id: VendorId) -> list[_Step]:
    """The vendor's rows, table by table, rows others depend on after those depending on them,
    so no step leans on ON DELETE CASCADE (which would delete an unbounded number at once)."""
    forums = sa.select(t.forums.c.id).where(t.forums.c.vendor_id == vendor_id)
    ideas = sa.select(t.ideas.c.id).where(t.ideas.c.forum_id.in_(forums))
    box = t.outbox.c
    # Notifications about a forum rather than an idea (access changed, Jira import, an answer
    # to inbound mail) name the forum in their payload only.
    about_forum = box.idea_id.is_(None) & box.payload["forum_id"].as_string().in_(forums)
    return [
        (t.merge_moves, t.merge_moves.c.idea_id.in_(ideas)),
        (t.merges, t.merges.c.idea_id.in_(ideas) | t.merges.c.into_id.in_(ideas)),
        (t.votes, t.votes.c.idea_id.in_(ideas)),
        (t.watches, t.watches.c.idea_id.in_(ideas)),
        (t.participants, t.participants.c.idea_id.in_(ideas)),
        (t.comments, t.comments.c.idea_id.in_(ideas)),
        (t.moderation_cases, t.moderation_cases.c.forum_id.in_(forums)),
        (t.outbox, box.idea_id.in_(ideas)),
        (t.outbox, about_forum),
        (t.idea_moves, t.idea_moves.c.forum_id.in_(forums)),
        (t.ideas, t.ideas.c.forum_id.in_(forums)),
        (t.invitations, t.invitations.c.forum_id.in_(forums)),
        (t.tracker_sync, t.tracker_sync.c.forum_id.in_(forums)),
        (t.forums, t.forums.c.vendor_id == vendor_id),
        (t.staff, t.staff.c.vendor_id == vendor_id),
        (t.standings, t.standings.c.vendor_id == vendor_id),
        (t.jira_connections, t.jira_connections.c.vendor_id == vendor_id),
    ]


async def _delete_some(
    conn: AsyncConnection, table: sa.Table, which: sa.ColumnElement[bool], limit: int
) -> int:
    """DELETE at most `limit` rows matching `which`, chosen by primary key (LIMIT on a DELETE
    is not portable)."""
    keys = list(table.primary_key.columns)
    chosen = sa.select(*keys).where(which).limit(limit)
    key: Any = keys[0] if len(keys) == 1 else sa.tuple_(*keys)
    result = await conn.execute(table.delete().where(key.in_(chosen)))
    return int(result.rowcount or 0)


class SqlRetentionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def hide_vendor(self, vendor_id: VendorId, at: datetime) -> bool:
        v = t.vendors.c
        result = await self._conn.execute(
            t.vendors.update()
            .where(v.id == vendor_id, v.deleted_at.is_(None))
            .values(deleted_at=at)
        )
        return bool(result.rowcount)

    async def restore_vendor(self, vendor_id: VendorId, deleted_since: datetime) -> bool:
        v = t.vendors.c
        result = await self._conn.execute(
            t.vendors.update()
            .where(v.id == vendor_id, v.deleted_at >= deleted_since)
            .values(deleted_at=None)
        )
        return bool(result.rowcount)

    async def deleted_before(self, before: datetime, limit: int) -> list[VendorId]:
        v = t.vendors.c
        rows = await self._conn.scalars(
            sa.select(v.id).where(v.deleted_at < before).order_by(v.deleted_at, v.id).limit(limit)
        )
        return [VendorId(r) for r in rows]

    async def purge_vendor(self, vendor_id: VendorId, deleted_before: datetime, limit: int) -> int:
        v = t.vendors.c
        # The claim: the vendor's row, locked for this transaction. A second worker skips it
        # (PostgreSQL) or waits its turn (SQLite has one writer), and a restore waits, then
        # finds the deletion too old to undo.
        claimed = await self._conn.scalar(
            sa.select(v.id)
            .where(v.id == vendor_id, v.deleted_at < deleted_before)
            .with_for_update(skip_locked=True)
        )
        if claimed is None:
            return 0
        left = limit
        for table, which in _purge_steps(vendor_id):
            left -= await _delete_some(self._conn, table, which, left)
            if left == 0:
                return limit
        await self._conn.execute(t.vendors.delete().where(v.id == vendor_id))
        return limit - left + 1

    async def sweep_outbox(self, done_before: datetime, limit: int) -> int:
        c = t.outbox.c
        # A done row's due_at is its last lease's end, a few minutes past done_at at most:
        # bounding it too lets ix_outbox_due (state, due_at) serve the sweep.
        old = c.state.in_(_DONE) & (c.due_at < done_before) & (c.done_at < done_before)
        return await _delete_some(self._conn, t.outbox, old, limit)

    async def sweep_message_ids(self, before: datetime, limit: int) -> int:
        inbound, webhooks = t.inbound_messages, t.webhook_deliveries
        swept = await _delete_some(self._conn, inbound, inbound.c.received_at < before, limit)
        if swept < limit:
            swept += await _delete_some(
                self._conn, webhooks, webhooks.c.received_at < before, limit - swept
            )
        return swept
