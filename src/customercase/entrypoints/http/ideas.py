"""Ideas, votes, watches, comments and status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.serialization import encode_json

from customercase.domain.ideas import IdeaQuery, IdeaView, Page, Sort, Status
from customercase.domain.ids import ForumId, IdeaId, UserId
from customercase.domain.ports import (
    Clock,
    Ids,
    IssueTrackers,
    ListCache,
    MarksReader,
    RecentIdeas,
    SecretBox,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.spam import Moderation
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.identity import SESSION_COOKIE
from customercase.entrypoints.http.origin import origin_of
from customercase.entrypoints.http.schemas import (
    Comment,
    CommentCreate,
    CommentPage,
    Idea,
    IdeaCreate,
    IdeaDetail,
    IdeaList,
    IdeaPage,
    MergeBody,
    Presenter,
    StatusChange,
    StatusName,
)
from customercase.services import ideas, tracker

Limit = Annotated[int, Parameter(description="Items per page, 1 to 100.")]
Cursor = Annotated[
    str | None, Parameter(max_length=500, description="next_cursor of the page before")
]


def _uid(user: DomainUser | None) -> UserId | None:
    return user.id if user else None


LIST_PARAMETERS = frozenset({"sort", "status", "limit"})


@dataclass(frozen=True, slots=True)
class _Presented:
    page: Page[IdeaView]
    # Each idea of the page presented, by id() of its view: the page holds its views, so no
    # other live view has the id of one of them.
    ideas: dict[int, Idea]
    body: bytes


class KeptBodies:
    """The JSON of each page the list cache keeps, encoded once per page kept rather than once
    per answer (presenting and encoding 20 ideas is a third of a cached answer's CPU)."""

    def __init__(self, lists: ListCache, present: Presenter, size: int = 1024) -> None:
        self._lists = lists
        self._present = present
        self._size = size
        self._kept: dict[IdeaQuery, _Presented] = {}

    def body(self, query: IdeaQuery) -> bytes | None:
        """The kept page's JSON, or None when the cache holds no fresh page for the query."""
        kept = self._presented(query)
        return kept.body if kept is not None else None

    def viewers_body(self, query: IdeaQuery, page: Page[IdeaView]) -> bytes:
        """The JSON of a viewer's first page: the kept page's own when it is that page, else
        its ideas that are the kept page's (seen with the kept counters and without marks)
        as presented once for it."""
        kept = self._presented(query)
        if kept is not None and kept.page is page:
            return kept.body
        presented = kept.ideas if kept is not None else {}
        items = []
        for view in page.items:
            idea = presented.get(id(view))
            items.append(idea if idea is not None else self._present.idea(view))
        return encode_json(IdeaPage(items, page.next_cursor))

    def _presented(self, query: IdeaQuery) -> _Presented | None:
        page = self._lists.get(query)
        if page is None:
            return None
        found = self._kept.get(query)
        if found is not None and found.page is page:
            return found
        if len(self._kept) >= self._size:
            self._kept.clear()
        presented = self._present.idea_page(page)
        ideas = {id(v): idea for v, idea in zip(page.items, presented.items, strict=True)}
        found = _Presented(page, ideas, encode_json(presented))
        self._kept[query] = found
        return found


UserOf = Callable[[str], Awaitable[DomainUser | None]]


class FirstPages:
    """What the list route's hook needs to answer a first page itself: the kept pages for
    visitors, and for a signed-in viewer the service's page (the kept one made theirs)."""

    def __init__(
        self,
        kept: KeptBodies,
        user_of: UserOf,
        uow: Callable[[], UnitOfWork],
        lists: ListCache,
        marks: MarksReader,
    ) -> None:
        self.kept = kept
        self._user_of = user_of
        self._uow = uow
        self._lists = lists
        self._marks = marks

    async def signed_in(self, query: IdeaQuery, token: str) -> bytes | None:
        """The page as this session's user sees it (their votes marked), or None for a session
        that is not (or no longer) signed in: the handler then answers as it would anyone."""
        user = await self._user_of(token)
        if user is None:
            return None
        page = await ideas.list_ideas(
            query, user.id, uow=self._uow(), cache=self._lists, marks=self._marks
        )
        return self.kept.viewers_body(query, page)


async def kept_list(request: Request[Any, Any, Any]) -> bytes | None:
    """A first page answered before the handler's parameters and dependencies are resolved
    (Litestar resolves several in a task group: a quarter of a cached answer's CPU).

    Only first-page parameters are looked up here: a visitor gets the page the list cache kept,
    if any (it holds only what `ideas.list_ideas` chose to keep), a signed-in viewer the page
    read for them, as the handler would. Anything else, or a miss, goes on to the handler
    (None)."""
    params = request.query_params
    if not LIST_PARAMETERS.issuperset(params.keys()):
        return None
    try:
        status = params.get("status")
        query = IdeaQuery(
            ForumId(request.path_params["forum_id"]),
            Sort(params.get("sort", "top")),
            Status(status) if status else None,
            limit=int(params.get("limit", 20)),
        )
    except ValueError:
        return None
    pages: FirstPages = request.app.state.first_pages
    token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        return pages.kept.body(query)
    return await pages.signed_in(query, token)


class ForumIdeasController(Controller):
    path = "/api/v1/forums/{forum_id:str}/ideas"
    tags = ["ideas"]

    @get("/", before_request=kept_list)
    async def list_ideas(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        marks: Injected[MarksReader],
        present: Presenter,
        sort: Literal["top", "new", "trending"] = "top",
        status: StatusName | None = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> IdeaPage:
        """A page of the forum's ideas: sorted, filtered by status, searched with q."""
        query = IdeaQuery(
            ForumId(forum_id), Sort(sort), Status(status) if status else None, q, limit, cursor
        )
        page = await ideas.list_ideas(query, _uid(user), uow=uow, cache=lists, marks=marks)
        return present.idea_page(page)

    @get("/similar")
    async def similar_ideas(
        self,
        forum_id: str,
        q: Annotated[str, Parameter(min_length=1, max_length=200)],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
    ) -> IdeaList:
        """Likely duplicates of the summary in q, best first: at most five."""
        views = await ideas.similar_ideas(ForumId(forum_id), q, _uid(user), uow=uow)
        return present.idea_list(views)

    @post("/")
    async def submit_idea(
        self,
        forum_id: str,
        data: IdeaCreate,
        request: Request[Any, Any, Any],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        present: Presenter,
    ) -> Response[Idea]:
        """Post an idea; its author votes for it and watches it. 202 when held for moderation."""
        origin = origin_of(request, f"{present.base_url}/forums/{forum_id}")
        cmd = ideas.SubmitIdea(
            ForumId(forum_id), _uid(user), data.summary, data.description, origin
        )
        view = await ideas.submit_idea(cmd, uow=uow, clock=clock, ids=ids, spam=spam, cache=lists)
        return Response(present.idea(view), status_code=201 if view.idea.is_published else 202)


class IdeaController(Controller):
    path = "/api/v1/ideas/{idea_id:str}"
    tags = ["ideas"]

    @get("/")
    async def get_idea(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        trackers: Injected[IssueTrackers],
        secrets: Injected[SecretBox],
        recent: Injected[RecentIdeas],
        present: Presenter,
    ) -> IdeaDetail:
        """One idea with its description (read from Jira for a bound forum)."""
        view = await ideas.get_idea(IdeaId(idea_id), _uid(user), uow=uow, recent=recent)
        description = await tracker.idea_description(
            view.idea, uow=uow, trackers=trackers, secrets=secrets
        )
        return present.idea_detail(view, description)

    @put("/vote")
    async def vote(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        recent: Injected[RecentIdeas],
        present: Presenter,
    ) -> Idea:
        """Vote for the idea; idempotent."""
        view = await ideas.vote(IdeaId(idea_id), _uid(user), uow=uow, clock=clock, recent=recent)
        return present.idea(view)

    @delete("/vote", status_code=200)
    async def unvote(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        recent: Injected[RecentIdeas],
        present: Presenter,
    ) -> Idea:
        """Withdraw the vote; idempotent."""
        return present.idea(await ideas.unvote(IdeaId(idea_id), _uid(user), uow=uow, recent=recent))

    @put("/watch", status_code=204)
    async def watch(self, idea_id: str, user: DomainUser | None, uow: Injected[UnitOfWork]) -> None:
        """Get emails about the idea; idempotent."""
        await ideas.set_watching(IdeaId(idea_id), _uid(user), True, uow=uow)

    @delete("/watch", status_code=204)
    async def unwatch(
        self, idea_id: str, user: DomainUser | None, uow: Injected[UnitOfWork]
    ) -> None:
        """Stop emails about the idea; the choice sticks; idempotent."""
        await ideas.set_watching(IdeaId(idea_id), _uid(user), False, uow=uow)

    @get("/comments")
    async def list_comments(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CommentPage:
        """A page of the idea's comments, oldest first."""
        page = await ideas.list_comments(IdeaId(idea_id), _uid(user), limit, cursor, uow=uow)
        return present.comment_page(page)

    @post("/comments", status_code=201)
    async def add_comment(
        self,
        idea_id: str,
        data: CommentCreate,
        request: Request[Any, Any, Any],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        spam: Injected[SpamFilter],
        present: Presenter,
    ) -> Response[Comment]:
        """Comment on the idea; the commenter watches it from then on. 202 when held."""
        origin = origin_of(request, f"{present.base_url}/ideas/{idea_id}")
        cmd = ideas.AddComment(IdeaId(idea_id), _uid(user), data.body, origin=origin)
        view = await ideas.add_comment(cmd, uow=uow, clock=clock, ids=ids, spam=spam)
        held = view.comment.moderation is not Moderation.PUBLISHED
        return Response(present.comment(view), status_code=202 if held else 201)

    @put("/status")
    async def change_status(
        self,
        idea_id: str,
        data: StatusChange,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Idea:
        """Move the idea to another status (staff only)."""
        view = await ideas.change_status(
            IdeaId(idea_id),
            Status(data.status),
            _uid(user),
            uow=uow,
            clock=clock,
            ids=ids,
            cache=lists,
        )
        return present.idea(view)

    @post("/merge", status_code=200)
    async def merge(
        self,
        idea_id: str,
        data: MergeBody,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
    ) -> Idea:
        """Merge this duplicate into another idea of the forum; answers the survivor (staff)."""
        view = await ideas.merge_ideas(
            IdeaId(idea_id),
            IdeaId(data.into),
            _uid(user),
            uow=uow,
            clock=clock,
            ids=ids,
            cache=lists,
        )
        return present.idea(view)

    @delete("/merge", status_code=200)
    async def unmerge(
        self,
        idea_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        lists: Injected[ListCache],
        present: Presenter,
    ) -> Idea:
        """Undo the merge of this idea, restoring what it moved (staff only)."""
        return present.idea(
            await ideas.unmerge_idea(IdeaId(idea_id), _uid(user), uow=uow, cache=lists)
        )
