"""Staff moderation: the queue of held posts, approving and rejecting them, trusting and
blocking their authors, and telling the spam filter where it was wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customercase.domain.errors import Conflict, NotFound
from customercase.domain.ideas import Author, Comment, Idea, check_limit
from customercase.domain.ids import ForumId, UserId
from customercase.domain.ports import Clock, Ids, ListCache, SpamFilter, UnitOfWork
from customercase.domain.spam import Case, CaseState, Moderation, Standing, Submission, Verdict
from customercase.domain.vendors import Forum
from customercase.services.access import open_forum, require_staff
from customercase.services.announce import announce_comment, announce_idea
from customercase.services.ideas import forget_kept_pages
from customercase.services.spam import set_moderation, submission_of


class CaseNotFound(NotFound):
    message = "No such post awaiting moderation."


@dataclass(frozen=True, slots=True)
class HeldPost:
    case: Case
    author: Author
    post: Idea | Comment
    text: str


@dataclass(frozen=True, slots=True)
class Decide:
    post_id: str
    actor_id: UserId | None
    approve: bool
    # Approve: trust the author from now on. Reject: block them from the vendor's forums.
    and_author: bool = False


async def list_held(
    forum_id: ForumId, user_id: UserId | None, limit: int, *, uow: UnitOfWork
) -> list[HeldPost]:
    """The forum's posts waiting for staff, oldest first (staff only)."""
    check_limit(limit)
    async with uow:
        _, viewer = await open_forum(uow, forum_id, user_id)
        require_staff(viewer)
        held = []
        for case in await uow.moderation.held_in(forum_id, limit):
            found = await submission_of(uow, case)
            if found is not None:
                submission, post = found
                author = Author(case.author_id, submission.author_name)
                held.append(HeldPost(case, author, post, submission.content))
    return held


async def decide(
    cmd: Decide,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    spam: SpamFilter,
    cache: ListCache | None = None,
) -> None:
    """Approve or reject a held post (staff only); the spam filter hears of its mistakes."""
    async with uow:
        case = await uow.moderation.get(cmd.post_id)
        if case is None:
            raise CaseNotFound()
        forum, viewer = await open_forum(uow, case.forum_id, cmd.actor_id)
        require_staff(viewer)
        if case.state is not CaseState.HELD:
            raise Conflict("post", "This post is not awaiting moderation.")
        found = await submission_of(uow, case)
        if found is None:
            raise CaseNotFound()
        submission, post = found
        if cmd.approve:
            await set_moderation(uow, case, Moderation.PUBLISHED)
            await _announce(uow, forum, post, ids=ids, now=clock.now())
        else:
            await set_moderation(uow, case, Moderation.REJECTED)
        await uow.moderation.close(
            case.post_id, CaseState.APPROVED if cmd.approve else CaseState.REJECTED
        )
        if cmd.and_author:
            standing = Standing.TRUSTED if cmd.approve else Standing.BLOCKED
            await uow.moderation.set_standing(forum.vendor_id, case.author_id, standing)
        await uow.commit()
    forget_kept_pages(cache, forum.id)
    await _feedback(case, submission, approved=cmd.approve, spam=spam)


async def _announce(
    uow: UnitOfWork, forum: Forum, post: Idea | Comment, *, ids: Ids, now: datetime
) -> None:
    """An approved post is announced as if it had just been published. A bound forum's idea
    kept its description while held; it now travels to Jira in the job and is dropped here."""
    if isinstance(post, Comment):
        await announce_comment(uow, forum, post, now=now, ids=ids)
        return
    await announce_idea(uow, forum, post, post.description, now=now, ids=ids)
    if forum.jira is not None and post.description:
        await uow.ideas.forget_description(post.id)


async def _feedback(
    case: Case, submission: Submission, *, approved: bool, spam: SpamFilter
) -> None:
    # Only the filter's mistakes teach it: ham it called spam, spam it let through (or could
    # not judge); rejecting means "this is spam". A first post held by the forum's setting
    # and approved was no mistake, so nothing is sent.
    said_spam = case.verdict in (Verdict.SPAM, Verdict.BLATANT)
    if approved and said_spam:
        await spam.report_ham(submission)
    elif not approved and not said_spam:
        await spam.report_spam(submission)
