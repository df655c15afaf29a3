"""Staff work lists of a forum: held posts to approve or reject, and emails that bounced.

The moderation buttons are plain form posts that come back to the queue; with htmx the
decided post is replaced in place by a line saying what became of it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import Conflict
from customercase.domain.ideas import Comment as DomainComment
from customercase.domain.ports import Clock, Ids, ListCache, SpamFilter, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.pages.common import Form, is_htmx, page, see_other, viewer
from customercase.entrypoints.http.pages.staff import staff_forum
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import moderation, notifications

HELD_SHOWN = 50
PROBLEMS_PER_PAGE = 25
OUTCOMES = {
    "approved": "Approved: the post is published.",
    "rejected": "Rejected as spam.",
    "gone": "That post was decided already.",
}


class DecisionForm(msgspec.Struct):
    decision: str = ""
    # Approving trusts the author's next posts; rejecting blocks them at this vendor.
    and_author: str = ""


def _held(present: Presenter, held: moderation.HeldPost) -> dict[str, Any]:
    post = held.post
    idea_id = post.idea_id if isinstance(post, DomainComment) else post.id
    return {
        "id": held.case.post_id,
        "kind": held.case.kind.value,
        "idea_id": idea_id,
        "author": present.user(held.author.id, held.author.name),
        "text": held.text,
        "verdict": held.case.verdict.value,
        "created_at": held.case.created_at,
    }


class QueuePages(Controller):
    include_in_schema = False

    @get("/forums/{forum_id:str}/moderation", cache=False)
    async def queue(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        done: str = "",
    ) -> Template:
        """The forum's held ideas and comments, oldest first, each with its two buttons."""
        forum, staff = await staff_forum(forum_id, user, uow)
        held = await moderation.list_held(forum.id, staff.id, HELD_SHOWN, uow=uow)
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "held": [_held(present, h) for h in held],
            "notice": OUTCOMES.get(done, ""),
            "current": "moderation",
        }
        return page("moderation.html", context)

    @post("/forums/{forum_id:str}/moderation/{post_id:str}")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        forum_id: str,
        post_id: str,
        data: Annotated[DecisionForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
    ) -> Template | Redirect:
        """Approve (decision=approve) or reject as spam; back to the queue, or in place."""
        forum, staff = await staff_forum(forum_id, user, uow)
        approve = data.decision == "approve"
        cmd = moderation.Decide(post_id, staff.id, approve, data.and_author == "1")
        try:
            await moderation.decide(cmd, uow=uow, clock=clock, ids=ids, spam=spam, cache=lists)
            outcome = "approved" if approve else "rejected"
        except Conflict:
            outcome = "gone"
        if is_htmx(request):
            context = {"message": OUTCOMES[outcome], "id": post_id}
            return page("partials/decided.html", context)
        return see_other(f"/forums/{forum.id}/moderation?done={outcome}")

    @get("/forums/{forum_id:str}/deliveries", cache=False)
    async def delivery_problems(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        cursor: str = "",
    ) -> Template:
        """Notification emails that could not be delivered, newest first, with the reason."""
        forum, staff = await staff_forum(forum_id, user, uow)
        found = await notifications.delivery_problems(
            forum.id, staff.id, PROBLEMS_PER_PAGE, cursor[:400] or None, uow=uow
        )
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "problems": found.items,
            "cursor": cursor,
            "next_url": found.next_cursor
            and f"/forums/{forum.id}/deliveries?cursor={found.next_cursor}",
            "current": "deliveries",
        }
        return page("deliveries.html", context)
