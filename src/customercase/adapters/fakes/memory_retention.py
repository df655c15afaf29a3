"""Deleted vendors and sweeps in memory: the twin of adapters/sql/retention.py.

A purge deletes the vendor's rows in the SQL adapter's order and batch sizes; there is no lock
to take, as a fake unit of work's commit replays the deletions on whatever another committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from customercase.adapters.fakes.tables import Tables, Transaction, utc
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.mail import DeliveryState


def vendor_is_live(db: Tables, vendor_id: VendorId) -> bool:
    return vendor_id not in db.deleted_vendors


def forum_is_live(db: Tables, forum_id: ForumId) -> bool:
    forum = db.forums.get(forum_id)
    return forum is None or vendor_is_live(db, forum.vendor_id)


def _delete_from(table: dict[Any, Any], which: Callable[[Any, Any], bool], limit: int) -> int:
    doomed = [key for key, row in table.items() if which(key, row)][:limit]
    for key in doomed:
        del table[key]
    return len(doomed)


def _purge_steps(db: Tables, vendor_id: VendorId) -> list[Callable[[int], int]]:
    """The SQL adapter's steps, in its order: each deletes up to n rows and says how many."""
    forums = {f.id for f in db.forums.values() if f.vendor_id == vendor_id}
    ideas = {i.id for i in db.ideas.values() if i.forum_id in forums}

    def outbox(which: Callable[[Any, Any], bool]) -> Callable[[int], int]:
        def step(n: int) -> int:
            doomed = [key for key, row in db.outbox.items() if which(key, row)][:n]
            for key in doomed:
                del db.outbox[key]
                db.deliveries.pop(key, None)
            return len(doomed)

        return step

    def ideas_step(n: int) -> int:
        doomed = [key for key, idea in db.ideas.items() if idea.forum_id in forums][:n]
        for key in doomed:
            del db.ideas[key]
            db.heat.pop(key, None)
        return len(doomed)

    def moves_step(n: int) -> int:
        doomed = [m.seq for m in db.idea_moves if m.forum_id in forums][:n]
        gone = set(doomed)
        db.idea_moves = [m for m in db.idea_moves if m.seq not in gone]
        return len(doomed)

    def invitations_step(n: int) -> int:
        doomed = [key for key in db.invitations if key[0] in forums][:n]
        db.invitations.difference_update(doomed)
        return len(doomed)

    def on(table: dict[Any, Any], which: Callable[[Any, Any], bool]) -> Callable[[int], int]:
        return lambda n: _delete_from(table, which, n)

    return [
        on(db.merge_moves, lambda key, _: key[0] in ideas),
        on(db.merges, lambda key, row: key in ideas or row.into_id in ideas),
        on(db.votes, lambda key, _: key[0] in ideas),
        on(db.watches, lambda key, _: key[0] in ideas),
        on(db.participants, lambda key, _: key[0] in ideas),
        on(db.comments, lambda _, row: row.idea_id in ideas),
        on(db.moderation_cases, lambda _, row: row.forum_id in forums),
        outbox(lambda _, row: row.idea_id in ideas),
        outbox(lambda _, row: row.idea_id is None and row.payload.get("forum_id") in forums),
        moves_step,
        ideas_step,
        invitations_step,
        on(db.tracker_sync, lambda key, _: key in forums),
        on(db.forums, lambda key, _: key in forums),
        on(db.staff, lambda key, _: key[0] == vendor_id),
        on(db.standings, lambda key, _: key[0] == vendor_id),
        on(db.jira_connections, lambda key, _: key == vendor_id),
    ]


_DONE = {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED}


class InMemoryRetentionRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def hide_vendor(self, vendor_id: VendorId, at: datetime) -> bool:
        def hide(db: Tables) -> bool:
            if vendor_id not in db.vendors or vendor_id in db.deleted_vendors:
                return False
            db.deleted_vendors[vendor_id] = utc(at)
            return True

        return self._tx.write(hide, atomic=True)

    async def restore_vendor(self, vendor_id: VendorId, deleted_since: datetime) -> bool:
        def restore(db: Tables) -> bool:
            deleted_at = db.deleted_vendors.get(vendor_id)
            if deleted_at is None or deleted_at < deleted_since:
                return False
            del db.deleted_vendors[vendor_id]
            return True

        return self._tx.write(restore, atomic=True)

    async def deleted_before(self, before: datetime, limit: int) -> list[VendorId]:
        deleted = self._tx.read().deleted_vendors
        due = sorted((at, v) for v, at in deleted.items() if at < before)
        return [v for _, v in due[:limit]]

    async def purge_vendor(self, vendor_id: VendorId, deleted_before: datetime, limit: int) -> int:
        def purge(db: Tables) -> int:
            deleted_at = db.deleted_vendors.get(vendor_id)
            if deleted_at is None or deleted_at >= deleted_before:
                return 0
            left = limit
            for step in _purge_steps(db, vendor_id):
                left -= step(left)
                if left == 0:
                    return limit
            del db.vendors[vendor_id]
            del db.deleted_vendors[vendor_id]
            return limit - left + 1

        return self._tx.write(purge)

    async def sweep_outbox(self, done_before: datetime, limit: int) -> int:
        def sweep(db: Tables) -> int:
            doomed = [
                key
                for key, d in db.deliveries.items()
                if d.state in _DONE and d.done_at is not None and d.done_at < done_before
            ][:limit]
            for key in doomed:
                del db.deliveries[key]
                del db.outbox[key]
            return len(doomed)

        return self._tx.write(sweep)

    async def sweep_message_ids(self, before: datetime, limit: int) -> int:
        def sweep(db: Tables) -> int:
            swept = _delete_from(db.inbound_messages, lambda _, at: at < before, limit)
            return swept + _delete_from(
                db.webhook_deliveries, lambda _, at: at < before, limit - swept
            )

        return self._tx.write(sweep)
