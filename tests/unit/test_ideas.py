"""Ideas, votes, watches and comments, and the unit of work under them, against the fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from customercase.adapters.fakes.memory import ConstraintViolated, InMemoryUnitOfWork
from customercase.adapters.local.lists import LocalListCache
from customercase.adapters.local.recent import LocalRecentIdeas
from customercase.domain.cursors import encode_cursor
from customercase.domain.errors import (
    EmailTaken,
    ForumNotFound,
    IdeaNotFound,
    InvalidField,
    NotAllowed,
    NotSignedIn,
)
from customercase.domain.ideas import (
    CommentView,
    IdeaQuery,
    IdeaView,
    Page,
    Sort,
    Status,
    check_body,
    check_summary,
)
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.notifications import NotificationKind
from customercase.domain.trending import COMMENT_WEIGHT, heat_of
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Role, Visibility
from customercase.services.ideas import (
    AddComment,
    SubmitIdea,
    add_comment,
    change_status,
    get_idea,
    list_comments,
    list_ideas,
    set_watching,
    submit_idea,
    unvote,
    vote,
)
from tests import strategies
from tests.builders import NOW, World, a_user, an_idea

PROPERTIES = settings(max_examples=40, deadline=None)


@pytest.fixture
def world() -> World:
    return World()


async def submitted(
    world: World, forum: Forum, author: User, summary: str = "Dark mode for the editor"
) -> IdeaView:
    return await submit_idea(
        SubmitIdea(forum.id, author.id, summary),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )


async def commented(
    world: World, idea_id: IdeaId, author: User, body: str = "Yes please"
) -> CommentView:
    return await add_comment(
        AddComment(idea_id, author.id, body),
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
        spam=world.spam,
    )


async def listed(
    world: World, forum: Forum, viewer: User | None = None, **query: Any
) -> Page[IdeaView]:
    return await list_ideas(
        IdeaQuery(forum.id, **query), viewer.id if viewer else None, uow=world.uow
    )


def ids_of(page: Page[IdeaView]) -> list[IdeaId]:
    return [view.idea.id for view in page.items]


async def test_submitted_idea_is_open_and_dated_now(world: World) -> None:
    forum, author = await world.forum(), await world.user()

    view = await submitted(world, forum, author, summary="  Dark   mode ")

    stored = world.store.tables.ideas[view.idea.id]
    assert (stored.summary, stored.status, stored.created_at) == (
        "Dark mode",
        Status.OPEN,
        world.clock.now(),
    )


async def test_submitting_an_idea_makes_its_author_vote_for_it(world: World) -> None:
    forum, author = await world.forum(), await world.user()

    view = await submitted(world, forum, author)

    assert view.voted_by_me
    assert world.store.tables.ideas[view.idea.id].votes == 1


async def test_submitting_an_idea_makes_its_author_watch_it(world: World) -> None:
    forum, author = await world.forum(), await world.user()

    view = await submitted(world, forum, author)

    assert view.watching
    assert world.store.tables.watches[view.idea.id, author.id] is True


async def test_anonymous_cannot_submit_an_idea(world: World) -> None:
    forum = await world.forum()

    with pytest.raises(NotSignedIn):
        await submit_idea(
            SubmitIdea(forum.id, None, "Dark mode"),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            spam=world.spam,
        )


async def test_outsider_cannot_submit_to_a_private_forum(world: World) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    outsider = await world.user(email_verified=True)

    with pytest.raises(ForumNotFound):
        await submitted(world, forum, outsider)


async def test_idea_with_a_too_short_summary_names_the_summary_and_stores_nothing(
    world: World,
) -> None:
    forum, author = await world.forum(), await world.user()

    with pytest.raises(InvalidField) as error:
        await submitted(world, forum, author, summary=" x ")

    assert error.value.field == "summary"
    assert world.store.tables.ideas == {}


async def test_voting_adds_the_voter(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    view = await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)

    assert (view.idea.votes, view.voted_by_me) == (1, True)


async def test_voting_twice_leaves_one_vote(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)
    await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)

    assert world.store.tables.ideas[idea.id].votes == 1
    assert list(world.store.tables.votes) == [(idea.id, voter.id)]


async def test_unvoting_withdraws_the_vote(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)
    await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)

    view = await unvote(idea.id, voter.id, uow=world.uow)

    assert (view.idea.votes, view.voted_by_me) == (0, False)


async def test_unvoting_without_a_vote_changes_nothing(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    view = await unvote(idea.id, voter.id, uow=world.uow)

    assert view.idea.votes == 0


async def test_a_vote_warms_the_idea_by_its_weight_now(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)

    assert world.store.tables.heat[idea.id] == heat_of(world.clock.now())


async def test_a_withdrawn_vote_takes_back_the_weight_it_was_cast_with(world: World) -> None:
    forum, author, voter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)
    await vote(idea.id, voter.id, uow=world.uow, clock=world.clock)
    world.clock.advance(days=30)

    await unvote(idea.id, voter.id, uow=world.uow)

    assert world.store.tables.heat[idea.id] == 0.0


async def test_anonymous_cannot_vote(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(NotSignedIn):
        await vote(idea.id, None, uow=world.uow, clock=world.clock)


async def test_voting_in_a_private_forum_one_cannot_see_is_idea_not_found(world: World) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    author, outsider = await world.user(), await world.user(email_verified=True)
    idea = await world.idea(forum, author)

    with pytest.raises(IdeaNotFound):
        await vote(idea.id, outsider.id, uow=world.uow, clock=world.clock)


async def test_voting_for_an_unknown_idea_is_idea_not_found(world: World) -> None:
    voter = await world.user()

    with pytest.raises(IdeaNotFound):
        await vote(IdeaId("nowhere"), voter.id, uow=world.uow, clock=world.clock)


async def test_unwatching_sticks_even_after_commenting(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await submitted(world, forum, author)
    await set_watching(idea.idea.id, author.id, False, uow=world.uow)

    await commented(world, idea.idea.id, author)

    assert world.store.tables.watches[idea.idea.id, author.id] is False


async def test_commenting_makes_the_commenter_watch(world: World) -> None:
    forum, author, commenter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    await commented(world, idea.id, commenter)

    assert (await get_idea(idea.id, commenter.id, uow=world.uow)).watching


async def test_watching_again_after_unwatching_resumes(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await submitted(world, forum, author)
    await set_watching(idea.idea.id, author.id, False, uow=world.uow)

    await set_watching(idea.idea.id, author.id, True, uow=world.uow)

    assert (await get_idea(idea.idea.id, author.id, uow=world.uow)).watching


async def test_anonymous_viewer_neither_votes_nor_watches(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await submitted(world, forum, author)

    view = await get_idea(idea.idea.id, None, uow=world.uow)

    assert (view.voted_by_me, view.watching) == (False, False)


async def test_idea_shows_its_authors_name(world: World) -> None:
    forum, author = await world.forum(), await world.user(name="Ada Lovelace")
    idea = await submitted(world, forum, author)

    view = await get_idea(idea.idea.id, None, uow=world.uow)

    assert (view.author.id, view.author.name) == (author.id, "Ada Lovelace")


async def test_a_comment_is_counted_on_its_idea(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    await commented(world, idea.id, author)

    assert world.store.tables.ideas[idea.id].comments == 1


async def test_a_comment_warms_the_idea_more_than_a_vote(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    await commented(world, idea.id, author)

    assert world.store.tables.heat[idea.id] == COMMENT_WEIGHT * heat_of(world.clock.now())


async def test_empty_comment_names_the_body(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(InvalidField) as error:
        await commented(world, idea.id, author, body="  \n ")

    assert error.value.field == "body"


async def test_anonymous_cannot_comment(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(NotSignedIn):
        await add_comment(
            AddComment(idea.id, None, "Yes"),
            uow=world.uow,
            clock=world.clock,
            ids=world.ids,
            spam=world.spam,
        )


async def test_comments_come_oldest_first_a_page_at_a_time(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)
    posted = []
    for n in range(5):
        world.clock.advance(60)
        posted.append((await commented(world, idea.id, author, body=f"Comment {n}")).comment.id)

    pages, cursor = [], None
    while True:
        page = await list_comments(idea.id, None, 2, cursor, uow=world.uow)
        pages.append([view.comment.id for view in page.items])
        if (cursor := page.next_cursor) is None:
            break

    assert pages == [posted[0:2], posted[2:4], posted[4:5]]


async def test_comments_posted_at_the_same_moment_page_in_id_order(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)
    posted = [(await commented(world, idea.id, author)).comment.id for _ in range(3)]
    first = await list_comments(idea.id, None, 2, None, uow=world.uow)

    second = await list_comments(idea.id, None, 2, first.next_cursor, uow=world.uow)

    assert [v.comment.id for v in first.items + second.items] == sorted(posted)


async def test_comment_cursor_that_is_not_one_names_the_cursor(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(InvalidField) as error:
        await list_comments(idea.id, None, 2, encode_cursor([1, 2]), uow=world.uow)

    assert error.value.field == "cursor"


async def test_comments_of_a_private_idea_are_not_found_by_outsiders(world: World) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    author, outsider = await world.user(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(IdeaNotFound):
        await list_comments(idea.id, outsider.id, 10, None, uow=world.uow)


async def test_top_lists_the_most_voted_first(world: World) -> None:
    forum, author, fan = await world.forum(), await world.user(), await world.user()
    liked = await world.idea(forum, author, created_at=NOW - timedelta(days=1))
    ignored = await world.idea(forum, author)
    await vote(liked.id, fan.id, uow=world.uow, clock=world.clock)

    page = await listed(world, forum, sort=Sort.TOP)

    assert ids_of(page) == [liked.id, ignored.id]


async def test_top_lists_equal_votes_newest_first(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    older = await world.idea(forum, author, created_at=NOW - timedelta(days=1))
    newer = await world.idea(forum, author, created_at=NOW)

    page = await listed(world, forum, sort=Sort.TOP)

    assert ids_of(page) == [newer.id, older.id]


async def test_new_lists_the_newest_first_whatever_the_votes(world: World) -> None:
    forum, author, fan = await world.forum(), await world.user(), await world.user()
    older = await world.idea(forum, author, created_at=NOW - timedelta(days=1))
    newer = await world.idea(forum, author, created_at=NOW)
    await vote(older.id, fan.id, uow=world.uow, clock=world.clock)

    page = await listed(world, forum, sort=Sort.NEW)

    assert ids_of(page) == [newer.id, older.id]


async def test_trending_lists_recent_activity_before_old_popularity(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    fans = [await world.user() for _ in range(3)]
    once_popular = await world.idea(forum, author)
    lately_liked = await world.idea(forum, author)
    for fan in fans:
        await vote(once_popular.id, fan.id, uow=world.uow, clock=world.clock)
    world.clock.advance(days=28)
    await vote(lately_liked.id, fans[0].id, uow=world.uow, clock=world.clock)

    page = await listed(world, forum, sort=Sort.TRENDING)

    assert ids_of(page) == [lately_liked.id, once_popular.id]


async def test_status_filter_lists_only_ideas_in_that_status(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    planned = await world.idea(forum, author, status=Status.PLANNED)
    await world.idea(forum, author, status=Status.OPEN)

    page = await listed(world, forum, status=Status.PLANNED)

    assert ids_of(page) == [planned.id]


async def test_text_filter_needs_every_word_in_any_case(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    both = await world.idea(forum, author, summary="Dark mode for the Editor")
    await world.idea(forum, author, summary="Dark mode for the terminal")

    page = await listed(world, forum, text="  editor DARK ")

    assert ids_of(page) == [both.id]


async def test_text_filter_finds_words_inside_words(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author, summary="Dark-mode everywhere")

    page = await listed(world, forum, text="mode")

    assert ids_of(page) == [idea.id]


async def test_text_without_a_word_is_no_query_and_lists_every_idea(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author, summary="Dark mode")

    page = await listed(world, forum, text='% -!? ""')

    assert ids_of(page) == [idea.id]


async def test_merged_ideas_are_not_listed(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    survivor = await world.idea(forum, author)
    await world.idea(forum, author, merged_into=survivor.id)

    page = await listed(world, forum)

    assert ids_of(page) == [survivor.id]


async def test_ideas_of_other_forums_are_not_listed(world: World) -> None:
    forum, elsewhere, author = await world.forum(), await world.forum(), await world.user()
    await world.idea(elsewhere, author)

    page = await listed(world, forum)

    assert page.items == []


async def test_listing_shows_which_ideas_i_voted_for(world: World) -> None:
    forum, author, me = await world.forum(), await world.user(), await world.user()
    mine = await world.idea(forum, author, created_at=NOW)
    other = await world.idea(forum, author, created_at=NOW - timedelta(hours=1))
    await vote(mine.id, me.id, uow=world.uow, clock=world.clock)

    page = await listed(world, forum, viewer=me, sort=Sort.NEW)

    assert [(v.idea.id, v.voted_by_me) for v in page.items] == [(mine.id, True), (other.id, False)]


async def test_a_signed_in_viewer_of_a_kept_page_sees_fresh_counts_and_their_own_marks(
    world: World,
) -> None:
    forum, author, me = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)
    cache = LocalListCache(60)
    query = IdeaQuery(forum.id)
    await list_ideas(query, None, uow=world.uow, cache=cache)
    await vote(idea.id, me.id, uow=world.uow, clock=world.clock)

    mine = await list_ideas(query, me.id, uow=world.uow, cache=cache)
    anyones = await list_ideas(query, None, uow=world.uow, cache=cache)

    assert [(v.idea.votes, v.voted_by_me) for v in mine.items] == [(1, True)]
    assert [(v.idea.votes, v.voted_by_me) for v in anyones.items] == [(0, False)]


async def test_a_signed_in_viewer_never_leaves_their_marks_on_the_kept_page(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    await submitted(world, forum, author)
    cache = LocalListCache(60)
    query = IdeaQuery(forum.id)

    mine = await list_ideas(query, author.id, uow=world.uow, cache=cache)
    kept = cache.get(query)

    assert [(v.voted_by_me, v.watching) for v in mine.items] == [(True, True)]
    assert kept is not None and [(v.voted_by_me, v.watching) for v in kept.items] == [
        (False, False)
    ]


async def test_an_idea_gone_since_the_page_was_kept_is_left_out_for_a_signed_in_viewer(
    world: World,
) -> None:
    forum, author, me = await world.forum(), await world.user(), await world.user()
    kept, gone = await world.idea(forum, author), await world.idea(forum, author)
    cache = LocalListCache(60)
    query = IdeaQuery(forum.id)
    await list_ideas(query, None, uow=world.uow, cache=cache)
    del world.store.tables.ideas[gone.id]

    page = await list_ideas(query, me.id, uow=world.uow, cache=cache)

    assert ids_of(page) == [kept.id]


async def test_ideas_page_through_with_the_cursor(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    ideas = [
        await world.idea(forum, author, created_at=NOW + timedelta(minutes=n)) for n in range(3)
    ]
    first = await listed(world, forum, sort=Sort.NEW, limit=2)

    second = await listed(world, forum, sort=Sort.NEW, limit=2, after=first.next_cursor)

    assert (ids_of(first), ids_of(second), second.next_cursor) == (
        [ideas[2].id, ideas[1].id],
        [ideas[0].id],
        None,
    )


async def test_cursor_of_another_order_names_the_cursor(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    for _ in range(2):
        await world.idea(forum, author)
    top = await listed(world, forum, sort=Sort.TOP, limit=1)

    with pytest.raises(InvalidField) as error:
        await listed(world, forum, sort=Sort.NEW, after=top.next_cursor)

    assert error.value.field == "cursor"


async def test_page_of_more_than_a_hundred_ideas_names_the_limit(world: World) -> None:
    forum = await world.forum()

    with pytest.raises(InvalidField) as error:
        await listed(world, forum, limit=101)

    assert error.value.field == "limit"


async def test_ideas_of_a_private_forum_are_not_found_by_outsiders(world: World) -> None:
    forum = await world.forum(visibility=Visibility.PRIVATE)
    outsider = await world.user()

    with pytest.raises(ForumNotFound):
        await listed(world, forum, viewer=outsider)


async def test_staff_can_change_an_ideas_status(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    agent = await world.staff(forum.vendor_id, Role.AGENT)
    idea = await world.idea(forum, author)
    later = world.clock.advance(hours=1)

    await change_status(
        idea.id,
        Status.PLANNED,
        agent.id,
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
    )

    stored = world.store.tables.ideas[idea.id]
    assert (stored.status, stored.updated_at) == (Status.PLANNED, later)


async def test_customer_cannot_change_an_ideas_status(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(NotAllowed):
        await change_status(
            idea.id, Status.DONE, author.id, uow=world.uow, clock=world.clock, ids=world.ids
        )


async def test_a_status_change_is_announced_to_the_watchers(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    admin = await world.staff(forum.vendor_id)
    idea = await world.idea(forum, author)

    await change_status(
        idea.id,
        Status.DONE,
        admin.id,
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
    )

    [note] = world.store.tables.outbox.values()
    assert (note.kind, note.idea_id, note.actor_id, note.payload) == (
        NotificationKind.STATUS_CHANGED,
        idea.id,
        admin.id,
        {"old": "open", "new": "done"},
    )


async def test_setting_the_status_an_idea_has_announces_nothing(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    admin = await world.staff(forum.vendor_id)
    idea = await world.idea(forum, author, status=Status.PLANNED)

    await change_status(
        idea.id,
        Status.PLANNED,
        admin.id,
        uow=world.uow,
        clock=world.clock,
        ids=world.ids,
    )

    assert world.store.tables.outbox == {}


async def test_a_submitted_idea_is_announced_to_its_author(world: World) -> None:
    forum, author = await world.forum(), await world.user()

    view = await submitted(world, forum, author)

    [note] = world.store.tables.outbox.values()
    assert (note.kind, note.recipient_id, note.idea_id) == (
        NotificationKind.REQUEST_SUBMITTED,
        author.id,
        view.idea.id,
    )


async def test_a_comment_is_announced_once_for_the_worker_to_fan_out(world: World) -> None:
    forum, author, commenter = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)

    view = await commented(world, idea.id, commenter)

    [note] = world.store.tables.outbox.values()
    assert (note.kind, note.idea_id, note.actor_id, note.payload) == (
        NotificationKind.NEW_COMMENT,
        idea.id,
        commenter.id,
        {"comment_id": view.comment.id},
    )


async def test_leaving_a_unit_of_work_without_commit_leaves_the_store_unchanged(
    world: World,
) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)
    before = world.store.tables.copy()

    async with world.uow as uow:
        await uow.votes.add(idea.id, author.id, NOW)
        await uow.watches.set(idea.id, author.id, False)

    assert world.store.tables == before
    assert not world.uow.committed


async def test_an_error_inside_a_unit_of_work_leaves_the_store_unchanged(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)
    before = world.store.tables.copy()

    with pytest.raises(RuntimeError):
        async with world.uow as uow:
            await uow.votes.add(idea.id, author.id, NOW)
            raise RuntimeError("the use case failed half-way")

    assert world.store.tables == before


async def test_a_unit_of_work_reads_its_own_writes_before_commit(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    async with world.uow as uow:
        await uow.votes.add(idea.id, author.id, NOW)
        seen = await uow.ideas.get(idea.id)

    assert seen is not None and seen.votes == 1


async def test_writes_after_a_commit_need_a_commit_of_their_own(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    async with world.uow as uow:
        await uow.votes.add(idea.id, author.id, NOW)
        await uow.commit()
        await uow.watches.set(idea.id, author.id, True)

    assert (idea.id, author.id) in world.store.tables.votes
    assert world.store.tables.watches == {}


async def test_interleaved_units_of_work_both_land(world: World) -> None:
    forum, author, other = await world.forum(), await world.user(), await world.user()
    idea = await world.idea(forum, author)
    first, second = InMemoryUnitOfWork(world.store), InMemoryUnitOfWork(world.store)

    async with first, second:
        await first.votes.add(idea.id, author.id, NOW)
        await second.votes.add(idea.id, other.id, NOW)
        await first.commit()
        await second.commit()

    assert world.store.tables.ideas[idea.id].votes == 2


async def test_of_two_interleaved_sign_ups_with_one_email_only_the_first_lands(
    world: World,
) -> None:
    first, second = InMemoryUnitOfWork(world.store), InMemoryUnitOfWork(world.store)
    ada, impostor = a_user(email="ada@example.org"), a_user(email="ada@example.org")

    async with first, second:
        await first.users.add(ada)
        await second.users.add(impostor)
        await first.commit()
        with pytest.raises(EmailTaken):
            await second.commit()

    assert list(world.store.tables.users.values()) == [ada]


async def test_a_vote_by_an_unknown_user_violates_a_constraint(world: World) -> None:
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    with pytest.raises(ConstraintViolated):
        async with world.uow as uow:
            await uow.votes.add(idea.id, UserId("nobody"), NOW)


async def test_a_repository_kept_past_its_block_refuses_to_work(world: World) -> None:
    async with world.uow as uow:
        users = uow.users

    with pytest.raises(RuntimeError):
        await users.get(UserId("anyone"))


async def a_forum_with_ideas(world: World) -> tuple[list[User], list[IdeaId]]:
    forum = await world.forum()
    users = [await world.user() for _ in range(strategies.USERS)]
    ideas = [(await world.idea(forum, users[0])).id for _ in range(strategies.IDEAS)]
    return users, ideas


async def act(world: World, action: str, user: User, idea_id: IdeaId) -> None:
    world.clock.advance(minutes=7)
    if action == "vote":
        await vote(idea_id, user.id, uow=world.uow, clock=world.clock)
    elif action == "unvote":
        await unvote(idea_id, user.id, uow=world.uow)
    elif action == "comment":
        await commented(world, idea_id, user)
    else:
        await set_watching(idea_id, user.id, action == "watch", uow=world.uow)


@PROPERTIES
@given(strategies.actions)
async def test_any_actions_leave_every_vote_counter_equal_to_its_votes(
    actions: list[tuple[str, int, int]],
) -> None:
    world = World()
    users, ideas = await a_forum_with_ideas(world)

    for action, who, which in actions:
        await act(world, action, users[who], ideas[which])

    tables = world.store.tables
    for idea_id in ideas:
        assert tables.ideas[idea_id].votes == sum(1 for (i, _) in tables.votes if i == idea_id)


@PROPERTIES
@given(strategies.actions)
async def test_any_actions_leave_every_comment_counter_equal_to_its_comments(
    actions: list[tuple[str, int, int]],
) -> None:
    world = World()
    users, ideas = await a_forum_with_ideas(world)

    for action, who, which in actions:
        await act(world, action, users[who], ideas[which])

    tables = world.store.tables
    for idea_id in ideas:
        assert tables.ideas[idea_id].comments == sum(
            1 for c in tables.comments.values() if c.idea_id == idea_id
        )


@PROPERTIES
@given(strategies.actions)
async def test_any_actions_leave_every_heat_equal_to_the_weight_of_its_votes_and_comments(
    actions: list[tuple[str, int, int]],
) -> None:
    world = World()
    users, ideas = await a_forum_with_ideas(world)

    for action, who, which in actions:
        await act(world, action, users[who], ideas[which])

    tables = world.store.tables
    for idea_id in ideas:
        votes = sum(heat_of(at) for (i, _), at in tables.votes.items() if i == idea_id)
        comments = sum(
            COMMENT_WEIGHT * heat_of(c.created_at)
            for c in tables.comments.values()
            if c.idea_id == idea_id
        )
        assert tables.heat[idea_id] == pytest.approx(votes + comments, abs=1e-9)


@PROPERTIES
@given(strategies.actions)
async def test_any_actions_leave_each_user_watching_as_they_last_chose(
    actions: list[tuple[str, int, int]],
) -> None:
    world = World()
    users, ideas = await a_forum_with_ideas(world)
    chosen: dict[tuple[IdeaId, UserId], bool] = {}

    for action, who, which in actions:
        await act(world, action, users[who], ideas[which])
        if action in ("watch", "unwatch"):
            chosen[ideas[which], users[who].id] = action == "watch"

    watches = world.store.tables.watches
    assert all(watches[key] is watching for key, watching in chosen.items())


@PROPERTIES
@given(strategies.summaries)
async def test_any_summary_reads_back_exactly_as_checked(summary: str) -> None:
    world = World()
    forum, author = await world.forum(), await world.user()

    view = await submitted(world, forum, author, summary=summary)

    read = await get_idea(view.idea.id, None, uow=world.uow)
    assert read.idea.summary == check_summary(summary)


@PROPERTIES
@given(strategies.bodies)
async def test_any_comment_body_reads_back_exactly_as_checked(body: str) -> None:
    world = World()
    forum, author = await world.forum(), await world.user()
    idea = await world.idea(forum, author)

    await commented(world, idea.id, author, body=body)

    page = await list_comments(idea.id, None, 10, None, uow=world.uow)
    assert [view.comment.body for view in page.items] == [check_body(body)]


@PROPERTIES
@given(
    strategies.listed_ideas, strategies.sorts, strategies.page_sizes, strategies.optional_statuses
)
async def test_walking_the_pages_gives_every_idea_once_in_the_order_of_one_page(
    specs: list[tuple[int, int, Status]], sort: Sort, limit: int, status: Status | None
) -> None:
    world = World()
    forum = await world.forum()
    users = [await world.user() for _ in range(strategies.USERS)]
    ideas = [
        an_idea(
            forum_id=forum.id,
            author_id=users[0].id,
            status=idea_status,
            created_at=NOW + timedelta(hours=hour),
        )
        for _, hour, idea_status in specs
    ]
    await world.add(*ideas)
    async with world.uow as uow:
        for idea, (voters, _, _) in zip(ideas, specs, strict=True):
            for voter in users[:voters]:
                await uow.votes.add(idea.id, voter.id, idea.created_at)
        await uow.commit()
    everything = await listed(world, forum, sort=sort, status=status, limit=100)

    walked: list[IdeaId] = []
    page = await listed(world, forum, sort=sort, status=status, limit=limit)
    walked += ids_of(page)
    while page.next_cursor is not None and len(walked) <= len(ideas):
        page = await listed(
            world, forum, sort=sort, status=status, limit=limit, after=page.next_cursor
        )
        walked += ids_of(page)

    assert walked == ids_of(everything)
    assert sorted(walked) == sorted(i.id for i in ideas if status in (None, i.status))


async def test_a_vote_on_a_kept_idea_is_judged_again_once_its_forum_turned_private(
    world: World,
) -> None:
    forum = await world.forum()
    author, voter, outsider = await world.user(), await world.user(), await world.user()
    idea = await world.idea(forum, author)
    recent = LocalRecentIdeas(60)
    await get_idea(idea.id, voter.id, uow=world.uow, recent=recent)

    kept = await vote(idea.id, voter.id, uow=world.uow, clock=world.clock, recent=recent)
    async with world.uow as uow:
        await uow.forums.update(replace(forum, visibility=Visibility.PRIVATE))
        await uow.commit()

    assert kept.voted_by_me and kept.idea.votes == 1
    with pytest.raises(IdeaNotFound):
        await vote(idea.id, outsider.id, uow=world.uow, clock=world.clock, recent=recent)
    with pytest.raises(IdeaNotFound):
        await unvote(idea.id, voter.id, uow=world.uow, recent=recent)
    async with world.uow.read_only() as uow:
        still = await uow.ideas.get(idea.id)
    assert still is not None and still.votes == 1
