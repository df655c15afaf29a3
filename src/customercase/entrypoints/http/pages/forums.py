"""A forum's home page with its ideas, and the page to submit a new one."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import InvalidField, NotSignedIn
from customercase.domain.ideas import IdeaQuery, Sort, Status
from customercase.domain.ids import ForumId
from customercase.domain.ports import (
    Clock,
    Ids,
    ListCache,
    MarksReader,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.origin import origin_of
from customercase.entrypoints.http.pages.common import (
    STATUS_LABELS,
    Analytics,
    Form,
    FormGuard,
    field_errors,
    held_page,
    is_htmx,
    is_staff,
    page,
    see_other,
    uid,
    viewer,
)
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import ideas, vendors

PAGE_SIZE = 20


class IdeaForm(msgspec.Struct):
    summary: str = ""
    description: str = ""
    # The guard against robots (FormGuard): a signed time shown, and the honeypot, kept empty.
    form_token: str = ""
    website: str = ""


def shown(count: int, q: str) -> str:
    """What a screen reader announces when the list changes in place."""
    line = f"{count} idea{'' if count == 1 else 's'} shown"
    return f"{line} for “{q}”" if q else line


def forum_url(forum_id: str, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v and not (k == "sort" and v == "top")})
    return f"/forums/{forum_id}" + (f"?{query}" if query else "")


class ForumPages(Controller):
    include_in_schema = False

    @get("/forums/{forum_id:str}", cache=False)
    async def forum_home(
        self,
        request: Request[Any, Any, Any],
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        marks: Injected[MarksReader],
        present: Presenter,
        analytics: Analytics | None,
        sort: str = "top",
        status: str = "",
        q: str = "",
        cursor: str = "",
    ) -> Template:
        """The forum's ideas: sorted, filtered, searched; the results alone for htmx."""
        sort = sort if sort in Sort.__members__.values() else Sort.TOP.value
        status = status if status in STATUS_LABELS else ""
        q = " ".join(q.split())[:200]
        forum = await vendors.get_forum(ForumId(forum_id), uid(user), uow=uow)
        status_filter = Status(status) if status else None
        query = IdeaQuery(forum.id, Sort(sort), status_filter, q or None, PAGE_SIZE, cursor or None)
        found = await ideas.list_ideas(query, uid(user), uow=uow, cache=lists, marks=marks)
        here = forum_url(forum_id, sort=sort, status=status, q=q, cursor=cursor)
        links = {
            key: forum_url(forum_id, sort=key, status=status, q=q)
            for key in ("top", "new", "trending")
        }
        links["first"] = forum_url(forum_id, sort=sort, status=status, q=q)
        links["all"] = forum_url(forum_id, sort=sort, q=q)
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "ideas": [present.idea(v) for v in found.items],
            "next_url": found.next_cursor
            and forum_url(forum_id, sort=sort, status=status, q=q, cursor=found.next_cursor),
            "sort": sort,
            "status": status,
            "q": q,
            "cursor": cursor,
            "here": here,
            "links": links,
            "summary_line": shown(len(found.items), q),
            "is_staff": await is_staff(forum, user, uow),
        }
        partial = is_htmx(request) and request.headers.get("hx-target") == "results"
        context["partial"] = partial
        if partial:
            results = page("forum_results.html", context, vary=True)
            results.headers["HX-Push-Url"] = here  # the tidy address, not every empty field
            return results
        return page("forum.html", context, vary=True, analytics=analytics and analytics.on(forum))

    @get("/forums/{forum_id:str}/ideas/new", cache=False)
    async def new_idea(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        present: Presenter,
        form_guard: FormGuard,
        summary: str = "",
    ) -> Template:
        """The form to submit an idea; sign in first."""
        forum = await vendors.get_forum(ForumId(forum_id), uid(user), uow=uow)
        if user is None:
            raise NotSignedIn()
        values = {"summary": summary[:200], **form_guard.context(clock.now())}
        return self._form(forum, user, present, values, {})

    @post("/forums/{forum_id:str}/ideas")
    async def submit_idea(
        self,
        forum_id: str,
        data: Annotated[IdeaForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        present: Presenter,
        form_guard: FormGuard,
        request: Request[Any, Any, Any],
    ) -> Template | Redirect:
        """Post the idea and show it; a rule broken shows the form again, error by the field.
        A held idea, or a form a robot filled (FormGuard), gets the same "awaiting moderation"
        page; the robot's idea is not stored."""
        back = f"/forums/{forum_id}"
        if not form_guard.looks_human(data.form_token, data.website, clock.now()):
            return held_page(user, present, "idea", back)
        origin = origin_of(request, f"{present.base_url}/forums/{forum_id}")
        cmd = ideas.SubmitIdea(ForumId(forum_id), uid(user), data.summary, data.description, origin)
        try:
            view = await ideas.submit_idea(
                cmd, uow=uow, clock=clock, ids=ids, spam=spam, cache=lists
            )
        except InvalidField as error:
            forum = await vendors.get_forum(ForumId(forum_id), uid(user), uow=uow)
            values = {
                "summary": data.summary,
                "description": data.description,
                **form_guard.context(clock.now(), data.form_token),
            }
            return self._form(forum, user, present, values, field_errors(error), 422)
        if not view.idea.is_published:
            return held_page(user, present, "idea", back)
        return see_other(f"/ideas/{view.idea.id}")

    def _form(
        self,
        forum: Forum,
        user: DomainUser | None,
        present: Presenter,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        context = {
            "viewer": viewer(user, present),
            "forum": present.forum(forum),
            "values": values,
            "errors": errors,
        }
        return page("submit.html", context, status_code)
