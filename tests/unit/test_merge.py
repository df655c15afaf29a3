"""Merging and unmerging duplicates on the fake unit of work, as the SQL adapter does them."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customercase.adapters.fakes.memory import ConstraintViolated
from customercase.domain.ideas import Idea
from customercase.domain.ids import IdeaId
from customercase.domain.spam import Moderation
from customercase.domain.trending import heat_of
from customercase.domain.users import User
from customercase.services.ideas import (
    AddComment,
    add_comment,
    merge_ideas,
    set_watching,
    unmerge_idea,
    unvote,
    vote,
)
from tests.builders import NOW, World, a_comment

PEOPLE = 4
HALF_LIFE = 7.0


@pytest.fixture
def world() -> World:
    return World(HALF_LIFE)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["source", "target"]),
        st.integers(0, PEOPLE - 1),
        st.sampled_from(["vote", "unvote", "comment", "held comment", "watch", "unwatch"]),
    ),
    max_size=20,
)


def _state(world: World, idea_ids: list[IdeaId]) -> dict[str, Any]:
    """Every row and counter a merge may touch, comparable with ==."""
    db = world.store.tables
    return {
        "votes": sorted((i, u, at) for (i, u), at in db.votes.items() if i in idea_ids),
        "comments": sorted(
            (c.idea_id, c.id, c.moderation) for c in db.comments.values() if c.idea_id in idea_ids
        ),
        "watches": sorted((i, u, w) for (i, u), w in db.watches.items() if i in idea_ids),
        "counters": {
            i: (db.ideas[i].votes, db.ideas[i].comments, db.ideas[i].merged_into) for i in idea_ids
        },
        "heat": {i: db.heat[i] for i in idea_ids},
    }


def _counters_match_rows(state: dict[str, Any]) -> bool:
    for idea_id, (votes, comments, _) in state["counters"].items():
        if votes != sum(1 for v in state["votes"] if v[0] == idea_id):
            return False
        published = [c for c in state["comments"] if c[0] == idea_id and c[2] == "published"]
        if comments != len(published):
            return False
    return True


async def _pair(world: World) -> tuple[User, list[User], Idea, Idea]:
    """Staff, some people, and two ideas of one forum: a duplicate and its survivor."""
    forum = await world.forum()
    staff = await world.staff(forum.vendor_id)
    people = [await world.user() for _ in range(PEOPLE)]
    source = await world.idea(forum, people[0], summary="Dark mode please")
    target = await world.idea(forum, people[0], summary="Dark mode for the dashboard")
    return staff, people, source, target


async def _act(world: World, idea_id: IdeaId, user: User, action: str) -> None:
    if action == "vote":
        await vote(idea_id, user.id, uow=world.uow, clock=world.clock)
    elif action == "unvote":
        await unvote(idea_id, user.id, uow=world.uow)
    elif action == "comment":
        cmd = AddComment(idea_id, user.id, "A comment")
        await add_comment(cmd, uow=world.uow, clock=world.clock, ids=world.ids, spam=world.spam)
    elif action == "held comment":
        held = a_comment(idea_id=idea_id, author_id=user.id, moderation=Moderation.HELD)
        await world.add(held)
    else:
        await set_watching(idea_id, user.id, action == "watch", uow=world.uow)


async def _merge(world: World, source: Idea, target: Idea, staff: User) -> None:
    await merge_ideas(
        source.id, target.id, staff.id, uow=world.uow, clock=world.clock, ids=world.ids
    )


@settings(max_examples=60, deadline=None)
@given(actions=ACTIONS)
async def test_merging_then_unmerging_restores_every_count_and_row(
    actions: list[tuple[str, int, str]],
) -> None:
    world = World(HALF_LIFE)
    staff, people, source, target = await _pair(world)
    which = {"source": source.id, "target": target.id}
    for idea_key, who, action in actions:
        await _act(world, which[idea_key], people[who], action)
    before = _state(world, [source.id, target.id])

    await _merge(world, source, target, staff)
    merged = _state(world, [source.id, target.id])
    await unmerge_idea(source.id, staff.id, uow=world.uow)
    after = _state(world, [source.id, target.id])

    assert _counters_match_rows(merged)
    assert {v[1] for v in merged["votes"] if v[0] == target.id} == {v[1] for v in before["votes"]}
    assert [v for v in merged["votes"] if v[0] == source.id] == []
    assert {k: v for k, v in after.items() if k != "heat"} == {
        k: v for k, v in before.items() if k != "heat"
    }
    assert after["heat"][source.id] == before["heat"][source.id]
    assert math.isclose(after["heat"][target.id], before["heat"][target.id], abs_tol=1e-9)
    assert world.store.tables.merges == {} and world.store.tables.merge_moves == {}


async def test_a_vote_for_both_ideas_counts_once_on_the_survivor(world: World) -> None:
    staff, people, source, target = await _pair(world)
    for idea in (source, target):
        await vote(idea.id, people[1].id, uow=world.uow, clock=world.clock)

    await _merge(world, source, target, staff)

    db = world.store.tables
    assert (db.ideas[source.id].votes, db.ideas[target.id].votes) == (0, 1)
    assert (db.heat[source.id], db.ideas[source.id].merged_into) == (0.0, target.id)


async def test_a_vote_withdrawn_from_the_survivor_does_not_come_back_on_unmerge(
    world: World,
) -> None:
    staff, people, source, target = await _pair(world)
    await vote(source.id, people[1].id, uow=world.uow, clock=world.clock)
    await vote(source.id, people[2].id, uow=world.uow, clock=world.clock)
    await _merge(world, source, target, staff)
    await unvote(target.id, people[1].id, uow=world.uow)

    await unmerge_idea(source.id, staff.id, uow=world.uow)

    db = world.store.tables
    assert sorted(u for i, u in db.votes if i == source.id) == [people[2].id]
    assert (db.ideas[source.id].votes, db.ideas[target.id].votes) == (1, 0)
    assert math.isclose(db.heat[source.id], heat_of(NOW, HALF_LIFE))
    assert math.isclose(db.heat[target.id], 0.0, abs_tol=1e-9)


async def test_merging_an_idea_twice_violates_a_constraint_and_changes_nothing(
    world: World,
) -> None:
    staff, _, source, target = await _pair(world)
    await _merge(world, source, target, staff)
    before = world.store.tables

    with pytest.raises(ConstraintViolated):
        async with world.uow as uow:
            await uow.merges.merge(source, target, staff.id, NOW)

    assert world.store.tables is before
