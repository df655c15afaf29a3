"""Votes judged on an idea this process read moments ago (RecentIdeas), and the idea, its forum
or the voter changing in between.

A vote on an idea kept from an earlier read (the idea page, another vote) is cast without a
read of its own: on PostgreSQL one call (cast_judged_vote / withdraw_judged_vote) locks the idea
and writes only if what the judgement rested on still holds; on SQLite the writer's read checks
it. Either way the request must answer as if it had been judged afresh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from customercase.adapters.local.recent import LocalRecentIdeas
from customercase.adapters.sql import tables as t
from customercase.adapters.sql.repositories import SqlIdeaRepository
from customercase.bootstrap import Container
from customercase.domain.errors import IdeaMerged, IdeaNotFound, NotSignedIn
from customercase.domain.ideas import IdeaView
from customercase.domain.ids import IdeaId, UserId
from customercase.domain.trending import heat_of
from customercase.services import ideas
from tests.integration.seed import Seeded, forum_with_idea


@pytest.fixture
def recent() -> LocalRecentIdeas:
    return LocalRecentIdeas(60)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[IdeaId]:
    """The ideas opened (read for a viewer) from now on, in order."""
    calls: list[IdeaId] = []
    original = SqlIdeaRepository.opened

    async def counted(self: Any, idea_id: IdeaId, *args: Any, **kwargs: Any) -> Any:
        calls.append(idea_id)
        return await original(self, idea_id, *args, **kwargs)

    monkeypatch.setattr(SqlIdeaRepository, "opened", counted)
    return calls


def _vote(container: Container, idea_id: IdeaId, user: UserId, recent: Any) -> Any:
    return ideas.vote(idea_id, user, uow=container.uow(), clock=container.clock(), recent=recent)


def _unvote(container: Container, idea_id: IdeaId, user: UserId, recent: Any) -> Any:
    return ideas.unvote(idea_id, user, uow=container.uow(), recent=recent)


async def _kept(container: Container, seeded: Seeded, recent: Any, reader: UserId) -> None:
    """The idea read as the idea page reads it, and kept."""
    await ideas.get_idea(seeded.idea_id, reader, uow=container.uow(), recent=recent)
    assert recent.get(seeded.idea_id) is not None


async def _elsewhere(container: Container, *stmts: Any) -> None:
    async with container.engine().begin() as conn:
        for stmt in stmts:
            await conn.execute(stmt)


async def _state(container: Container, idea_id: IdeaId) -> tuple[int, int, float]:
    """The idea's vote counter, its vote rows, and its heat."""
    async with container.engine().connect() as conn:
        votes, heat = (
            await conn.execute(
                sa.select(t.ideas.c.votes, t.ideas.c.heat).where(t.ideas.c.id == idea_id)
            )
        ).one()
        rows = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.votes).where(t.votes.c.idea_id == idea_id)
        )
    return votes, int(rows or 0), heat


def _idea_row(seeded: Seeded) -> Any:
    return t.ideas.update().where(t.ideas.c.id == seeded.idea_id)


async def test_votes_on_a_kept_idea_need_no_read_and_keep_the_counters_exact(
    container: Container, recent: LocalRecentIdeas, opened: list[IdeaId]
) -> None:
    seeded = await forum_with_idea(container, 2)
    first, second = seeded.users
    await _kept(container, seeded, recent, first)
    opened.clear()

    mine = await _vote(container, seeded.idea_id, first, recent)
    theirs = await _vote(container, seeded.idea_id, second, recent)
    again = await _vote(container, seeded.idea_id, first, recent)  # voting again: nothing moves

    assert (mine.voted_by_me, mine.idea.votes) == (True, 1)
    assert (theirs.voted_by_me, theirs.idea.votes) == (True, 2)  # the counter as it is now
    assert (again.voted_by_me, again.idea.votes) == (True, 2)
    assert mine.author.name == "U0" and mine.idea.summary == "Seeded idea"
    if container.engine().dialect.name == "postgresql":
        assert opened == []  # one call each, no read (SQLite's writer reads: no round trips)

    withdrawn = await _unvote(container, seeded.idea_id, first, recent)
    assert (withdrawn.voted_by_me, withdrawn.idea.votes) == (False, 1)
    await _unvote(container, seeded.idea_id, second, recent)
    nothing = await _unvote(container, seeded.idea_id, second, recent)

    assert (nothing.voted_by_me, nothing.idea.votes) == (False, 0)
    votes, rows, heat = await _state(container, seeded.idea_id)
    assert (votes, rows) == (0, 0)
    # Each withdrawal took back the heat its vote gave: what is left is the rounding of
    # floating-point sums of weights ~2**47 (an ulp or so), not a vote's weight.
    assert abs(heat) < heat_of(datetime.now(UTC)) * 1e-12


async def test_the_answer_shows_a_watch_started_after_the_idea_was_kept(
    container: Container, recent: LocalRecentIdeas
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter = seeded.users[0]
    await _kept(container, seeded, recent, voter)
    await ideas.set_watching(seeded.idea_id, voter, True, uow=container.uow())

    view: IdeaView = await _vote(container, seeded.idea_id, voter, recent)

    assert view.voted_by_me and view.watching


def _merged(seeded: Seeded, other: Seeded) -> Any:
    return _idea_row(seeded).values(merged_into=other.idea_id)


def _rejected(seeded: Seeded, other: Seeded) -> Any:
    return _idea_row(seeded).values(moderation="rejected")


def _turned_private(seeded: Seeded, other: Seeded) -> Any:
    return t.forums.update().where(t.forums.c.id == seeded.forum_id).values(visibility="private")


def _vendor_deleted(seeded: Seeded, other: Seeded) -> Any:
    vendor_id = sa.select(t.forums.c.vendor_id).where(t.forums.c.id == seeded.forum_id)
    return (
        t.vendors.update()
        .where(t.vendors.c.id == vendor_id.scalar_subquery())
        .values(deleted_at=datetime.now(UTC))
    )


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (_merged, IdeaMerged),  # 409, as for a vote that came after the merge
        (_rejected, IdeaNotFound),
        (_turned_private, IdeaNotFound),  # the voter is an outsider of the private forum
        (_vendor_deleted, IdeaNotFound),
    ],
)
async def test_a_vote_on_a_kept_idea_changed_since_answers_as_judged_afresh_and_writes_nothing(
    container: Container, recent: LocalRecentIdeas, change: Any, refusal: type[Exception]
) -> None:
    seeded = await forum_with_idea(container, 1)
    other = await forum_with_idea(container, 0)
    await _kept(container, seeded, recent, seeded.users[0])
    await _elsewhere(container, change(seeded, other))

    with pytest.raises(refusal):
        await _vote(container, seeded.idea_id, seeded.users[0], recent)

    assert await _state(container, seeded.idea_id) == (0, 0, 0.0)


async def test_a_held_idea_kept_from_its_authors_read_takes_no_one_elses_vote(
    container: Container, recent: LocalRecentIdeas
) -> None:
    seeded = await forum_with_idea(container, 1)
    async with container.engine().connect() as conn:
        author = UserId(
            await conn.scalar(sa.select(t.ideas.c.author_id).where(t.ideas.c.id == seeded.idea_id))
        )
    await _elsewhere(container, _idea_row(seeded).values(moderation="held"))
    await _kept(container, seeded, recent, author)  # the author sees their held idea

    with pytest.raises(IdeaNotFound):  # to anyone else it is absent
        await _vote(container, seeded.idea_id, seeded.users[0], recent)
    assert await _state(container, seeded.idea_id) == (0, 0, 0.0)

    await _elsewhere(container, _idea_row(seeded).values(moderation="published"))
    view = await _vote(container, seeded.idea_id, author, recent)  # kept as held: judged again

    assert view.voted_by_me and view.idea.votes == 1
    assert (await _state(container, seeded.idea_id))[:2] == (1, 1)


async def test_a_vote_cast_before_weights_were_recorded_is_withdrawn_exactly(
    container: Container, recent: LocalRecentIdeas
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter = seeded.users[0]
    cast_at = datetime.now(UTC)
    await _elsewhere(  # as a vote cast by the previous release left it: no weight
        container,
        t.votes.insert().values(idea_id=seeded.idea_id, user_id=voter, created_at=cast_at),
        _idea_row(seeded).values(votes=t.ideas.c.votes + 1, heat=t.ideas.c.heat + heat_of(cast_at)),
    )
    await _kept(container, seeded, recent, voter)

    view = await _unvote(container, seeded.idea_id, voter, recent)

    assert (view.voted_by_me, view.idea.votes) == (False, 0)
    assert await _state(container, seeded.idea_id) == (0, 0, 0.0)


async def test_a_voter_whose_account_was_deleted_since_is_not_signed_in(
    container: Container, recent: LocalRecentIdeas
) -> None:
    seeded = await forum_with_idea(container, 1)
    voter = seeded.users[0]
    await _kept(container, seeded, recent, voter)
    await _elsewhere(container, t.users.delete().where(t.users.c.id == voter))

    with pytest.raises(NotSignedIn):
        await _vote(container, seeded.idea_id, voter, recent)

    assert await _state(container, seeded.idea_id) == (0, 0, 0.0)
