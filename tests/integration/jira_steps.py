"""Steps for the Jira tests: a connected vendor, a bound forum, and the outbox's tracker jobs
run the way the worker runs them (services/tracker.py has one handler per job kind)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.domain.ids import CommentId, ForumId, IdeaId
from customercase.domain.notifications import NotificationKind
from customercase.services import tracker
from tests.integration.conftest import WEBHOOK_SECRET, JiraWorld
from tests.integration.walk import Client, sign_up, unique

TRACKER_JOBS = (
    NotificationKind.CREATE_TRACKER_ISSUE,
    NotificationKind.ADD_TRACKER_COMMENT,
    NotificationKind.IMPORT_TRACKER_PROJECT,
)


async def connect(world: JiraWorld, staff: Client, token: str = "token") -> Any:  # noqa: S107
    vendor = await staff.post("/api/v1/vendors", json={"name": "Acme", "slug": unique("acme")})
    assert vendor.status_code == 201, vendor.text
    answer = await staff.put(
        f"/api/v1/vendors/{vendor.json()['id']}/jira",
        json={"site_url": world.jira.base_url, "email": "bot@example.org", "api_token": token},
    )
    return vendor.json()["id"], answer


async def bound_forum(world: JiraWorld, **binding: Any) -> tuple[Client, dict[str, Any]]:
    """A signed-in staff member and a public forum of theirs bound to project SUP."""
    staff = await world.browser()
    await sign_up(staff, "Sam Staff")
    vendor_id, answer = await connect(world, staff)
    assert answer.status_code == 200, answer.text
    forum = await staff.post(
        f"/api/v1/vendors/{vendor_id}/forums",
        json={
            "name": "Ideas",
            "slug": "ideas",
            "visibility": "public",
            "jira": {"project_key": "SUP", **binding},
        },
    )
    assert forum.status_code == 201, forum.text
    return staff, forum.json()


async def run_tracker_jobs(world: JiraWorld) -> int:
    """Claim and run every pending tracker job, as the outbox worker does; how many ran."""
    c = world.container
    engine = c.engine()
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(t.outbox)
                .where(
                    t.outbox.c.state == "pending",
                    t.outbox.c.kind.in_(TRACKER_JOBS),
                    t.outbox.c.created_at >= world.started_at,
                )
                .order_by(t.outbox.c.created_at)
            )
        ).all()
    ports = {"uow": c.uow(), "trackers": c.trackers(), "secrets": c.secrets()}
    for row in rows:
        kind = NotificationKind(row.kind)
        if kind is NotificationKind.CREATE_TRACKER_ISSUE:
            await tracker.create_tracker_issue(
                IdeaId(row.idea_id),
                row.payload.get("description", ""),
                idea_url=f"{c.settings().base_url}/ideas/{row.idea_id}",
                **ports,
            )
        elif kind is NotificationKind.ADD_TRACKER_COMMENT:
            await tracker.add_tracker_comment(CommentId(row.payload["comment_id"]), **ports)
        else:
            await tracker.sync_forum(
                ForumId(row.payload["forum_id"]),
                ids=c.ids(),
                clock=c.clock(),
                holder=f"worker-{row.id}",
                **ports,
            )
        async with engine.begin() as conn:
            await conn.execute(
                t.outbox.update().where(t.outbox.c.id == row.id).values(state="sent", payload={})
            )
    return len(rows)


async def sync(world: JiraWorld, forum_id: str, holder: str = "runner") -> tracker.SyncReport:
    c = world.container
    return await tracker.sync_forum(
        ForumId(forum_id),
        uow=c.uow(),
        trackers=c.trackers(),
        secrets=c.secrets(),
        ids=c.ids(),
        clock=c.clock(),
        holder=holder,
    )


async def deliver(world: JiraWorld, **options: Any) -> list[int]:
    hook = await world.browser()
    return await world.jira.deliver(hook, "/webhooks/jira", WEBHOOK_SECRET, **options)


async def all_ideas(client: Client, forum_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, "sort": "new"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"/api/v1/forums/{forum_id}/ideas", params=params)).json()
        found += page["items"]
        if not (cursor := page["next_cursor"]):
            return found


async def outbox_kinds(world: JiraWorld, idea_id: str) -> list[str]:
    async with world.container.engine().connect() as conn:
        rows = await conn.execute(sa.select(t.outbox.c.kind).where(t.outbox.c.idea_id == idea_id))
        return [r.kind for r in rows]
