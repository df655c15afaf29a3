"""Posting, voting on, watching and discussing ideas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from customercase.domain.errors import IdeaNotFound
from customercase.domain.ideas import (
    Author,
    Comment,
    CommentSource,
    CommentView,
    Idea,
    IdeaQuery,
    IdeaView,
    Page,
    Status,
    check_limit,
)
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import (
    Clock,
    IdeaChanged,
    Ids,
    ListCache,
    MarksReader,
    RecentIdeas,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.search import clean_text
from customercase.domain.spam import Fate, Moderation, Origin, PostKind
from customercase.domain.vendors import Forum, Viewer
from customercase.services.access import (
    open_forum,
    open_idea,
    readable_forum,
    require_staff,
    require_user,
)
from customercase.services.announce import announce_comment, announce_idea
from customercase.services.spam import idea_text, open_case, poster_of, screen

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SubmitIdea:
    forum_id: ForumId
    author_id: UserId | None
    summary: str
    description: str | None = None
    # The submitter's request, for the spam filter; None when it came by email.
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class AddComment:
    idea_id: IdeaId
    author_id: UserId | None
    body: str
    source: CommentSource = CommentSource.WEB
    origin: Origin | None = None


async def _view(uow: UnitOfWork, idea_id: IdeaId, user_id: UserId | None) -> IdeaView:
    view = await uow.ideas.view(idea_id, user_id)
    if view is None:
        raise IdeaNotFound()
    return view


async def submit_idea(
    cmd: SubmitIdea,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    spam: SpamFilter,
    cache: ListCache | None = None,
) -> IdeaView:
    """Post a new idea; its author votes for it and watches it. Spam is held for staff
    (moderation HELD); blatant spam is dropped but answered as held, so its sender learns
    nothing."""
    async with uow.read_only():
        forum, viewer = await open_forum(uow, cmd.forum_id, cmd.author_id)
        author = require_user(viewer)
        poster = await poster_of(uow, forum, viewer, author)
    now = clock.now()
    idea = Idea.submit(
        id=IdeaId(ids.new_id()),
        forum_id=forum.id,
        author_id=author.id,
        summary=cmd.summary,
        description=cmd.description,
        now=now,
    )
    screening = await screen(poster, PostKind.IDEA, idea_text(idea), cmd.origin, spam=spam)
    idea = replace(idea, moderation=screening.moderation)
    # A bound forum keeps only the summary of a published idea; the description travels to
    # Jira in the job. A held one keeps it until staff decide (announced on approval).
    description = idea.description
    if forum.jira is not None and idea.is_published:
        idea = replace(idea, description="")
    if screening.fate is Fate.DROP:
        return IdeaView(replace(idea, votes=1), Author(author.id, author.name), True, True)
    async with uow:
        await uow.ideas.add(idea)
        await uow.votes.add(idea.id, author.id, now)
        await uow.watches.start(idea.id, author.id)
        await open_case(
            uow,
            screening,
            post_id=idea.id,
            kind=PostKind.IDEA,
            poster=poster,
            origin=cmd.origin,
            now=now,
        )
        if idea.is_published:
            await announce_idea(uow, forum, idea, description, now=now, ids=ids)
        view = await _view(uow, idea.id, author.id)
        await uow.commit()
    forget_kept_pages(cache, forum.id)
    return view


def forget_kept_pages(cache: ListCache | None, forum_id: ForumId | None) -> None:
    """After a change is committed: this process's kept pages of the forum go at once (other
    processes' expire within their time to live)."""
    if cache is not None:
        cache.invalidate(forum_id)


async def list_ideas(
    query: IdeaQuery,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    cache: ListCache | None = None,
    marks: MarksReader | None = None,
) -> Page[IdeaView]:
    """One page of a forum's ideas, sorted and filtered as asked.

    With a cache, the first page of a public forum is kept for the cache's time to live:
    everyone's page, nobody's votes or secrets. A visitor gets it as kept, its counts up to that
    many seconds old; a signed-in viewer gets it with its counters read afresh and their own
    marks (one small statement, through `marks` when given: read with other viewers' who ask
    at the same time), so only its order may be that old. A search, a later page or a private
    forum is always read afresh."""
    check_limit(query.limit)
    if cache is None or query.text is not None or query.after:
        return (await _read_page(query, user_id, uow))[1]
    kept = cache.get(query)
    if kept is not None:
        return kept if user_id is None else await _marked(kept, user_id, uow, marks)
    version = cache.version()
    forum, page = await _read_page(query, user_id, uow)
    if not forum.is_private:
        # A list shows the same ideas to everyone: a viewer's page without their marks is
        # everyone's.
        everyone = (
            page if user_id is None else Page([v.unmarked() for v in page.items], page.next_cursor)
        )
        cache.put(query, everyone, version)
    return page


async def _marked(
    kept: Page[IdeaView], user_id: UserId, uow: UnitOfWork, reader: MarksReader | None
) -> Page[IdeaView]:
    """The kept page as this viewer sees it now: fresh counters, their marks, and without the
    ideas deleted since it was kept (one that left the list otherwise stays until it expires,
    as for a visitor)."""
    ids = [v.idea.id for v in kept.items]
    if reader is not None:
        marks = await reader.marks(ids, user_id)
    else:
        async with uow.read_only():
            (marks,) = await uow.ideas.marks([(user_id, ids)])
    items = [v.marked(marks[v.idea.id]) for v in kept.items if v.idea.id in marks]
    if len(items) == len(kept.items) and all(
        a is b for a, b in zip(items, kept.items, strict=True)
    ):
        return kept  # as kept: the viewer marked none of it and no counter moved
    return Page(items, kept.next_cursor)


async def _read_page(
    query: IdeaQuery, user_id: UserId | None, uow: UnitOfWork
) -> tuple[Forum, Page[IdeaView]]:
    async with uow.read_only():
        forum = await readable_forum(uow, query.forum_id, user_id)
        return forum, await uow.ideas.list(query, user_id)


SIMILAR_LIMIT = 5


async def similar_ideas(
    forum_id: ForumId, text: str, user_id: UserId | None, *, uow: UnitOfWork
) -> list[IdeaView]:
    """The likely duplicates of a summary being written: the best five, best first."""
    async with uow.read_only():
        await readable_forum(uow, forum_id, user_id)
        text = clean_text(text)
        if not text:
            return []
        return await uow.ideas.similar(forum_id, text, user_id, SIMILAR_LIMIT)


async def get_idea(
    idea_id: IdeaId,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    recent: RecentIdeas | None = None,
) -> IdeaView:
    """One idea as the viewer sees it (kept in `recent`, for a vote on it that may follow)."""
    async with uow.read_only():
        idea, forum, _ = await open_idea(uow, idea_id, user_id)
        if recent is not None:
            recent.put(idea, forum)
        return await _view(uow, idea_id, user_id)


async def vote(
    idea_id: IdeaId,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    recent: RecentIdeas | None = None,
) -> IdeaView:
    """Vote for the idea; voting again changes nothing."""

    async def cast(idea: Idea, _: Forum, viewer: Viewer) -> IdeaView:
        user = require_user(viewer)
        idea.check_open()
        return _found(await uow.votes.cast(idea.id, user.id, clock.now()))

    async def cast_judged(idea: Idea, forum: Forum, voter: UserId) -> IdeaView | None:
        return await uow.votes.cast_as_judged(idea, forum, voter, clock.now())

    return await _judged_or_written_on(uow, idea_id, user_id, cast_judged, cast, recent)


async def unvote(
    idea_id: IdeaId,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    recent: RecentIdeas | None = None,
) -> IdeaView:
    """Withdraw the vote; withdrawing one that is not there changes nothing."""

    async def withdraw(idea: Idea, _: Forum, viewer: Viewer) -> IdeaView:
        return _found(await uow.votes.withdraw(idea.id, require_user(viewer).id))

    async def withdraw_judged(idea: Idea, forum: Forum, voter: UserId) -> IdeaView | None:
        return await uow.votes.withdraw_as_judged(idea, forum, voter)

    return await _judged_or_written_on(uow, idea_id, user_id, withdraw_judged, withdraw, recent)


async def _judged_or_written_on(
    uow: UnitOfWork,
    idea_id: IdeaId,
    user_id: UserId | None,
    judged_write: Callable[[Idea, Forum, UserId], Awaitable[IdeaView | None]],
    write: Callable[[Idea, Forum, Viewer], Awaitable[IdeaView]],
    recent: RecentIdeas | None,
) -> IdeaView:
    """`judged_write` on the idea as this process read it moments ago, without reading it
    again, when that read allows it to any signed-in user (_allowed_to_anyone): the adapter
    writes only if what that judgement rested on still holds. Otherwise, or when it no longer
    holds, `write` on the idea opened afresh (_written_on), which keeps it for the next vote."""
    if recent is not None and user_id is not None:
        kept = recent.get(idea_id)
        if kept is not None and _allowed_to_anyone(*kept, user_id):
            async with uow:
                view = await judged_write(*kept, user_id)
                if view is not None:
                    await uow.commit()
                    return view
            recent.forget(idea_id)
    return await _written_on(uow, idea_id, user_id, write, recent)


def _allowed_to_anyone(idea: Idea, forum: Forum, user_id: UserId) -> bool:
    """Whether this signed-in user may vote on the idea whoever they are at its vendor: its
    forum admits visitors, the idea is open and they see it without being staff (published,
    or held and theirs). Staff, invitations and verified emails only ever admit more, so
    neither the viewer's role nor their email need be read."""
    return (
        forum.admits(Viewer(user=None))
        and idea.merged_into is None
        and idea.is_visible_to(user_id, is_staff=False)
    )


def _found(view: IdeaView | None) -> IdeaView:
    if view is None:
        raise IdeaNotFound()
    return view


async def _written_on(
    uow: UnitOfWork,
    idea_id: IdeaId,
    user_id: UserId | None,
    write: Callable[[Idea, Forum, Viewer], Awaitable[T]],
    recent: RecentIdeas | None = None,
) -> T:
    """`write` on the idea as its viewer opens it, committed in one unit of work (and the idea
    kept in `recent`, as opened).

    The idea is read without a lock first: the adapter may write under a lock of its own,
    checking the idea is still as read (IdeaChanged if not, at the write or at the commit:
    then it is read again, locked, and judged afresh, so the request answers as if it had come
    after whatever changed it)."""
    for lock in (False, True):
        async with uow:
            idea, forum, viewer = await open_idea(uow, idea_id, user_id, lock=lock)
            if recent is not None:
                recent.put(idea, forum)
            try:
                done = await write(idea, forum, viewer)
                await uow.commit()
            except IdeaChanged:
                continue
            return done
    raise AssertionError("an idea read locked cannot have changed")


async def set_watching(
    idea_id: IdeaId, user_id: UserId | None, watching: bool, *, uow: UnitOfWork
) -> None:
    """Watch or stop watching the idea; the choice sticks."""
    async with uow:
        idea, _, viewer = await open_idea(uow, idea_id, user_id)
        user = require_user(viewer)
        await uow.watches.set(idea.id, user.id, watching)
        await uow.commit()


async def list_comments(
    idea_id: IdeaId, user_id: UserId | None, limit: int, cursor: str | None, *, uow: UnitOfWork
) -> Page[CommentView]:
    """One page of the idea's comments, oldest first."""
    check_limit(limit)
    async with uow.read_only():
        await open_idea(uow, idea_id, user_id)
        return await uow.comments.list(idea_id, limit, cursor, user_id)


async def add_comment(
    cmd: AddComment, *, uow: UnitOfWork, clock: Clock, ids: Ids, spam: SpamFilter
) -> CommentView:
    """Comment on an idea; the commenter watches it from now on, unless they opted out.
    Spam is held or dropped as for ideas (submit_idea).

    With a filter that answers at once (spam.is_instant: no Akismet to wait for) it is one
    unit of work: the idea is read without a lock and the adapter may write the comment
    under a lock of its own, checking the idea is still as read (IdeaChanged if not: then it
    is read again, locked, and judged afresh, as for a vote). With a filter that asks over
    the network, the filter is asked between a read and the write, so no transaction or
    connection waits on it."""
    if spam.is_instant:

        async def written(idea: Idea, forum: Forum, viewer: Viewer) -> CommentView:
            view, store = await _written(
                cmd, idea, forum, viewer, uow=uow, clock=clock, ids=ids, spam=spam
            )
            if store is not None:
                await store()
            return view

        return await _written_on(uow, cmd.idea_id, cmd.author_id, written)
    async with uow.read_only():
        idea, forum, viewer = await open_idea(uow, cmd.idea_id, cmd.author_id)
        view, store = await _written(
            cmd, idea, forum, viewer, uow=uow, clock=clock, ids=ids, spam=spam
        )
    if store is not None:
        async with uow:
            await store()
            await uow.commit()
    return view


async def _written(
    cmd: AddComment,
    idea: Idea,
    forum: Forum,
    viewer: Viewer,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    spam: SpamFilter,
) -> tuple[CommentView, Callable[[], Awaitable[None]] | None]:
    """The comment written and screened (reading who the poster is in the open unit of work),
    and what stores it in a unit of work, or None when it is dropped as spam."""
    author = require_user(viewer)
    idea.check_open()
    poster = await poster_of(uow, forum, viewer, author)
    now = clock.now()
    comment = Comment.write(
        id=CommentId(ids.new_id()),
        idea_id=idea.id,
        author_id=author.id,
        body=cmd.body,
        source=cmd.source,
        now=now,
    )
    screening = await screen(poster, PostKind.COMMENT, comment.body, cmd.origin, spam=spam)
    comment = replace(comment, moderation=screening.moderation)
    view = CommentView(comment, Author(author.id, author.name))
    if screening.fate is Fate.DROP:
        return view, None

    async def store() -> None:
        await uow.comments.add(comment, now)
        await uow.watches.start(idea.id, author.id)
        await open_case(
            uow,
            screening,
            post_id=comment.id,
            kind=PostKind.COMMENT,
            poster=poster,
            origin=cmd.origin,
            now=now,
        )
        if comment.moderation is Moderation.PUBLISHED:
            await announce_comment(uow, forum, comment, now=now, ids=ids)

    return view, store


async def change_status(
    idea_id: IdeaId,
    status: Status,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    cache: ListCache | None = None,
) -> IdeaView:
    """Move the idea to a new status (staff only); its watchers hear of it."""
    async with uow:
        idea, _, viewer = await open_idea(uow, idea_id, user_id)
        require_staff(viewer)
        if idea.status is not status:
            now = clock.now()
            await uow.ideas.set_status(idea.with_status(status, now))
            await uow.outbox.add(
                Notification(
                    ids.new_id(),
                    NotificationKind.STATUS_CHANGED,
                    now,
                    idea_id=idea.id,
                    actor_id=user_id,
                    payload={"old": idea.status.value, "new": status.value},
                )
            )
        view = await _view(uow, idea.id, user_id)
        await uow.commit()
    forget_kept_pages(cache, idea.forum_id)
    return view


async def merge_ideas(
    idea_id: IdeaId,
    into: IdeaId,
    user_id: UserId | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    cache: ListCache | None = None,
) -> IdeaView:
    """Fold a duplicate into another idea of its forum (staff only); watchers of both hear once."""
    async with uow:
        idea, _, viewer = await open_idea(uow, idea_id, user_id)
        staff = require_user(viewer)
        require_staff(viewer)
        target = await uow.ideas.get(into)
        if target is None:
            raise IdeaNotFound()
        idea.check_merge_into(target)
        now = clock.now()
        await uow.merges.merge(idea, target, staff.id, now)
        for watcher in await uow.watches.watchers(target.id):
            await uow.outbox.add(
                Notification(
                    ids.new_id(),
                    NotificationKind.IDEA_MERGED,
                    now,
                    recipient_id=watcher,
                    idea_id=target.id,
                    actor_id=staff.id,
                    payload={
                        "merged_idea_id": idea.id,
                        "merged_tracker_key": idea.tracker_key or "",
                    },
                )
            )
        view = await _view(uow, target.id, staff.id)
        await uow.commit()
    forget_kept_pages(cache, idea.forum_id)
    return view


@dataclass(frozen=True, slots=True)
class MergePreview:
    """What merging `idea` into `into` would move, for staff to confirm first."""

    idea: IdeaView
    into: IdeaView
    # At most this many: who voted for both ideas keeps one vote on the survivor.
    votes: int
    comments: int
    # People watching the duplicate but not yet the survivor.
    watchers: int


async def preview_merge(
    idea_id: IdeaId, into: IdeaId, user_id: UserId | None, *, uow: UnitOfWork
) -> MergePreview:
    """What a merge would move (staff only); a merge that would be refused is refused here."""
    async with uow:
        idea, _, viewer = await open_idea(uow, idea_id, user_id)
        require_user(viewer)
        require_staff(viewer)
        target = await uow.ideas.get(into)
        if target is None:
            raise IdeaNotFound()
        idea.check_merge_into(target)
        theirs = set(await uow.watches.watchers(target.id))
        watchers = [w for w in await uow.watches.watchers(idea.id) if w not in theirs]
        source_view = await _view(uow, idea.id, user_id)
        target_view = await _view(uow, target.id, user_id)
    return MergePreview(source_view, target_view, idea.votes, idea.comments, len(watchers))


async def unmerge_idea(
    idea_id: IdeaId, user_id: UserId | None, *, uow: UnitOfWork, cache: ListCache | None = None
) -> IdeaView:
    """Take a merged idea back out of its survivor, with what the merge moved (staff only)."""
    async with uow:
        idea, _, viewer = await open_idea(uow, idea_id, user_id)
        staff = require_user(viewer)
        require_staff(viewer)
        target = await uow.ideas.get(idea.merged_into) if idea.merged_into else None
        idea.check_unmerge(target or idea)
        await uow.merges.unmerge(idea)
        view = await _view(uow, idea.id, staff.id)
        await uow.commit()
    forget_kept_pages(cache, idea.forum_id)
    return view
