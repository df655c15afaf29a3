"""Moderation cases, poster standings and the moderation state of posts, in memory: the twin of
`adapters/sql/moderation.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from customercase.adapters.fakes.tables import Tables, Transaction, require, utc
from customercase.domain.ideas import Comment
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId, VendorId
from customercase.domain.spam import Case, CaseState, Moderation, Standing


class InMemoryModerationRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, case: Case) -> None:
        case = replace(case, created_at=utc(case.created_at))

        def insert(db: Tables) -> None:
            require(case.post_id not in db.moderation_cases, "duplicate moderation case")
            require(case.forum_id in db.forums, "case in an unknown forum")
            require(case.author_id in db.users, "case by an unknown user")
            db.moderation_cases[case.post_id] = case

        self._tx.write(insert)

    async def get(self, post_id: str) -> Case | None:
        return self._tx.read().moderation_cases.get(post_id)

    def _cases(self, keep: Callable[[Case], bool], limit: int) -> list[Case]:
        cases = [c for c in self._tx.read().moderation_cases.values() if keep(c)]
        cases.sort(key=lambda c: (c.created_at, c.post_id))
        return cases[:limit]

    async def held_in(self, forum_id: ForumId, limit: int) -> list[Case]:
        return self._cases(lambda c: c.forum_id == forum_id and c.state is CaseState.HELD, limit)

    async def due_rechecks(self, limit: int) -> list[Case]:
        return self._cases(lambda c: c.state is CaseState.RECHECK, limit)

    async def close(self, post_id: str, state: CaseState) -> None:
        def update(db: Tables) -> None:
            if post_id in db.moderation_cases:
                db.moderation_cases[post_id] = replace(db.moderation_cases[post_id], state=state)

        self._tx.write(update)

    async def set_idea_moderation(self, idea_id: IdeaId, moderation: Moderation) -> None:
        def update(db: Tables) -> None:
            if idea_id in db.ideas:
                db.ideas[idea_id] = replace(db.ideas[idea_id], moderation=moderation)

        self._tx.write(update)

    async def set_comment_moderation(self, comment_id: CommentId, moderation: Moderation) -> None:
        def update(db: Tables) -> None:
            comment = db.comments.get(comment_id)
            if comment is None or comment.moderation is moderation:
                return
            db.comments[comment_id] = replace(comment, moderation=moderation)
            # Only published comments are counted, as in the SQL adapter.
            was = comment.moderation is Moderation.PUBLISHED
            step = 1 if moderation is Moderation.PUBLISHED else -1 if was else 0
            idea = db.ideas[comment.idea_id]
            db.ideas[idea.id] = replace(idea, comments=idea.comments + step)

        self._tx.write(update)

    async def comment(self, comment_id: CommentId) -> Comment | None:
        return self._tx.read().comments.get(comment_id)

    async def has_published(self, forum_id: ForumId, user_id: UserId) -> bool:
        db = self._tx.read()
        ideas = any(
            i.forum_id == forum_id and i.author_id == user_id and i.is_published
            for i in db.ideas.values()
        )
        return ideas or any(
            c.author_id == user_id
            and c.moderation is Moderation.PUBLISHED
            and db.ideas[c.idea_id].forum_id == forum_id
            for c in db.comments.values()
        )

    async def standing(self, vendor_id: VendorId, user_id: UserId) -> Standing | None:
        return self._tx.read().standings.get((vendor_id, user_id))

    async def set_standing(self, vendor_id: VendorId, user_id: UserId, standing: Standing) -> None:
        def upsert(db: Tables) -> None:
            require(vendor_id in db.vendors and user_id in db.users, "standing of an unknown row")
            db.standings[vendor_id, user_id] = standing

        self._tx.write(upsert)
