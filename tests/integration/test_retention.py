"""Retention: a deleted vendor is hidden at once and purged by the worker after the retention
period; the worker's sweeps forget what has served its time. On SQLite and PostgreSQL.

The database is shared with other tests, so what is purged or swept by time happens in a far-off
year of this module's own (each test a later day of it): no other test's rows are that old.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from dependency_injector import providers

from customercase.adapters.fakes.system import FixedClock
from customercase.bootstrap import Container
from customercase.domain.ids import ForumId, UserId, VendorId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.spam import Case, CaseState, Origin, PostKind, Standing, Verdict
from customercase.domain.tracker import TrackerConnection
from customercase.entrypoints.worker import housekeep_once
from customercase.services.retention import purge_deleted_vendors
from tests.integration.conftest import Browser
from tests.integration.walk import open_forum, sign_up, submit

_days = itertools.count(0, 200)


def _ancient() -> FixedClock:
    return FixedClock(datetime(1650, 1, 1, tzinfo=UTC) + timedelta(days=next(_days)))


# Every table that holds a vendor's rows, and how to find them: written out here, apart from
# the purge's own list, so a table the purge forgets shows up as rows left over.
_OF_VENDOR = {
    "vendors": "SELECT count(*) FROM vendors WHERE id = :v",
    "staff": "SELECT count(*) FROM staff WHERE vendor_id = :v",
    "standings": "SELECT count(*) FROM standings WHERE vendor_id = :v",
    "jira_connections": "SELECT count(*) FROM jira_connections WHERE vendor_id = :v",
    "forums": "SELECT count(*) FROM forums WHERE vendor_id = :v",
    "invitations": "SELECT count(*) FROM invitations WHERE forum_id IN ({forums})",
    "tracker_sync": "SELECT count(*) FROM tracker_sync WHERE forum_id IN ({forums})",
    "moderation_cases": "SELECT count(*) FROM moderation_cases WHERE forum_id IN ({forums})",
    "idea_moves": "SELECT count(*) FROM idea_moves WHERE forum_id IN ({forums})",
    "ideas": "SELECT count(*) FROM ideas WHERE forum_id IN ({forums})",
    "votes": "SELECT count(*) FROM votes WHERE idea_id IN ({ideas})",
    "comments": "SELECT count(*) FROM comments WHERE idea_id IN ({ideas})",
    "watches": "SELECT count(*) FROM watches WHERE idea_id IN ({ideas})",
    "participants": "SELECT count(*) FROM participants WHERE idea_id IN ({ideas})",
    "merges": "SELECT count(*) FROM merges WHERE idea_id IN ({ideas})",
    "merge_moves": "SELECT count(*) FROM merge_moves WHERE idea_id IN ({ideas})",
    "outbox": "SELECT count(*) FROM outbox WHERE idea_id IN ({ideas}) OR id IN ({about})",
}
_FORUMS = "SELECT id FROM forums WHERE vendor_id = :v"
_IDEAS = f"SELECT id FROM ideas WHERE forum_id IN ({_FORUMS})"


def _json(value: object) -> dict[str, str]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})  # type: ignore[arg-type]


async def _rows_of(container: Container, vendor_id: str, forum_ids: list[str]) -> dict[str, int]:
    """How many rows of each table belong to the vendor."""
    counts: dict[str, int] = {}
    async with container.engine().connect() as conn:
        about = [
            r.id
            for r in await conn.execute(sa.text("SELECT id, payload FROM outbox"))
            if _json(r.payload).get("forum_id") in forum_ids
        ] or ["-"]
        for table, query in _OF_VENDOR.items():
            sql = query.format(
                forums=_FORUMS, ideas=_IDEAS, about=", ".join(f"'{a}'" for a in about)
            )
            counts[table] = int(await conn.scalar(sa.text(sql), {"v": vendor_id}) or 0)
    return counts


async def _vendor_with_everything(browser: Browser, container: Container) -> tuple[str, str]:
    """A vendor with a row in every table that can hold one of its rows; (vendor, forum)."""
    staff, bob, carol = await browser(), await browser(), await browser()
    await sign_up(staff, "Ada Staff")
    bob_u = await sign_up(bob, "Bob Customer")
    carol_u = await sign_up(carol, "Carol Customer")
    forum = await open_forum(staff, "private", allowed_domains=["example.org"])
    public = await open_forum(staff)  # a second vendor of the same admin: its own forum
    assert public["vendor_id"] != forum["vendor_id"]
    await staff.post(f"/api/v1/forums/{forum['id']}/invitations", json={"emails": ["x@y.com"]})
    # Bob and Carol see the private forum through their verified example.org addresses.
    async with container.uow() as uow:
        for user in (bob_u, carol_u):
            await uow.users.mark_email_verified(UserId(user["id"]))
        await uow.commit()
    one = await submit(bob, forum["id"], "Dark mode for the dashboard")
    two = await submit(carol, forum["id"], "A dark theme for the dashboard")
    assert (await carol.put(f"/api/v1/ideas/{one['id']}/vote")).status_code == 200
    comment = await carol.post(f"/api/v1/ideas/{one['id']}/comments", json={"body": "Yes!"})
    assert comment.status_code == 201, comment.text
    added = await staff.post(
        f"/api/v1/ideas/{one['id']}/participants", json={"email": carol_u["email"]}
    )
    assert added.status_code == 204, added.text
    merged = await staff.post(f"/api/v1/ideas/{two['id']}/merge", json={"into": one["id"]})
    assert merged.status_code == 200, merged.text
    vendor_id = VendorId(forum["vendor_id"])
    async with container.uow() as uow:
        await uow.moderation.set_standing(vendor_id, UserId(bob_u["id"]), Standing.TRUSTED)
        await uow.tracker.save_connection(
            vendor_id, TrackerConnection("https://acme.atlassian.net", "a@acme.test", "t"), _now()
        )
        await uow.tracker.set_cursor(ForumId(forum["id"]), None)
        await uow.moderation.add(
            Case(
                one["id"],
                PostKind.IDEA,
                ForumId(forum["id"]),
                UserId(bob_u["id"]),
                Verdict.HAM,
                Origin(),
                CaseState.CLEARED,
                _now(),
            )
        )
        await uow.outbox.add(
            Notification(
                uuid.uuid4().hex,
                NotificationKind.FORUM_ACCESS_CHANGED,
                _FAR_OFF,  # due then: no other test's worker takes it
                recipient_id=UserId(bob_u["id"]),
                payload={"forum_id": forum["id"], "access": "granted"},
            )
        )
        await uow.commit()
    return vendor_id, forum["id"]


def _now() -> datetime:
    return datetime.now(UTC)


_FAR_OFF = datetime(9000, 1, 1, tzinfo=UTC)


async def test_a_deleted_vendor_is_gone_at_once_for_everyone_and_can_be_restored(
    container: Container, browser: Browser
) -> None:
    staff, agent, bob, outsider = await browser(), await browser(), await browser(), await browser()
    await sign_up(staff, "Ada Staff")
    await sign_up(agent, "Andy Agent")
    await sign_up(bob, "Bob Customer")
    await sign_up(outsider, "Olga Outsider")
    forum = await open_forum(staff)
    vendor = forum["vendor_id"]
    idea = await submit(bob, forum["id"], "Export to CSV")

    assert (await outsider.delete(f"/api/v1/vendors/{vendor}")).status_code == 403
    deleted = await staff.delete(f"/api/v1/vendors/{vendor}")

    assert deleted.status_code == 202, deleted.text
    body = deleted.json()
    purge_after = datetime.fromisoformat(body["purge_after"])
    assert purge_after - datetime.fromisoformat(body["deleted_at"]) == timedelta(days=60)
    for who in (staff, bob, outsider):
        for path in (
            f"/api/v1/vendors/{vendor}",
            f"/api/v1/forums/{forum['id']}",
            f"/api/v1/forums/{forum['id']}/ideas",
            f"/api/v1/ideas/{idea['id']}",
            f"/forums/{forum['id']}",
            f"/ideas/{idea['id']}",
        ):
            assert (await who.get(path)).status_code == 404, path
    refused = await bob.post(f"/api/v1/forums/{forum['id']}/ideas", json={"summary": "More"})
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await staff.delete(f"/api/v1/vendors/{vendor}")).status_code == 404
    assert (await outsider.post(f"/api/v1/vendors/{vendor}/restore")).status_code == 404

    restored = await staff.post(f"/api/v1/vendors/{vendor}/restore")

    assert restored.status_code == 200, restored.text
    assert restored.json()["my_role"] == "admin"
    assert (await bob.get(f"/api/v1/ideas/{idea['id']}")).status_code == 200
    assert (await outsider.get(f"/forums/{forum['id']}")).status_code == 200


async def test_after_the_retention_period_the_worker_purges_every_row_and_nothing_else(
    container: Container, browser: Browser
) -> None:
    doomed, doomed_forum = await _vendor_with_everything(browser, container)
    kept, kept_forum = await _vendor_with_everything(browser, container)
    before = await _rows_of(container, doomed, [doomed_forum])
    kept_before = await _rows_of(container, kept, [kept_forum])
    assert all(before.values()), before  # every table holds some of the vendor's rows
    clock = _ancient()
    with container.clock.override(providers.Object(clock)):
        async with container.uow() as uow:
            assert await uow.retention.hide_vendor(doomed, clock.now())
            await uow.commit()

        clock.advance(days=59)
        await housekeep_once(container)
        assert await _rows_of(container, doomed, [doomed_forum]) == before  # still restorable

        clock.advance(days=2)
        done = await housekeep_once(container)

    assert done.vendor_rows == sum(before.values())
    assert await _rows_of(container, doomed, [doomed_forum]) == dict.fromkeys(before, 0)
    assert await _rows_of(container, kept, [kept_forum]) == kept_before


async def test_purging_twice_or_from_two_workers_at_once_is_harmless(
    container: Container, browser: Browser
) -> None:
    doomed, doomed_forum = await _vendor_with_everything(browser, container)
    before = await _rows_of(container, doomed, [doomed_forum])
    clock = _ancient()
    async with container.uow() as uow:
        assert await uow.retention.hide_vendor(doomed, clock.now())
        await uow.commit()
    clock.advance(days=61)
    policy = container.settings().retention_policy

    async def purge() -> int:
        return await purge_deleted_vendors(uow=container.uow(), clock=clock, policy=policy)

    together = await asyncio.gather(purge(), purge())
    again = await purge()

    assert sum(together) + again == sum(before.values())
    assert again == 0
    assert await _rows_of(container, doomed, [doomed_forum]) == dict.fromkeys(before, 0)


async def test_sweeps_forget_what_is_old_and_keep_what_is_new(container: Container) -> None:
    clock = _ancient()
    start = clock.now()
    ids = {name: uuid.uuid4().hex for name in ("old", "new", "pending", "in_old", "in_new")}
    async with container.uow() as uow:
        for name, done_at in (("old", start), ("new", start + timedelta(days=35))):
            note = Notification(ids[name], NotificationKind.FORUM_ACCESS_CHANGED, start)
            await uow.outbox.add(note)
            await uow.outbox.finish(note, DeliveryState.SENT, done_at)
        # Pending, and due in a far-off future, where no other test's worker takes it.
        pending = Notification(ids["pending"], NotificationKind.FORUM_ACCESS_CHANGED, _FAR_OFF)
        await uow.outbox.add(pending)
        await uow.inbound.first_sighting(ids["in_old"], start)
        await uow.inbound.first_sighting(ids["in_new"], start + timedelta(days=35))
        await uow.tracker.first_delivery(ids["in_old"], start)
        await uow.tracker.first_delivery(ids["in_new"], start + timedelta(days=35))
        await uow.commit()
    clock.advance(days=40)

    with container.clock.override(providers.Object(clock)):
        await housekeep_once(container)

    async with container.engine().connect() as conn:
        outbox = set(await conn.scalars(sa.text("SELECT id FROM outbox")))
        inbound = set(await conn.scalars(sa.text("SELECT message_id FROM inbound_messages")))
        webhooks = set(await conn.scalars(sa.text("SELECT id FROM webhook_deliveries")))
    assert ids["old"] not in outbox
    assert {ids["new"], ids["pending"]} <= outbox
    assert ids["in_old"] not in inbound | webhooks
    assert ids["in_new"] in inbound & webhooks
    async with container.uow() as uow:
        # The swept inbound id is a first sighting again; the kept one is still a repeat.
        assert not await uow.inbound.first_sighting(ids["in_new"], clock.now())
