"""An idea's page, and the forms on it: vote, watch, comment and (staff) status."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import InvalidField, NotFound
from customercase.domain.ideas import IdeaView, Status
from customercase.domain.ids import CommentId, IdeaId
from customercase.domain.ports import Clock, Ids, ListCache, RecentIdeas, SpamFilter, UnitOfWork
from customercase.domain.spam import Moderation
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.origin import origin_of
from customercase.entrypoints.http.pages.common import (
    STATUS_LABELS,
    Analytics,
    Form,
    FormGuard,
    back_to,
    field_errors,
    held_page,
    is_htmx,
    is_staff,
    page,
    see_other,
    uid,
    viewer,
)
from customercase.entrypoints.http.schemas import Idea, Presenter
from customercase.services import ideas, vendors

COMMENTS_PER_PAGE = 20


class ToggleForm(msgspec.Struct):
    next: str = ""
    vote: str = "1"
    watching: str = "1"


class CommentForm(msgspec.Struct):
    body: str = ""
    # The guard against robots (FormGuard): a signed time shown, and the honeypot, kept empty.
    form_token: str = ""
    website: str = ""


class StatusForm(msgspec.Struct):
    status: str = ""


def idea_url(idea_id: str, after: str = "", anchor: str = "") -> str:
    query = f"?{urlencode({'after': after})}" if after else ""
    return f"/ideas/{idea_id}{query}{anchor}"


class IdeaPages(Controller):
    include_in_schema = False

    @get("/ideas/{idea_id:str}", cache=False)
    async def idea_page(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        present: Presenter,
        form_guard: FormGuard,
        analytics: Analytics | None,
        recent: Injected[RecentIdeas],
        after: str = "",
    ) -> Template:
        """The idea, its comments oldest first a page at a time, and the comment form."""
        values = form_guard.context(clock.now())
        return await self._page(
            idea_id, user, uow, present, after, values, {}, analytics, recent=recent
        )

    @post("/ideas/{idea_id:str}/vote")
    async def vote(
        self,
        request: Request[Any, Any, Any],
        idea_id: str,
        data: Annotated[ToggleForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        recent: Injected[RecentIdeas],
        present: Presenter,
    ) -> Template | Redirect:
        """Vote (vote=1) or withdraw it (vote=0); htmx gets the new button, others go back."""
        if data.vote == "0":
            view = await ideas.unvote(IdeaId(idea_id), uid(user), uow=uow, recent=recent)
        else:
            view = await ideas.vote(IdeaId(idea_id), uid(user), uow=uow, clock=clock, recent=recent)
        next_path = back_to(request, data.next, idea_url(idea_id))
        if is_htmx(request):
            return page("partials/vote.html", {"idea": present.idea(view), "next": next_path})
        return see_other(next_path)

    @post("/ideas/{idea_id:str}/watch")
    async def watch(
        self,
        request: Request[Any, Any, Any],
        idea_id: str,
        data: Annotated[ToggleForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
    ) -> Template | Redirect:
        """Watch (watching=1) or stop (watching=0); htmx gets the new button, others go back."""
        watching = data.watching != "0"
        await ideas.set_watching(IdeaId(idea_id), uid(user), watching, uow=uow)
        next_path = back_to(request, data.next, idea_url(idea_id))
        if is_htmx(request):
            view = await ideas.get_idea(IdeaId(idea_id), uid(user), uow=uow)
            return page("partials/watch.html", {"idea": present.idea(view), "next": next_path})
        return see_other(next_path)

    @post("/ideas/{idea_id:str}/comments")
    async def comment(
        self,
        idea_id: str,
        data: Annotated[CommentForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        present: Presenter,
        form_guard: FormGuard,
        request: Request[Any, Any, Any],
    ) -> Template | Redirect:
        """Post the comment and show it in place; an empty one shows the form with its error.
        A held comment, or a form a robot filled (FormGuard), gets the same "awaiting
        moderation" page; the robot's comment is not stored."""
        if not form_guard.looks_human(data.form_token, data.website, clock.now()):
            return held_page(user, present, "comment", idea_url(idea_id))
        origin = origin_of(request, f"{present.base_url}/ideas/{idea_id}")
        cmd = ideas.AddComment(IdeaId(idea_id), uid(user), data.body, origin=origin)
        try:
            added = await ideas.add_comment(cmd, uow=uow, clock=clock, ids=ids, spam=spam)
        except InvalidField as error:
            values = {"body": data.body, **form_guard.context(clock.now(), data.form_token)}
            return await self._page(idea_id, user, uow, present, "", values, field_errors(error))
        if added.comment.moderation is not Moderation.PUBLISHED:
            return held_page(user, present, "comment", idea_url(idea_id))
        after = await self._page_holding(IdeaId(idea_id), added.comment.id, user, uow)
        return see_other(idea_url(idea_id, after, f"#comment-{added.comment.id}"))

    @post("/ideas/{idea_id:str}/status")
    async def change_status(
        self,
        idea_id: str,
        data: Annotated[StatusForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
    ) -> Redirect:
        """Move the idea to another status (staff only) and show it."""
        if data.status not in STATUS_LABELS:
            raise InvalidField("status", "Choose one of the statuses offered.")
        await ideas.change_status(
            IdeaId(idea_id),
            Status(data.status),
            uid(user),
            uow=uow,
            clock=clock,
            ids=ids,
            cache=lists,
        )
        return see_other(idea_url(idea_id))

    async def _page(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: UnitOfWork,
        present: Presenter,
        after: str,
        values: dict[str, str],
        errors: dict[str, str],
        analytics: Analytics | None = None,
        *,
        recent: RecentIdeas | None = None,
    ) -> Template:
        view = await ideas.get_idea(IdeaId(idea_id), uid(user), uow=uow, recent=recent)
        forum = await vendors.get_forum(view.idea.forum_id, uid(user), uow=uow)
        comments = await ideas.list_comments(
            view.idea.id, uid(user), COMMENTS_PER_PAGE, after or None, uow=uow
        )
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "idea": present.idea(view),
            "survivor": await self._survivor(view, user, uow, present),
            "description": view.idea.description,
            "comments": [present.comment(c) for c in comments.items],
            "after": after,
            "next_comments_url": comments.next_cursor
            and idea_url(idea_id, comments.next_cursor, "#comments"),
            "here": idea_url(idea_id, after),
            "is_staff": await is_staff(forum, user, uow),
            "values": values,
            "errors": errors,
        }
        counted = analytics and analytics.on(forum)
        return page("idea.html", context, 422 if errors else 200, analytics=counted)

    async def _survivor(
        self, view: IdeaView, user: DomainUser | None, uow: UnitOfWork, present: Presenter
    ) -> Idea | None:
        """The idea a merged one now lives in, for the link to it."""
        if view.idea.merged_into is None:
            return None
        try:
            return present.idea(await ideas.get_idea(view.idea.merged_into, uid(user), uow=uow))
        except NotFound:
            return None

    async def _page_holding(
        self, idea_id: IdeaId, comment_id: CommentId, user: DomainUser | None, uow: UnitOfWork
    ) -> str:
        """The `after` cursor of the comment page that shows this comment ("" for the first)."""
        after: str | None = None
        while True:
            found = await ideas.list_comments(idea_id, uid(user), COMMENTS_PER_PAGE, after, uow=uow)
            if any(c.comment.id == comment_id for c in found.items) or not found.next_cursor:
                return after or ""
            after = found.next_cursor
