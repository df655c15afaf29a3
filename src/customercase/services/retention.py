"""Deleting a vendor, undoing that, and the worker's housekeeping: purging deleted vendors once
their retention period is over and sweeping rows that have served their time.

A deleted vendor is hidden in the same transaction that deletes it: its forums, ideas and pages
answer 404 to everyone, inbound mail to its forums is refused, no notification about it goes
out and the Jira sync skips it. Its rows stay for the retention period (so a mistaken delete
can be undone), then the worker deletes them in batches, committing after each, so a big
vendor never holds many locks for long.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from customercase.domain.errors import NotAllowed, NotSignedIn, VendorNotFound
from customercase.domain.ids import UserId, VendorId
from customercase.domain.ports import Clock, ListCache, UnitOfWork
from customercase.domain.users import SessionPolicy
from customercase.domain.vendors import Role
from customercase.services.access import require_staff, viewer_of
from customercase.services.identity import Swept, sweep_expired

BATCH = 1000  # rows deleted per transaction by a purge or a sweep


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long what is kept is kept (the `*_retention_*` settings)."""

    vendor_days: float = 60.0
    outbox_days: float = 30.0
    # Longer than any redelivery can come: Postmark retries inbound mail for ~10.5 hours, Jira
    # its webhooks for ~30 minutes; a repeat after this is taken for a new message.
    message_id_days: float = 30.0


@dataclass(frozen=True, slots=True)
class Deletion:
    vendor_id: VendorId
    deleted_at: datetime
    purge_after: datetime


async def delete_vendor(
    vendor_id: VendorId,
    actor_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: RetentionPolicy,
    cache: ListCache,
) -> Deletion:
    """Delete the vendor (its admins only): hidden now, purged after the retention period.
    This process's kept pages go at once (all of them: the vendor's forums are not at hand)."""
    if actor_id is None:
        raise NotSignedIn()
    now = clock.now()
    async with uow:
        if await uow.vendors.get(vendor_id) is None:
            raise VendorNotFound()
        viewer = await viewer_of(uow, vendor_id, None, actor_id)
        if require_staff(viewer) is not Role.ADMIN:
            raise NotAllowed("Only the vendor's admins can delete it.")
        if not await uow.retention.hide_vendor(vendor_id, now):
            raise VendorNotFound()
        await uow.commit()
    cache.invalidate()
    return Deletion(vendor_id, now, now + timedelta(days=policy.vendor_days))


async def restore_vendor(
    vendor_id: VendorId,
    actor_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: RetentionPolicy,
) -> None:
    """Undo a deletion within the retention period (its admins only; to others it is absent)."""
    if actor_id is None:
        raise NotSignedIn()
    since = clock.now() - timedelta(days=policy.vendor_days)
    async with uow:
        # A deleted vendor is hidden, so an admin is known by the staff row alone.
        if await uow.vendors.role_of(vendor_id, actor_id) is not Role.ADMIN:
            raise VendorNotFound()
        if not await uow.retention.restore_vendor(vendor_id, since):
            raise VendorNotFound()
        await uow.commit()


async def purge_deleted_vendors(*, uow: UnitOfWork, clock: Clock, policy: RetentionPolicy) -> int:
    """Delete every row of each vendor whose retention period is over, a batch per transaction.

    Safe from several workers at once: each batch first claims the vendor's row, and a worker
    that finds it claimed moves on. Returns how many rows went.
    """
    before = clock.now() - timedelta(days=policy.vendor_days)
    async with uow:
        due = await uow.retention.deleted_before(before, BATCH)
    purged = 0
    for vendor_id in due:
        while True:
            async with uow:
                done = await uow.retention.purge_vendor(vendor_id, before, BATCH)
                await uow.commit()
            purged += done
            if done < BATCH:  # the vendor's last batch, or another worker has it
                break
    return purged


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """What one round of housekeeping deleted."""

    vendor_rows: int
    outbox_rows: int
    message_ids: int
    identity: Swept


async def _in_batches(uow: UnitOfWork, sweep: Callable[[], Awaitable[int]]) -> int:
    """Run a sweep batch by batch, a transaction each, until a batch comes back short."""
    total = 0
    while True:
        async with uow:
            done = await sweep()
            await uow.commit()
        total += done
        if done < BATCH:
            return total


async def housekeep(
    *, uow: UnitOfWork, clock: Clock, policy: RetentionPolicy, sessions: SessionPolicy
) -> Housekeeping:
    """One round of the worker's housekeeping: purge, then every sweep, each in batches."""
    now = clock.now()
    vendor_rows = await purge_deleted_vendors(uow=uow, clock=clock, policy=policy)
    outbox_before = now - timedelta(days=policy.outbox_days)
    ids_before = now - timedelta(days=policy.message_id_days)
    outbox_rows = await _in_batches(uow, lambda: uow.retention.sweep_outbox(outbox_before, BATCH))
    message_ids = await _in_batches(uow, lambda: uow.retention.sweep_message_ids(ids_before, BATCH))
    identity = await sweep_expired(uow=uow, clock=clock, policy=sessions)
    return Housekeeping(vendor_rows, outbox_rows, message_ids, identity)
