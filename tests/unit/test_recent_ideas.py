"""The recently read ideas a vote may be judged on (LocalRecentIdeas)."""

from __future__ import annotations

from customercase.adapters.local.recent import LocalRecentIdeas
from tests.builders import a_forum, an_idea


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_idea_is_kept_for_its_time_to_live_without_its_description() -> None:
    clock = Clock()
    recent = LocalRecentIdeas(5, clock=clock)
    forum = a_forum()
    idea = an_idea(forum_id=forum.id, description="A long story " * 1000)

    recent.put(idea, forum)
    kept = recent.get(idea.id)

    assert kept is not None and kept[1] == forum
    assert kept[0].summary == idea.summary and kept[0].description == ""
    clock.now = 5.0
    assert recent.get(idea.id) is None


def test_the_oldest_idea_goes_first_when_full_and_a_forgotten_one_at_once() -> None:
    recent = LocalRecentIdeas(60, size=2)
    forum = a_forum()
    first, second, third = (an_idea(forum_id=forum.id) for _ in range(3))

    recent.put(first, forum)
    recent.put(second, forum)
    recent.put(first, forum)  # put again: now the newest
    recent.put(third, forum)

    assert recent.get(second.id) is None
    assert recent.get(first.id) is not None and recent.get(third.id) is not None
    recent.forget(third.id)
    assert recent.get(third.id) is None


def test_a_time_to_live_of_zero_keeps_nothing() -> None:
    recent = LocalRecentIdeas(0)
    forum = a_forum()
    idea = an_idea(forum_id=forum.id)

    recent.put(idea, forum)

    assert recent.get(idea.id) is None
