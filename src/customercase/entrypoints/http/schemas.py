"""Request and response bodies of the JSON API (API.md), and the shaping of domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from customercase.domain.ideas import CommentView, IdeaView, Page
from customercase.domain.ideas import Idea as DomainIdea
from customercase.domain.notifications import DeliveryRecord
from customercase.domain.privacy import PersonalData
from customercase.domain.search import SEARCH_LANGUAGES
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum as DomainForum
from customercase.services.identity import Me as DomainMe
from customercase.services.vendors import VendorView

Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Short = Annotated[str, msgspec.Meta(max_length=2_000)]
SearchLanguage = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        description="Text search configuration for stemming: " + ", ".join(SEARCH_LANGUAGES),
    ),
]
StatusName = Literal["open", "under_review", "planned", "in_progress", "done", "declined"]


class SignUpBody(msgspec.Struct, forbid_unknown_fields=False):
    email: Short
    name: Short
    password: Short


class SignInBody(msgspec.Struct):
    email: Short
    password: Short


class PasswordResetBody(msgspec.Struct):
    email: Short


Token = Annotated[str, msgspec.Meta(max_length=200)]


class PasswordResetConfirmBody(msgspec.Struct):
    token: Token
    password: Short


class VerifyEmailBody(msgspec.Struct):
    token: Token


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


class AccountExport(msgspec.Struct):
    id: str
    email: str
    name: str
    email_verified: bool
    created_at: datetime


class IdeaExport(msgspec.Struct):
    id: str
    forum_id: str
    summary: str
    description: str
    status: StatusName
    created_at: datetime


class CommentExport(msgspec.Struct):
    id: str
    idea_id: str
    body: str
    source: Literal["web", "email", "jira"]
    created_at: datetime


class VoteExport(msgspec.Struct):
    idea_id: str
    created_at: datetime


class WatchExport(msgspec.Struct):
    idea_id: str
    watching: bool


class StaffExport(msgspec.Struct):
    vendor_id: str
    role: Literal["admin", "agent"]


class MyData(msgspec.Struct):
    account: AccountExport
    ideas: list[IdeaExport]
    comments: list[CommentExport]
    votes: list[VoteExport]
    watches: list[WatchExport]
    staff: list[StaffExport]


class VendorCreate(msgspec.Struct):
    name: Short
    slug: Short


class Vendor(msgspec.Struct):
    id: str
    name: str
    slug: str
    my_role: Literal["admin", "agent"] | None


class VendorDeletion(msgspec.Struct):
    """A deleted vendor: hidden from now on, its data purged after `purge_after` unless it is
    restored (POST /api/v1/vendors/{id}/restore) before then."""

    id: str
    deleted_at: datetime
    purge_after: datetime


class JiraBinding(msgspec.Struct):
    project_key: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
    issue_type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "Task"
    # Jira status category keys (new, indeterminate, done) and, first, exact status names,
    # each to one of our statuses; what is not named keeps the default map.
    status_categories: dict[Literal["new", "indeterminate", "done"], StatusName] | None = None
    status_names: Annotated[dict[str, StatusName], msgspec.Meta(max_length=100)] | None = None


class JiraConnect(msgspec.Struct):
    site_url: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    api_token: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class JiraConnection(msgspec.Struct):
    site_url: str
    email: str
    connected: bool


class ForumCreate(msgspec.Struct):
    name: Short
    slug: Short
    visibility: Literal["public", "private"] = "public"
    allowed_domains: Annotated[list[Short], msgspec.Meta(max_length=50)] = []
    jira: JiraBinding | None = None
    holds_first_posts: bool = False
    # Stemming and stop words for search in this forum (a PostgreSQL text search configuration).
    search_language: SearchLanguage = "english"


class ForumUpdate(msgspec.Struct):
    name: Short | None = None
    slug: Short | None = None
    visibility: Literal["public", "private"] | None = None
    allowed_domains: Annotated[list[Short], msgspec.Meta(max_length=50)] | None = None
    jira: JiraBinding | None = None
    holds_first_posts: bool | None = None
    search_language: SearchLanguage | None = None


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
    # Spam defence: a poster's first idea or comment waits for staff approval.
    holds_first_posts: bool = False
    search_language: str = "english"


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


class ParticipantCreate(msgspec.Struct):
    email: Short


class Delivery(msgspec.Struct):
    """One notification email as staff see it (the recipient's email included)."""

    id: str
    kind: str
    recipient_id: str | None
    recipient_email: str | None
    idea_id: str | None
    state: Literal["pending", "sent", "failed", "skipped"]
    attempts: int
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


class DeliveryPage(msgspec.Struct):
    items: list[Delivery]
    next_cursor: str | None = None


class HeldPost(msgspec.Struct):
    """A post waiting for staff (GET /api/v1/forums/{forum_id}/moderation)."""

    id: str
    kind: Literal["idea", "comment"]
    idea_id: str
    author: User
    text: str
    verdict: Literal["ham", "spam", "blatant", "unknown"]
    created_at: datetime


class HeldPosts(msgspec.Struct):
    items: list[HeldPost]


class Approval(msgspec.Struct):
    trust_author: bool = False


class Rejection(msgspec.Struct):
    block_author: bool = False


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

    def my_data(self, data: PersonalData) -> MyData:
        u = data.user
        return MyData(
            AccountExport(u.id, u.email, u.name, u.email_verified, u.created_at),
            [
                IdeaExport(i.id, i.forum_id, i.summary, i.description, i.status.value, i.created_at)
                for i in data.ideas
            ],
            [
                CommentExport(c.id, c.idea_id, c.body, c.source.value, c.created_at)
                for c in data.comments
            ],
            [VoteExport(v.idea_id, v.created_at) for v in data.votes],
            [WatchExport(w.idea_id, w.watching) for w in data.watches],
            [StaffExport(r.vendor_id, r.role.value) for r in data.staff],
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
        jira = None
        if f.jira:
            status_map = f.jira.status_map.to_json()
            jira = JiraBinding(
                f.jira.project_key,
                f.jira.issue_type,
                status_map["categories"],  # type: ignore[arg-type]
                status_map["names"],  # type: ignore[arg-type]
            )
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
            f.holds_first_posts,
            f.search_language,
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

    def deliveries(
        self, records: list[DeliveryRecord], next_cursor: str | None = None
    ) -> DeliveryPage:
        return DeliveryPage(
            [
                Delivery(
                    r.id,
                    r.kind,
                    r.recipient_id,
                    r.recipient_email,
                    r.idea_id,
                    r.state,  # type: ignore[arg-type]
                    r.attempts,
                    r.last_error,
                    r.created_at,
                    r.done_at,
                )
                for r in records
            ],
            next_cursor,
        )
