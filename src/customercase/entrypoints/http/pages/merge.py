"""Staff merging a duplicate idea into the one that survives, and undoing it.

Choosing the survivor is a plain GET form (search, or paste its address), so it works with
JavaScript off; htmx only refreshes the candidates as the search is typed. Nothing moves
until the confirm page, which says what will move, is posted.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import Conflict, IdeaNotFound, NotAllowed, NotSignedIn
from customercase.domain.ideas import IdeaQuery, IdeaView, Sort
from customercase.domain.ids import IdeaId
from customercase.domain.ports import Clock, Ids, ListCache, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.pages.common import Form, is_staff, page, see_other, viewer
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import ideas, vendors

CANDIDATES = 10


class MergeForm(msgspec.Struct):
    into: str = ""


def idea_id_of(raw: str) -> str:
    """The idea id in what staff typed: the id itself, or an idea's address (any host)."""
    path = urlsplit(raw.strip()).path.rstrip("/")
    return path.rsplit("/", 1)[-1][:64]


async def _staff_idea(idea_id: str, user: DomainUser | None, uow: UnitOfWork) -> IdeaView:
    """The idea, for its forum's staff; others are sent to sign in, or refused."""
    if user is None:
        raise NotSignedIn()
    view = await ideas.get_idea(IdeaId(idea_id), user.id, uow=uow)
    forum = await vendors.get_forum(view.idea.forum_id, user.id, uow=uow)
    if not await is_staff(forum, user, uow):
        raise NotAllowed("Only the vendor's staff can merge ideas.")
    return view


async def _candidates(view: IdeaView, q: str, user: DomainUser, uow: UnitOfWork) -> list[IdeaView]:
    """Ideas it might be a duplicate of: the search's hits, else those most like its summary."""
    if q:
        query = IdeaQuery(view.idea.forum_id, Sort.TOP, None, q, CANDIDATES, None)
        found = (await ideas.list_ideas(query, user.id, uow=uow)).items
    else:
        found = await ideas.similar_ideas(view.idea.forum_id, view.idea.summary, user.id, uow=uow)
    return [c for c in found if c.idea.id != view.idea.id]


class MergePages(Controller):
    include_in_schema = False

    @get("/ideas/{idea_id:str}/merge", cache=False)
    async def choose(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        q: str = "",
        into: str = "",
    ) -> Template:
        """Pick the surviving idea; once picked, the confirm page says what will move."""
        view = await _staff_idea(idea_id, user, uow)
        assert user is not None
        q = " ".join(q.split())[:200]
        if into.strip():
            try:
                preview = await ideas.preview_merge(
                    view.idea.id, IdeaId(idea_id_of(into)), user.id, uow=uow
                )
            except IdeaNotFound:
                error = "No idea of this forum has that address or id."
                return await self._choose(view, user, uow, present, q, into, error)
            except Conflict as refused:
                return await self._choose(view, user, uow, present, q, into, refused.message)
            context = {
                "viewer": viewer(user, present),
                "idea": present.idea(preview.idea),
                "into": present.idea(preview.into),
                "preview": preview,
            }
            return page("merge_confirm.html", context)
        return await self._choose(view, user, uow, present, q, "", "")

    @post("/ideas/{idea_id:str}/merge")
    async def merge(
        self,
        idea_id: str,
        data: Annotated[MergeForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Template | Redirect:
        """Merge it; the merged idea's page then points to the survivor."""
        view = await _staff_idea(idea_id, user, uow)
        assert user is not None
        try:
            await ideas.merge_ideas(
                view.idea.id,
                IdeaId(idea_id_of(data.into)),
                user.id,
                uow=uow,
                clock=clock,
                ids=ids,
                cache=lists,
            )
        except IdeaNotFound:
            error = "No idea of this forum has that address or id."
            return await self._choose(view, user, uow, present, "", data.into, error, 422)
        except Conflict as refused:
            return await self._choose(view, user, uow, present, "", data.into, refused.message, 409)
        return see_other(f"/ideas/{idea_id}")

    @post("/ideas/{idea_id:str}/unmerge")
    async def unmerge(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
    ) -> Redirect:
        """Take the idea back out of its survivor, with what the merge moved."""
        await ideas.unmerge_idea(IdeaId(idea_id), user.id if user else None, uow=uow, cache=lists)
        return see_other(f"/ideas/{idea_id}")

    async def _choose(
        self,
        view: IdeaView,
        user: DomainUser,
        uow: UnitOfWork,
        present: Presenter,
        q: str,
        into: str,
        error: str,
        status_code: int = 200,
    ) -> Template:
        merged = view.idea.merged_into is not None
        candidates = [] if merged else await _candidates(view, q, user, uow)
        context = {
            "viewer": viewer(user, present),
            "idea": present.idea(view),
            "candidates": [present.idea(c) for c in candidates],
            "q": q,
            "into": into,
            "errors": {"into": error} if error else {},
        }
        return page("merge.html", context, 422 if error and status_code == 200 else status_code)
