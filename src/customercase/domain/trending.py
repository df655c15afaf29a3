"""Trending as stored heat: every vote and comment adds a weight that doubles each half-life.

An idea's heat is the sum of 2 ** ((t - EPOCH) / half_life) over its votes and comments. Dividing
every heat by the same power of two at a given moment gives an exponentially decayed score, so
ordering by stored heat *is* ordering by recent activity, and it only changes when an event
happens: a plain indexed column that keyset pagination can walk. A vote that is withdrawn takes
its own weight back. Floats hold this for 1,000 half-lives past EPOCH (19 years at one week);
`customercase rescale-heat` (issue 7) would move EPOCH forward well before then.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_HALF_LIFE_DAYS = 7.0
COMMENT_WEIGHT = 2.0


def heat_of(at: datetime, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> float:
    """The weight one vote cast at `at` adds to an idea's heat."""
    days = (at - EPOCH).total_seconds() / 86_400
    return float(2.0 ** (days / half_life_days))
