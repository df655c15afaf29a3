"""Screening new posts for spam, re-checking those published while the filter was down, and
the honeypot-and-timing guard for HTML forms.

Flow (DESIGN.md, Submit idea / Comment): the use case reads who posts where in one short
transaction, asks the spam filter outside any transaction (STYLE.md §6), then stores the post
in a second one with the moderation state its screening gave it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from customercase.domain.errors import NotAllowed
from customercase.domain.ideas import Comment, Idea
from customercase.domain.ids import CommentId, IdeaId
from customercase.domain.ports import Clock, SpamFilter, UnitOfWork
from customercase.domain.spam import (
    Case,
    CaseState,
    Fate,
    Moderation,
    Origin,
    PostKind,
    Standing,
    Submission,
    Verdict,
    fate_of,
)
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Viewer

RECHECK_BATCH = 50
# A post the filter still cannot judge after this long (an email post with no sender address
# Akismet accepts, a key that stays refused) stays published and leaves the queue.
RECHECK_GIVE_UP = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Poster:
    """Who is posting where, with what decides how closely we look."""

    user: User
    forum: Forum
    # Staff and posters the staff trust are not screened.
    is_trusted: bool
    is_first_post: bool


@dataclass(frozen=True, slots=True)
class Screening:
    verdict: Verdict
    fate: Fate

    @property
    def moderation(self) -> Moderation:
        return Moderation.PUBLISHED if self.fate is Fate.PUBLISH else Moderation.HELD

    @property
    def needs_case(self) -> bool:
        """Held posts wait for staff; posts published unchecked wait for a re-check."""
        return self.fate is Fate.HOLD or self.verdict is Verdict.UNKNOWN


async def poster_of(uow: UnitOfWork, forum: Forum, viewer: Viewer, user: User) -> Poster:
    """The poster's standing in the forum; raise NotAllowed when the vendor blocked them."""
    standing = None if viewer.is_staff else await uow.moderation.standing(forum.vendor_id, user.id)
    if standing is Standing.BLOCKED:
        raise NotAllowed("You can no longer post in this vendor's forums.")
    trusted = viewer.is_staff or standing is Standing.TRUSTED
    first = (
        forum.holds_first_posts
        and not trusted
        and not await uow.moderation.has_published(forum.id, user.id)
    )
    return Poster(user, forum, trusted, first)


def idea_text(idea: Idea) -> str:
    return f"{idea.summary}\n\n{idea.description}".strip()


async def screen(
    poster: Poster, kind: PostKind, content: str, origin: Origin | None, *, spam: SpamFilter
) -> Screening:
    """Ask the spam filter about a post (unless its poster is trusted) and decide its fate."""
    if poster.is_trusted:
        return Screening(Verdict.HAM, Fate.PUBLISH)
    submission = Submission(kind, content, poster.user.name, poster.user.email, origin or Origin())
    verdict = await spam.check(submission)
    fate = fate_of(
        verdict,
        holds_first_post=poster.forum.holds_first_posts,
        is_first_post=poster.is_first_post,
    )
    return Screening(verdict, fate)


async def open_case(
    uow: UnitOfWork,
    screening: Screening,
    *,
    post_id: str,
    kind: PostKind,
    poster: Poster,
    origin: Origin | None,
    now: datetime,
) -> None:
    """Keep a held post for staff, or one published unchecked for a re-check; else nothing."""
    if not screening.needs_case:
        return
    state = CaseState.HELD if screening.fate is Fate.HOLD else CaseState.RECHECK
    await uow.moderation.add(
        Case(
            post_id,
            kind,
            poster.forum.id,
            poster.user.id,
            screening.verdict,
            origin or Origin(),
            state,
            now,
        )
    )


async def submission_of(uow: UnitOfWork, case: Case) -> tuple[Submission, Idea | Comment] | None:
    """The post behind a case as the filter was shown it; None when the post is gone."""
    author = await uow.users.get(case.author_id)
    post: Idea | Comment | None
    if case.kind is PostKind.IDEA:
        post = await uow.ideas.get(IdeaId(case.post_id))
        content = idea_text(post) if post else ""
    else:
        post = await uow.moderation.comment(CommentId(case.post_id))
        content = post.body if post else ""
    if author is None or post is None:
        return None
    return Submission(case.kind, content, author.name, author.email, case.origin), post


async def set_moderation(uow: UnitOfWork, case: Case, moderation: Moderation) -> None:
    if case.kind is PostKind.IDEA:
        await uow.moderation.set_idea_moderation(IdeaId(case.post_id), moderation)
    else:
        await uow.moderation.set_comment_moderation(CommentId(case.post_id), moderation)


async def recheck_posts(
    *, uow: UnitOfWork, spam: SpamFilter, clock: Clock, limit: int = RECHECK_BATCH
) -> dict[Verdict, int]:
    """Ask the filter again about posts published while it was unreachable; hold the spam.

    Returns how many posts got each verdict; those still UNKNOWN stay queued, until
    RECHECK_GIVE_UP has passed.
    """
    async with uow:
        due = await uow.moderation.due_rechecks(limit)
        found = [(case, await submission_of(uow, case)) for case in due]
    counts = dict.fromkeys(Verdict, 0)
    for case, pair in found:
        verdict = Verdict.HAM if pair is None else await spam.check(pair[0])
        counts[verdict] += 1
        if verdict is Verdict.UNKNOWN and clock.now() - case.created_at < RECHECK_GIVE_UP:
            continue
        async with uow:
            if verdict in (Verdict.HAM, Verdict.UNKNOWN):
                await uow.moderation.close(case.post_id, CaseState.CLEARED)
            else:
                # Already seen, so never dropped now: held for staff like any other spam.
                await uow.moderation.close(case.post_id, CaseState.HELD)
                await set_moderation(uow, case, Moderation.HELD)
            await uow.commit()
    return counts


# --- HTML forms: a hidden honeypot field and a minimum fill time -----------------------------
#
# For the page controllers. When rendering a form, put `issue_form_token(key, clock.now())` in
# a hidden field (say `_form_token`) and add an empty text input named HONEYPOT_FIELD, hidden
# with CSS (not type=hidden: bots skip those) and `autocomplete="off" tabindex="-1"`. On submit
# call `form_looks_human(token, honeypot_value, key, clock.now())`; when it is False, answer
# as if the post were held (202 / "awaiting moderation") and store nothing, so bots learn
# nothing. `key` is Settings.secret_key.
HONEYPOT_FIELD = "website"
FORM_MIN_SECONDS = 3.0
FORM_MAX_SECONDS = 24 * 3600.0


def _sign(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def issue_form_token(key: str, now: datetime) -> str:
    """A signed timestamp of when the form was shown."""
    stamp = f"{now.timestamp():.3f}"
    return f"{stamp}.{_sign(key, stamp)}"


def form_looks_human(
    token: str | None,
    honeypot: str | None,
    key: str,
    now: datetime,
    *,
    min_seconds: float = FORM_MIN_SECONDS,
    max_seconds: float = FORM_MAX_SECONDS,
) -> bool:
    """False for a filled honeypot, a forged or missing token, or a form sent too fast or late."""
    if honeypot or not token or token.count(".") != 2:
        return False
    stamp, signature = token.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(key, stamp)):
        return False
    try:
        elapsed = now.timestamp() - float(stamp)
    except ValueError:
        return False
    return min_seconds <= elapsed <= max_seconds
