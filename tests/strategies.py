"""Hypothesis strategies for the model's inputs and for sequences of user actions."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from customercase.adapters.fakes.spam import MARKERS
from customercase.domain.errors import InvalidField
from customercase.domain.ideas import Sort, Status, check_body, check_summary
from customercase.domain.vendors import SLUG_PATTERN


def _accepted_by(check: Callable[[str], str]) -> Callable[[str], bool]:
    def accepted(raw: str) -> bool:
        try:
            check(raw)
        except InvalidField:
            return False
        return True

    return accepted


def _free_of_spam_markers(raw: str) -> bool:
    # Hypothesis also draws string literals it finds in the code, the fake spam filter's
    # markers included; a text carrying one is judged spam, which these strategies are not about.
    return not any(marker in raw for marker in MARKERS)


# Any Unicode at all, controls, surrogates and odd spaces included; only what the domain's
# own checks accept is kept, so a test sees the texts a use case would store.
summaries = (
    st.text(min_size=3, max_size=220)
    .filter(_accepted_by(check_summary))
    .filter(_free_of_spam_markers)
)
bodies = (
    st.text(min_size=1, max_size=400).filter(_accepted_by(check_body)).filter(_free_of_spam_markers)
)

slugs = st.from_regex(SLUG_PATTERN, fullmatch=True)

# Who does what to which idea, by index into small pools of users and ideas.
USERS, IDEAS = 4, 2
ACTIONS = ("vote", "unvote", "watch", "unwatch", "comment")
actions = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, USERS - 1), st.integers(0, IDEAS - 1)),
    max_size=30,
)

sorts = st.sampled_from(Sort)
statuses = st.sampled_from(Status)
optional_statuses = st.none() | statuses
page_sizes = st.integers(1, 5)

# An idea to list: how many of the pool's users vote for it, at which of a few hours it was
# posted and in which status. Few distinct values, so that ties in every sort key are common.
listed_ideas = st.lists(
    st.tuples(st.integers(0, USERS), st.integers(0, 3), statuses),
    max_size=12,
)
