"""Ideas, votes, comments and watches: the heart of a forum."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from customercase.domain.errors import IdeaMerged, InvalidField, MergeRefused
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId
from customercase.domain.spam import Moderation
from customercase.domain.text import clean_line, clean_text

SUMMARY_MIN, SUMMARY_MAX = 3, 200
DESCRIPTION_MAX = 20_000
BODY_MIN, BODY_MAX = 1, 10_000
PAGE_MAX = 100
DELETED_USER_NAME = "deleted user"


class Status(enum.StrEnum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DECLINED = "declined"


class Sort(enum.StrEnum):
    TOP = "top"
    NEW = "new"
    TRENDING = "trending"


class CommentSource(enum.StrEnum):
    WEB = "web"
    EMAIL = "email"
    JIRA = "jira"


def check_summary(raw: str) -> str:
    """A summary is one line of 3–200 characters."""
    summary = clean_line(raw)
    if not SUMMARY_MIN <= len(summary) <= SUMMARY_MAX:
        raise InvalidField(
            "summary", f"Write a summary of {SUMMARY_MIN} to {SUMMARY_MAX} characters."
        )
    return summary


def check_description(raw: str | None) -> str:
    description = clean_text(raw or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidField(
            "description", f"Keep the description under {DESCRIPTION_MAX} characters."
        )
    return description


def check_body(raw: str) -> str:
    body = clean_text(raw).strip()
    if not BODY_MIN <= len(body) <= BODY_MAX:
        raise InvalidField("body", f"Write a comment of {BODY_MIN} to {BODY_MAX} characters.")
    return body


def check_limit(limit: int) -> int:
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidField("limit", f"Ask for 1 to {PAGE_MAX} items.")
    return limit


@dataclass(frozen=True, slots=True)
class Idea:
    id: IdeaId
    forum_id: ForumId
    author_id: UserId
    summary: str
    description: str
    status: Status
    created_at: datetime
    updated_at: datetime
    votes: int = 0
    comments: int = 0
    tracker_key: str | None = None
    merged_into: IdeaId | None = None
    moderation: Moderation = Moderation.PUBLISHED

    @classmethod
    def submit(
        cls,
        *,
        id: IdeaId,
        forum_id: ForumId,
        author_id: UserId,
        summary: str,
        description: str | None,
        now: datetime,
    ) -> Idea:
        return cls(
            id=id,
            forum_id=forum_id,
            author_id=author_id,
            summary=check_summary(summary),
            description=check_description(description),
            status=Status.OPEN,
            created_at=now,
            updated_at=now,
        )

    def with_status(self, status: Status, now: datetime) -> Idea:
        return replace(self, status=status, updated_at=now)

    @property
    def is_published(self) -> bool:
        return self.moderation is Moderation.PUBLISHED

    def is_visible_to(self, user_id: UserId | None, *, is_staff: bool) -> bool:
        """Published: anyone who sees the forum. Held: its author and staff. Rejected: staff."""
        if self.is_published or is_staff:
            return True
        return self.moderation is Moderation.HELD and user_id == self.author_id

    def check_open(self) -> None:
        """Raise IdeaMerged if the idea was merged: it takes no votes or comments then."""
        if self.merged_into is not None:
            raise IdeaMerged()

    def check_merge_into(self, target: Idea) -> None:
        """Raise MergeRefused unless this idea may be merged into the target."""
        if target.id == self.id:
            raise MergeRefused("into", "An idea cannot be merged into itself.")
        if target.forum_id != self.forum_id:
            raise MergeRefused("into", "Both ideas must be in the same forum.")
        if self.merged_into is not None:
            raise MergeRefused("idea_id", "This idea is merged already; unmerge it first.")
        if target.merged_into is not None:
            raise MergeRefused("into", "That idea is merged into another; merge into that one.")

    def check_unmerge(self, target: Idea) -> None:
        """Raise MergeRefused unless this merged idea may come back out of the target."""
        if self.merged_into is None:
            raise MergeRefused("idea_id", "This idea is not merged.")
        if target.merged_into is not None:
            raise MergeRefused("idea_id", "Its survivor was merged in turn; unmerge that first.")


@dataclass(frozen=True, slots=True)
class Comment:
    id: CommentId
    idea_id: IdeaId
    author_id: UserId
    body: str
    source: CommentSource
    created_at: datetime
    tracker_comment_id: str | None = None
    moderation: Moderation = Moderation.PUBLISHED

    @classmethod
    def write(
        cls,
        *,
        id: CommentId,
        idea_id: IdeaId,
        author_id: UserId,
        body: str,
        source: CommentSource,
        now: datetime,
        tracker_comment_id: str | None = None,
    ) -> Comment:
        return cls(id, idea_id, author_id, check_body(body), source, now, tracker_comment_id)


@dataclass(frozen=True, slots=True)
class Author:
    """What other users may know of a person: never the email."""

    id: UserId
    name: str


@dataclass(frozen=True, slots=True)
class Marks:
    """An idea's counters as they are now, and one viewer's marks on it: what a page kept for
    everyone lacks to be that viewer's."""

    votes: int
    comments: int
    voted_by_me: bool
    watching: bool


@dataclass(frozen=True, slots=True)
class IdeaView:
    """An idea as one viewer sees it."""

    idea: Idea
    author: Author
    voted_by_me: bool
    watching: bool

    def unmarked(self) -> IdeaView:
        """The idea as anyone sees it: nobody's vote or watch."""
        if not (self.voted_by_me or self.watching):
            return self
        return IdeaView(self.idea, self.author, False, False)

    def marked(self, marks: Marks) -> IdeaView:
        """The idea with these counters and marks (this very view when they are its own)."""
        idea = self.idea
        if idea.votes != marks.votes or idea.comments != marks.comments:
            idea = replace(idea, votes=marks.votes, comments=marks.comments)
        elif self.voted_by_me == marks.voted_by_me and self.watching == marks.watching:
            return self
        return IdeaView(idea, self.author, marks.voted_by_me, marks.watching)


@dataclass(frozen=True, slots=True)
class CommentView:
    comment: Comment
    author: Author


@dataclass(frozen=True, slots=True)
class IdeaQuery:
    forum_id: ForumId
    sort: Sort = Sort.TOP
    status: Status | None = None
    text: str | None = None
    limit: int = 20
    after: str | None = None


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
