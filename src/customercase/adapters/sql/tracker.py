"""What we keep about Jira, over SQLAlchemy Core: never a commit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.repositories import (
    _forum,
    _idea,
    _insert_ignoring_duplicates,
    comment_of,
)
from customercase.adapters.sql.retention import vendor_is_live
from customercase.domain.ideas import Comment, Idea
from customercase.domain.ids import CommentId, ForumId, IdeaId, VendorId
from customercase.domain.tracker import TrackerConnection
from customercase.domain.vendors import Forum


class SqlTrackerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def save_connection(
        self, vendor_id: VendorId, connection: TrackerConnection, at: datetime
    ) -> None:
        values = {
            "site_url": connection.site_url,
            "email": connection.email,
            "sealed_token": connection.api_token,
            "updated_at": at,
        }
        updated = await self._conn.execute(
            t.jira_connections.update()
            .where(t.jira_connections.c.vendor_id == vendor_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await self._conn.execute(
                t.jira_connections.insert().values(vendor_id=vendor_id, **values)
            )

    async def connection(self, vendor_id: VendorId) -> TrackerConnection | None:
        row = (
            await self._conn.execute(
                t.jira_connections.select().where(t.jira_connections.c.vendor_id == vendor_id)
            )
        ).first()
        return TrackerConnection(row.site_url, row.email, row.sealed_token) if row else None

    async def bound_forums(self, project_key: str | None = None) -> list[Forum]:
        stmt = t.forums.select().where(
            t.forums.c.jira_project_key.is_not(None), vendor_is_live(t.forums.c.vendor_id)
        )
        if project_key is not None:
            stmt = stmt.where(t.forums.c.jira_project_key == project_key)
        rows = await self._conn.execute(stmt.order_by(t.forums.c.created_at, t.forums.c.id))
        return [_forum(r) for r in rows]

    async def lock_forum(self, forum_id: ForumId) -> None:
        # FOR NO KEY UPDATE: excludes the other reconcilers, not the inserts of ideas (whose
        # foreign key check takes only FOR KEY SHARE). SQLite has one writer anyway.
        forum = sa.select(t.forums.c.id).where(t.forums.c.id == forum_id)
        await self._conn.execute(forum.with_for_update(key_share=True))

    async def idea_by_key(self, forum_id: ForumId, issue_key: str) -> Idea | None:
        row = (
            await self._conn.execute(
                t.ideas.select().where(
                    t.ideas.c.forum_id == forum_id, t.ideas.c.tracker_key == issue_key
                )
            )
        ).first()
        return _idea(row) if row else None

    async def link_idea(self, idea_id: IdeaId, issue_key: str | None) -> None:
        await self._conn.execute(
            t.ideas.update().where(t.ideas.c.id == idea_id).values(tracker_key=issue_key)
        )

    async def set_summary(self, idea_id: IdeaId, summary: str, at: datetime) -> None:
        await self._conn.execute(
            t.ideas.update().where(t.ideas.c.id == idea_id).values(summary=summary, updated_at=at)
        )

    async def comment(self, comment_id: CommentId) -> Comment | None:
        row = (
            await self._conn.execute(t.comments.select().where(t.comments.c.id == comment_id))
        ).first()
        return comment_of(row) if row else None

    async def has_comment(self, idea_id: IdeaId, tracker_comment_id: str) -> bool:
        found = await self._conn.scalar(
            sa.select(sa.literal(1)).where(
                t.comments.c.idea_id == idea_id,
                t.comments.c.tracker_comment_id == tracker_comment_id,
            )
        )
        return found is not None

    async def link_comment(self, comment_id: CommentId, tracker_comment_id: str) -> None:
        await self._conn.execute(
            t.comments.update()
            .where(t.comments.c.id == comment_id)
            .values(tracker_comment_id=tracker_comment_id)
        )

    async def _ensure_sync_row(self, forum_id: ForumId) -> None:
        await self._conn.execute(
            _insert_ignoring_duplicates(self._conn, t.tracker_sync).values(forum_id=forum_id)
        )

    async def cursor(self, forum_id: ForumId) -> datetime | None:
        found: datetime | None = await self._conn.scalar(
            sa.select(t.tracker_sync.c.cursor).where(t.tracker_sync.c.forum_id == forum_id)
        )
        return found

    async def set_cursor(self, forum_id: ForumId, at: datetime | None) -> None:
        await self._ensure_sync_row(forum_id)
        await self._conn.execute(
            t.tracker_sync.update().where(t.tracker_sync.c.forum_id == forum_id).values(cursor=at)
        )

    async def mark_synced(self, forum_id: ForumId, at: datetime) -> None:
        await self._ensure_sync_row(forum_id)
        await self._conn.execute(
            t.tracker_sync.update()
            .where(t.tracker_sync.c.forum_id == forum_id)
            .values(synced_at=at)
        )

    async def last_synced(self) -> dict[ForumId, datetime | None]:
        f, s = t.forums.c, t.tracker_sync.c
        rows = await self._conn.execute(
            sa.select(f.id, s.synced_at)
            .select_from(t.forums.outerjoin(t.tracker_sync, s.forum_id == f.id))
            .where(f.jira_project_key.is_not(None))
        )
        return {ForumId(forum_id): synced_at for forum_id, synced_at in rows.all()}

    async def take_lease(
        self, forum_id: ForumId, holder: str, now: datetime, until: datetime
    ) -> bool:
        await self._ensure_sync_row(forum_id)
        s = t.tracker_sync.c
        # One conditional UPDATE: whoever's row count is 1 holds the lease, on either engine.
        taken = await self._conn.execute(
            t.tracker_sync.update()
            .where(
                s.forum_id == forum_id,
                sa.or_(s.lease_until.is_(None), s.lease_until < now, s.lease_holder == holder),
            )
            .values(lease_holder=holder, lease_until=until)
        )
        return taken.rowcount == 1

    async def release_lease(self, forum_id: ForumId, holder: str) -> None:
        s = t.tracker_sync.c
        await self._conn.execute(
            t.tracker_sync.update()
            .where(s.forum_id == forum_id, s.lease_holder == holder)
            .values(lease_holder=None, lease_until=None)
        )

    async def first_delivery(self, delivery_id: str, at: datetime) -> bool:
        inserted = await self._conn.execute(
            _insert_ignoring_duplicates(self._conn, t.webhook_deliveries).values(
                id=delivery_id[:128], received_at=at
            )
        )
        return inserted.rowcount == 1
