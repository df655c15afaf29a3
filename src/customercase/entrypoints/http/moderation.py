"""Staff moderation of held posts (spam defence): the queue, approve, reject."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from customercase.domain.ideas import Comment as DomainComment
from customercase.domain.ids import ForumId
from customercase.domain.ports import Clock, Ids, ListCache, SpamFilter, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import (
    Approval,
    HeldPost,
    HeldPosts,
    Presenter,
    Rejection,
)
from customercase.services import moderation


def _held(present: Presenter, held: moderation.HeldPost) -> HeldPost:
    case, post = held.case, held.post
    idea_id = post.idea_id if isinstance(post, DomainComment) else post.id
    return HeldPost(
        case.post_id,
        case.kind.value,
        idea_id,
        present.user(held.author.id, held.author.name),
        held.text,
        case.verdict.value,
        case.created_at,
    )


class ModerationController(Controller):
    path = "/api/v1"
    tags = ["moderation"]

    @get("/forums/{forum_id:str}/moderation")
    async def list_held(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        limit: Annotated[int, Parameter(description="Items, 1 to 100.")] = 50,
    ) -> HeldPosts:
        """The forum's posts waiting for staff, oldest first (staff only)."""
        held = await moderation.list_held(
            ForumId(forum_id), user.id if user else None, limit, uow=uow
        )
        return HeldPosts([_held(present, h) for h in held])

    @post("/moderation/{post_id:str}/approve", status_code=204)
    async def approve(
        self,
        post_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        data: Approval | None = None,
    ) -> None:
        """Publish a held post; `trust_author` lets the author's next posts skip screening."""
        trust = data.trust_author if data else False
        cmd = moderation.Decide(post_id, user.id if user else None, True, trust)
        await moderation.decide(cmd, uow=uow, clock=clock, ids=ids, spam=spam, cache=lists)

    @post("/moderation/{post_id:str}/reject", status_code=204)
    async def reject(
        self,
        post_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        data: Rejection | None = None,
    ) -> None:
        """Reject a held post as spam; `block_author` stops them posting at this vendor."""
        block = data.block_author if data else False
        cmd = moderation.Decide(post_id, user.id if user else None, False, block)
        await moderation.decide(cmd, uow=uow, clock=clock, ids=ids, spam=spam, cache=lists)
