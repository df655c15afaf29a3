"""What we keep about Jira, in memory: the twin of `adapters/sql/tracker.py`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from customercase.adapters.fakes.memory_retention import vendor_is_live
from customercase.adapters.fakes.tables import SyncProgress, Tables, Transaction, require, utc
from customercase.domain.ideas import Comment, Idea
from customercase.domain.ids import CommentId, ForumId, IdeaId, VendorId
from customercase.domain.tracker import TrackerConnection
from customercase.domain.vendors import Forum


class InMemoryTrackerRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def save_connection(
        self, vendor_id: VendorId, connection: TrackerConnection, at: datetime
    ) -> None:
        def upsert(db: Tables) -> None:
            require(vendor_id in db.vendors, "connection of an unknown vendor")
            db.jira_connections[vendor_id] = (connection, utc(at))

        self._tx.write(upsert)

    async def connection(self, vendor_id: VendorId) -> TrackerConnection | None:
        found = self._tx.read().jira_connections.get(vendor_id)
        return found[0] if found else None

    async def bound_forums(self, project_key: str | None = None) -> list[Forum]:
        db = self._tx.read()
        forums = [
            f
            for f in db.forums.values()
            if f.jira is not None
            and (project_key is None or f.jira.project_key == project_key)
            and vendor_is_live(db, f.vendor_id)
        ]
        return sorted(forums, key=lambda f: (f.created_at, f.id))

    async def lock_forum(self, forum_id: ForumId) -> None:
        """A no-op: the in-memory store serves one process, whose tests do not race reconcilers."""

    async def idea_by_key(self, forum_id: ForumId, issue_key: str) -> Idea | None:
        ideas = self._tx.read().ideas.values()
        return next(
            (i for i in ideas if i.forum_id == forum_id and i.tracker_key == issue_key), None
        )

    async def link_idea(self, idea_id: IdeaId, issue_key: str | None) -> None:
        def update(db: Tables) -> None:
            if idea_id in db.ideas:
                db.ideas[idea_id] = replace(db.ideas[idea_id], tracker_key=issue_key)

        self._tx.write(update)

    async def set_summary(self, idea_id: IdeaId, summary: str, at: datetime) -> None:
        def update(db: Tables) -> None:
            if idea_id in db.ideas:
                db.ideas[idea_id] = replace(db.ideas[idea_id], summary=summary, updated_at=utc(at))

        self._tx.write(update)

    async def comment(self, comment_id: CommentId) -> Comment | None:
        return self._tx.read().comments.get(comment_id)

    async def has_comment(self, idea_id: IdeaId, tracker_comment_id: str) -> bool:
        return any(
            c.idea_id == idea_id and c.tracker_comment_id == tracker_comment_id
            for c in self._tx.read().comments.values()
        )

    async def link_comment(self, comment_id: CommentId, tracker_comment_id: str) -> None:
        def update(db: Tables) -> None:
            if comment_id in db.comments:
                db.comments[comment_id] = replace(
                    db.comments[comment_id], tracker_comment_id=tracker_comment_id
                )

        self._tx.write(update)

    async def cursor(self, forum_id: ForumId) -> datetime | None:
        found = self._tx.read().tracker_sync.get(forum_id)
        return found.cursor if found else None

    async def set_cursor(self, forum_id: ForumId, at: datetime | None) -> None:
        def update(db: Tables) -> None:
            progress = _sync_row(db, forum_id)
            db.tracker_sync[forum_id] = replace(progress, cursor=utc(at) if at else None)

        self._tx.write(update)

    async def mark_synced(self, forum_id: ForumId, at: datetime) -> None:
        def update(db: Tables) -> None:
            db.tracker_sync[forum_id] = replace(_sync_row(db, forum_id), synced_at=utc(at))

        self._tx.write(update)

    async def last_synced(self) -> dict[ForumId, datetime | None]:
        db = self._tx.read()
        return {
            f.id: progress.synced_at if (progress := db.tracker_sync.get(f.id)) else None
            for f in db.forums.values()
            if f.jira is not None
        }

    async def take_lease(
        self, forum_id: ForumId, holder: str, now: datetime, until: datetime
    ) -> bool:
        def take(db: Tables) -> bool:
            progress = _sync_row(db, forum_id)
            free = (
                progress.lease_until is None
                or progress.lease_until < now
                or progress.lease_holder == holder
            )
            if free:
                progress = replace(progress, lease_holder=holder, lease_until=utc(until))
            db.tracker_sync[forum_id] = progress
            return free

        return self._tx.write(take, atomic=True)

    async def release_lease(self, forum_id: ForumId, holder: str) -> None:
        def update(db: Tables) -> None:
            progress = db.tracker_sync.get(forum_id)
            if progress is not None and progress.lease_holder == holder:
                db.tracker_sync[forum_id] = replace(progress, lease_holder=None, lease_until=None)

        self._tx.write(update)

    async def first_delivery(self, delivery_id: str, at: datetime) -> bool:
        # The column holds 128 characters; the SQL adapter cuts longer ids to fit.
        key = delivery_id[:128]

        def insert(db: Tables) -> bool:
            if key in db.webhook_deliveries:
                return False
            db.webhook_deliveries[key] = utc(at)
            return True

        return self._tx.write(insert, atomic=True)


def _sync_row(db: Tables, forum_id: ForumId) -> SyncProgress:
    """The forum's sync row, made empty if it has none yet (its forum must exist)."""
    found = db.tracker_sync.get(forum_id)
    if found is None:
        require(forum_id in db.forums, "sync progress of an unknown forum")
        found = SyncProgress()
    return found
