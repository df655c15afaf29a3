"""What publishing a post owes other people: the outbox rows written when an idea or comment
goes public, whether it came from the web, the API, an email or a moderator's approval.

One place, so that no entry point forgets the Jira job a bound forum needs."""

from __future__ import annotations

from datetime import datetime

from customercase.domain.ideas import Comment, CommentSource, Idea
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Ids, UnitOfWork
from customercase.domain.vendors import Forum


async def announce_idea(
    uow: UnitOfWork, forum: Forum, idea: Idea, description: str, *, now: datetime, ids: Ids
) -> None:
    """Queue what a newly published idea owes: its author's confirmation and, in a forum bound
    to Jira, the job that files it there with the description we do not keep."""
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.REQUEST_SUBMITTED,
            now,
            recipient_id=idea.author_id,
            idea_id=idea.id,
        )
    )
    if forum.jira is not None:
        await uow.outbox.add(
            Notification(
                ids.new_id(),
                NotificationKind.CREATE_TRACKER_ISSUE,
                now,
                idea_id=idea.id,
                payload={"description": description},
            )
        )


async def announce_comment(
    uow: UnitOfWork, forum: Forum, comment: Comment, *, now: datetime, ids: Ids
) -> None:
    """Queue what a newly published comment owes: one event the worker fans out to the
    idea's watchers but the author, and in a bound forum the job that copies it to Jira
    (unless it came from Jira)."""
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.NEW_COMMENT,
            now,
            idea_id=comment.idea_id,
            actor_id=comment.author_id,
            payload={"comment_id": str(comment.id)},
        )
    )
    if forum.jira is not None and comment.source is not CommentSource.JIRA:
        await uow.outbox.add(
            Notification(
                ids.new_id(),
                NotificationKind.ADD_TRACKER_COMMENT,
                now,
                idea_id=comment.idea_id,
                payload={"comment_id": str(comment.id)},
            )
        )
