"""Request and response bodies of the JSON API (API.md), and the shaping of domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from customercase.domain.ideas import CommentView, IdeaView, Page
from customercase.domain.ideas import Idea as DomainIdea
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum as DomainForum
from customercase.services.identity import Me as DomainMe
from customercase.services.vendors import VendorView

Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Short = Annotated[str, msgspec.Meta(max_length=2_000)]
StatusName = Literal["open", "under_review", "planned", "in_progress", "done", "declined"]


class SignUpBody(msgspec.Struct, forbid_unknown_fields=False):
    email: Short
    name: Short
    password: Short


class SignInBody(msgspec.Struct):
    email: Short
    password: Short


class User(msgspec.Struct):
    id: str
    name: str
    avatar_url: str


class IdeaRef(msgspec.Struct):
    id: str
    forum_id: str
    summary: str
    html_url: str


class Me(msgspec.Struct):
    id: str
    name: str
    avatar_url: str
    email: str
    watching: list[IdeaRef]


class VendorCreate(msgspec.Struct):
    name: Short
    slug: Short


class Vendor(msgspec.Struct):
    id: str
    name: str
    slug: str
    my_role: Literal["admin", "agent"] | None


class JiraBinding(msgspec.Struct):
    project_key: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
    issue_type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "Task"


class ForumCreate(msgspec.Struct):
    name: Short
    slug: Short
    visibility: Literal["public", "private"] = "public"
    allowed_domains: Annotated[list[Short], msgspec.Meta(max_length=50)] = []
    jira: JiraBinding | None = None


class ForumUpdate(msgspec.Struct):
    name: Short | None = None
    slug: Short | None = None
    visibility: Literal["public", "private"] | None = None
    allowed_domains: Annotated[list[Short], msgspec.Meta(max_length=50)] | None = None


class Forum(msgspec.Struct):
    id: str
    vendor_id: str
    name: str
    slug: str
    visibility: Literal["public", "private"]
    allowed_domains: list[str]
    mailbox: str | None
    jira: JiraBinding | None
    html_url: str


class Invitations(msgspec.Struct):
    emails: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=500)]


class IdeaCreate(msgspec.Struct):
    summary: Short
    description: Text | None = None


class StatusChange(msgspec.Struct):
    status: StatusName


class Idea(msgspec.Struct):
    id: str
    forum_id: str
    summary: str
    status: StatusName
    votes: int
    comments: int
    author: User
    created_at: datetime
    updated_at: datetime
    voted_by_me: bool
    watching: bool
    tracker_key: str | None
    merged_into: str | None
    html_url: str


class IdeaDetail(Idea):
    description: str


class IdeaPage(msgspec.Struct):
    items: list[Idea]
    next_cursor: str | None


class MergeBody(msgspec.Struct):
    into: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class IdeaList(msgspec.Struct):
    items: list[Idea]


class CommentCreate(msgspec.Struct):
    body: Text


class Comment(msgspec.Struct):
    id: str
    idea_id: str
    author: User
    body: str
    source: Literal["web", "email", "jira"]
    created_at: datetime


class CommentPage(msgspec.Struct):
    items: list[Comment]
    next_cursor: str | None


class Health(msgspec.Struct):
    status: str


class Presenter:
    """Turns domain objects into response bodies; knows the public URL for links."""

    def __init__(self, base_url: str, inbound_address: str = "") -> None:
        self.base_url = base_url
        self.inbound_address = inbound_address

    def user(self, user_id: str, name: str) -> User:
        return User(user_id, name, f"{self.base_url}/avatars/{user_id}")

    def me(self, me: DomainMe) -> Me:
        u: DomainUser = me.user
        return Me(
            u.id,
            u.name,
            f"{self.base_url}/avatars/{u.id}",
            u.email,
            [self.idea_ref(i) for i in me.watching],
        )

    def idea_ref(self, idea: DomainIdea) -> IdeaRef:
        return IdeaRef(idea.id, idea.forum_id, idea.summary, f"{self.base_url}/ideas/{idea.id}")

    def vendor(self, view: VendorView) -> Vendor:
        v = view.vendor
        return Vendor(v.id, v.name, v.slug, view.my_role.value if view.my_role else None)

    def mailbox(self, forum: DomainForum) -> str | None:
        if "@" not in self.inbound_address:
            return None
        local, domain = self.inbound_address.split("@", 1)
        return f"{local.split('+', 1)[0]}+{forum.mailbox_hash}@{domain}"

    def forum(self, f: DomainForum) -> Forum:
        jira = JiraBinding(f.jira.project_key, f.jira.issue_type) if f.jira else None
        return Forum(
            f.id,
            f.vendor_id,
            f.name,
            f.slug,
            f.visibility.value,
            list(f.allowed_domains),
            self.mailbox(f),
            jira,
            f"{self.base_url}/forums/{f.id}",
        )

    def _idea_fields(self, view: IdeaView) -> dict[str, Any]:
        idea = view.idea
        return {
            "id": idea.id,
            "forum_id": idea.forum_id,
            "summary": idea.summary,
            "status": idea.status.value,
            "votes": idea.votes,
            "comments": idea.comments,
            "author": self.user(view.author.id, view.author.name),
            "created_at": idea.created_at,
            "updated_at": idea.updated_at,
            "voted_by_me": view.voted_by_me,
            "watching": view.watching,
            "tracker_key": idea.tracker_key,
            "merged_into": idea.merged_into,
            "html_url": f"{self.base_url}/ideas/{idea.id}",
        }

    def idea(self, view: IdeaView) -> Idea:
        return Idea(**self._idea_fields(view))

    def idea_detail(self, view: IdeaView, description: str) -> IdeaDetail:
        return IdeaDetail(**self._idea_fields(view), description=description)

    def idea_page(self, page: Page[IdeaView]) -> IdeaPage:
        return IdeaPage([self.idea(v) for v in page.items], page.next_cursor)

    def idea_list(self, views: list[IdeaView]) -> IdeaList:
        return IdeaList([self.idea(v) for v in views])

    def comment(self, view: CommentView) -> Comment:
        c = view.comment
        return Comment(
            c.id,
            c.idea_id,
            self.user(view.author.id, view.author.name),
            c.body,
            c.source.value,
            c.created_at,
        )

    def comment_page(self, page: Page[CommentView]) -> CommentPage:
        return CommentPage([self.comment(v) for v in page.items], page.next_cursor)
