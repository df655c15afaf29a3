"""Moderation cases, poster standings and the moderation state of posts, over SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customercase.adapters.sql import prebuilt
from customercase.adapters.sql import tables as t
from customercase.adapters.sql.repositories import Standings, comment_of
from customercase.domain.ideas import Comment
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.spam import (
    Case,
    CaseState,
    Moderation,
    Origin,
    PostKind,
    Standing,
    Verdict,
)

PUBLISHED = Moderation.PUBLISHED.value


def _case(row: sa.Row[Any]) -> Case:
    origin = row.origin or {}
    return Case(
        post_id=row.post_id,
        kind=PostKind(row.kind),
        forum_id=ForumId(row.forum_id),
        author_id=UserId(row.author_id),
        verdict=Verdict(row.verdict),
        origin=Origin(
            origin.get("ip", ""),
            origin.get("user_agent", ""),
            origin.get("referrer", ""),
            origin.get("permalink", ""),
        ),
        state=CaseState(row.state),
        created_at=row.created_at,
    )


class SqlModerationRepository:
    def __init__(self, conn: AsyncConnection, standings: Standings | None = None) -> None:
        self._conn = conn
        self._standings = standings  # read with an idea in this unit of work

    async def add(self, case: Case) -> None:
        o = case.origin
        await self._conn.execute(
            t.moderation_cases.insert().values(
                post_id=case.post_id,
                kind=case.kind.value,
                forum_id=case.forum_id,
                author_id=case.author_id,
                verdict=case.verdict.value,
                origin={
                    "ip": o.ip,
                    "user_agent": o.user_agent,
                    "referrer": o.referrer,
                    "permalink": o.permalink,
                },
                state=case.state.value,
                created_at=case.created_at,
            )
        )

    async def get(self, post_id: str) -> Case | None:
        row = (
            await self._conn.execute(
                t.moderation_cases.select().where(t.moderation_cases.c.post_id == post_id)
            )
        ).first()
        return _case(row) if row else None

    async def _cases(self, *where: sa.ColumnElement[bool], limit: int) -> list[Case]:
        c = t.moderation_cases.c
        rows = await self._conn.execute(
            t.moderation_cases.select().where(*where).order_by(c.created_at, c.post_id).limit(limit)
        )
        return [_case(r) for r in rows]

    async def held_in(self, forum_id: ForumId, limit: int) -> list[Case]:
        c = t.moderation_cases.c
        return await self._cases(
            c.forum_id == forum_id, c.state == CaseState.HELD.value, limit=limit
        )

    async def due_rechecks(self, limit: int) -> list[Case]:
        return await self._cases(t.moderation_cases.c.state == CaseState.RECHECK.value, limit=limit)

    async def close(self, post_id: str, state: CaseState) -> None:
        await self._conn.execute(
            t.moderation_cases.update()
            .where(t.moderation_cases.c.post_id == post_id)
            .values(state=state.value)
        )

    async def set_idea_moderation(self, idea_id: IdeaId, moderation: Moderation) -> None:
        await self._conn.execute(
            t.ideas.update().where(t.ideas.c.id == idea_id).values(moderation=moderation.value)
        )

    async def set_comment_moderation(self, comment_id: CommentId, moderation: Moderation) -> None:
        c = t.comments.c
        row = (
            await self._conn.execute(
                sa.select(c.idea_id, c.moderation).where(c.id == comment_id).with_for_update()
            )
        ).first()
        if row is None or row.moderation == moderation.value:
            return
        await self._conn.execute(
            t.comments.update().where(c.id == comment_id).values(moderation=moderation.value)
        )
        # Only published comments are counted: the count moves when one crosses that line.
        step = 1 if moderation is Moderation.PUBLISHED else -1 if row.moderation == PUBLISHED else 0
        if step:
            await self._conn.execute(
                t.ideas.update()
                .where(t.ideas.c.id == row.idea_id)
                .values(comments=t.ideas.c.comments + step)
            )

    async def comment(self, comment_id: CommentId) -> Comment | None:
        r = (
            await self._conn.execute(t.comments.select().where(t.comments.c.id == comment_id))
        ).first()
        if r is None:
            return None
        return comment_of(r)

    async def has_published(self, forum_id: ForumId, user_id: UserId) -> bool:
        ideas = sa.select(sa.literal(1)).where(
            t.ideas.c.forum_id == forum_id,
            t.ideas.c.author_id == user_id,
            t.ideas.c.moderation == PUBLISHED,
        )
        comments = (
            sa.select(sa.literal(1))
            .select_from(t.comments.join(t.ideas, t.ideas.c.id == t.comments.c.idea_id))
            .where(
                t.ideas.c.forum_id == forum_id,
                t.comments.c.author_id == user_id,
                t.comments.c.moderation == PUBLISHED,
            )
        )
        found = await self._conn.scalar(sa.select(sa.exists(ideas) | sa.exists(comments)))
        return bool(found)

    async def standing(self, vendor_id: VendorId, user_id: UserId) -> Standing | None:
        if self._standings is not None and (vendor_id, user_id) in self._standings:
            known = self._standings[(vendor_id, user_id)]
            return Standing(known) if known else None
        params = {"vendor_id": vendor_id, "user_id": user_id}
        found = await prebuilt.rows(self._conn, prebuilt.STANDING, params)
        return Standing(found[0].standing) if found and found[0].standing else None

    async def set_standing(self, vendor_id: VendorId, user_id: UserId, standing: Standing) -> None:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.standings).values(
            vendor_id=vendor_id, user_id=user_id, standing=standing.value
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.standings.c.vendor_id, t.standings.c.user_id],
                set_={"standing": standing.value},
            )
        )
        if self._standings is not None:
            self._standings[(vendor_id, user_id)] = standing.value
