"""Spam defence: what a spam filter is asked, what it answers, and what we do with the answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from customercase.domain.ids import ForumId, UserId


class Verdict(enum.StrEnum):
    HAM = "ham"
    SPAM = "spam"
    # Spam so blatant that it may be dropped unseen (Akismet's `X-akismet-pro-tip: discard`).
    BLATANT = "blatant"
    # The filter could not be asked (down, slow, refused our key): decided later by a re-check.
    UNKNOWN = "unknown"


class PostKind(enum.StrEnum):
    IDEA = "idea"
    COMMENT = "comment"


class Moderation(enum.StrEnum):
    """Where a post stands: only a published one is seen by everyone and counted."""

    PUBLISHED = "published"
    HELD = "held"
    REJECTED = "rejected"


class Fate(enum.StrEnum):
    """What becomes of a new post once it has been screened."""

    PUBLISH = "publish"
    HOLD = "hold"
    # Nothing is stored; the sender is answered as if the post were held.
    DROP = "drop"


class Standing(enum.StrEnum):
    """A poster's standing at one vendor, set by its staff."""

    TRUSTED = "trusted"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a post came from: the submitter's request, as the spam filter wants to see it."""

    ip: str = ""
    user_agent: str = ""
    referrer: str = ""
    # The page the post belongs to (the forum's or the idea's web page).
    permalink: str = ""


@dataclass(frozen=True, slots=True)
class Submission:
    """One post as a spam filter is shown it; the same values are resent with feedback."""

    kind: PostKind
    content: str
    author_name: str
    author_email: str
    origin: Origin


def fate_of(verdict: Verdict, *, holds_first_post: bool, is_first_post: bool) -> Fate:
    """Blatant spam is dropped, spam held, ham published unless it is a held first post.

    An unknown verdict publishes: a filter outage must not silence every customer; the post
    is queued for a re-check instead (services/spam.py).
    """
    if verdict is Verdict.BLATANT:
        return Fate.DROP
    if verdict is Verdict.SPAM:
        return Fate.HOLD
    if holds_first_post and is_first_post:
        return Fate.HOLD
    return Fate.PUBLISH


class CaseState(enum.StrEnum):
    # Open: HELD waits for staff; RECHECK was published unchecked and waits for the filter.
    HELD = "held"
    RECHECK = "recheck"
    # Closed.
    APPROVED = "approved"
    REJECTED = "rejected"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class Case:
    """A post the spam defence keeps an eye on, with what the filter was shown about it.

    `origin` is kept so that feedback resends the values that were checked (Akismet asks this).
    """

    post_id: str
    kind: PostKind
    forum_id: ForumId
    author_id: UserId
    verdict: Verdict
    origin: Origin
    state: CaseState
    created_at: datetime
