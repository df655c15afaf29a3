"""Email in: a reply becomes a comment, anything else a new idea (DESIGN.md, Inbound email).

Screened for spam like a web post (services/spam.py); stored in one transaction with the
message id's first sighting, so a repeat delivery creates nothing, and a crash halfway leaves
the message unseen for Postmark's retry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from customercase.domain.errors import InvalidField, NotAllowed
from customercase.domain.ideas import Comment, CommentSource, Idea, IdeaQuery
from customercase.domain.ids import CommentId, IdeaId, UserId
from customercase.domain.inbound import InboundEmail, summary_from
from customercase.domain.mail import Addressing
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Clock, Ids, SpamFilter, UnitOfWork
from customercase.domain.spam import Fate, Moderation, Origin, PostKind
from customercase.domain.users import User, normalise_email
from customercase.domain.vendors import Forum, Viewer
from customercase.services.announce import announce_comment, announce_idea
from customercase.services.participants import user_for_email
from customercase.services.spam import Poster, Screening, open_case, poster_of, screen


class Received(enum.StrEnum):
    COMMENTED = "commented"
    POSTED = "posted"
    # Spam: kept for staff, or dropped when blatant; the sender cannot tell which.
    HELD = "held"
    REPEAT = "repeat"
    REFUSED = "refused"
    UNROUTABLE = "unroutable"
    EMPTY = "empty"


async def _route(
    uow: UnitOfWork, email: InboundEmail, addressing: Addressing
) -> tuple[Forum, IdeaId | None] | None:
    """The forum the mail was sent to, and the idea it answers, if any."""
    for mailbox_hash in email.mailbox_hashes:
        address = addressing.signer.read_reply_hash(mailbox_hash)
        forum = await uow.forums.by_mailbox_hash(address.forum_hash) if address else None
        if address is None or forum is None:
            continue
        for candidate in (address.idea_id, addressing.idea_in_thread(list(email.thread_refs))):
            idea = await uow.ideas.get(candidate) if candidate else None
            if idea is not None and idea.forum_id == forum.id:
                return forum, idea.id
        return forum, None
    return None


async def _may_post(uow: UnitOfWork, forum: Forum, email: str, name: str) -> tuple[bool, Viewer]:
    """Whether the forum admits the sender, and the sender as a viewer of it."""
    user = await uow.users.by_email(email)
    role = await uow.vendors.role_of(forum.vendor_id, user.id) if user else None
    invited = forum.is_private and role is None and await uow.forums.is_invited(forum.id, email)
    # Someone without an account is judged as the unverified account email-in would make.
    probe = user or User(UserId(""), email, name, forum.created_at)
    viewer = Viewer(user=probe, role=role, is_invited=invited)
    return forum.admits(viewer), viewer


REFUSED_NOTE = "This forum takes messages only from its members, so yours was not posted."
SIMILAR_NOTE = (
    "Your request was posted. A request like it is already there, {url}: "
    "would you vote for that one instead?"
)
ATTACHMENTS_NOTE = (
    "Your message was posted, but attachments are not kept: link to the files instead."
)


async def _answer(
    uow: UnitOfWork,
    email: InboundEmail,
    sender: str,
    forum: Forum,
    notes: list[str],
    *,
    clock: Clock,
    ids: Ids,
) -> None:
    """Queue a short automatic answer to the sender; never to a machine (mail loops)."""
    if email.is_automated:
        return
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.INBOUND_REPLY,
            clock.now(),
            payload={
                "to": sender,
                "forum_id": forum.id,
                "subject": email.subject[:200],
                "note": " ".join(notes),
            },
        )
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the first transaction decided: where the mail goes and who posts it."""

    forum: Forum
    idea_id: IdeaId | None
    sender: str
    # Judged as the account email-in would make when the sender has none yet.
    poster: Poster


async def receive_email(
    email: InboundEmail,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    addressing: Addressing,
    spam: SpamFilter,
) -> Received:
    """File an inbound email as a comment or an idea, once, if its sender may post there.

    Screened for spam like a web post: routed and judged in a first transaction, checked by
    the spam filter outside any (STYLE.md §6), stored in a second one with its message id's
    first sighting, so a repeat delivery creates nothing and a crash before the second commit
    leaves the message unseen for Postmark's retry. Spam is held; blatant spam is dropped and
    answered like held spam.
    """
    async with uow:
        if not await uow.inbound.first_sighting(email.message_id, clock.now()):
            return Received.REPEAT
        decided = await _decide(uow, email, clock=clock, ids=ids, addressing=addressing)
        if isinstance(decided, Received):
            await uow.commit()
            return decided
        # Not committed: the sighting is written with the post, below.
    if decided.idea_id is not None:
        kind, text = PostKind.COMMENT, email.comment_body
    else:
        kind, text = (
            PostKind.IDEA,
            f"{summary_from(email.subject, email.body)}\n\n{email.description}",
        )
    screening = await screen(decided.poster, kind, text.strip(), _origin(email), spam=spam)
    now = clock.now()
    async with uow:
        if not await uow.inbound.first_sighting(email.message_id, now):
            return Received.REPEAT
        if screening.fate is Fate.DROP:
            await uow.commit()
            return Received.HELD
        outcome = await _file(
            uow, email, decided, screening, clock=clock, ids=ids, addressing=addressing
        )
        await uow.commit()
    return outcome


def _origin(email: InboundEmail) -> Origin:
    """A mail has no browser: the sending server's IP is the nearest thing Akismet can weigh.
    Without it Akismet gives no verdict, so the post is published and queued for a re-check."""
    return Origin(ip=email.sender_ip)


async def _decide(
    uow: UnitOfWork, email: InboundEmail, *, clock: Clock, ids: Ids, addressing: Addressing
) -> _Plan | Received:
    """Where the mail goes and who sends it, or the outcome when it goes nowhere."""
    routed = await _route(uow, email, addressing)
    if routed is None:
        return Received.UNROUTABLE
    forum, idea_id = routed
    try:
        sender = normalise_email(email.sender_email)
    except InvalidField:
        return Received.REFUSED
    admitted, viewer = await _may_post(uow, forum, sender, email.sender_name)
    if not admitted:
        await _answer(uow, email, sender, forum, [REFUSED_NOTE], clock=clock, ids=ids)
        return Received.REFUSED
    if not email.body.strip() and idea_id is not None:
        return Received.EMPTY
    assert viewer.user is not None
    try:
        poster = await poster_of(uow, forum, viewer, viewer.user)
    except NotAllowed:
        return Received.REFUSED
    return _Plan(forum, idea_id, sender, poster)


async def _file(
    uow: UnitOfWork,
    email: InboundEmail,
    plan: _Plan,
    screening: Screening,
    *,
    clock: Clock,
    ids: Ids,
    addressing: Addressing,
) -> Received:
    forum, idea_id = plan.forum, plan.idea_id
    user = await user_for_email(uow, plan.sender, email.sender_name, clock=clock, ids=ids)
    poster = replace(plan.poster, user=user)
    published = screening.moderation is Moderation.PUBLISHED
    notes = [ATTACHMENTS_NOTE] if email.attachments else []
    now = clock.now()
    if idea_id is not None:
        post_id: str = await _comment(
            uow, email, user, forum, idea_id, screening.moderation, clock=clock, ids=ids
        )
        kind, outcome = PostKind.COMMENT, Received.COMMENTED
    else:
        summary = summary_from(email.subject, email.body)
        similar = await _similar(uow, forum, summary)
        if similar is not None:
            notes.append(SIMILAR_NOTE.format(url=addressing.idea_url(similar.id)))
        post_id = await _post(
            uow, email, user, forum, summary, screening.moderation, clock=clock, ids=ids
        )
        kind, outcome = PostKind.IDEA, Received.POSTED
    await open_case(
        uow, screening, post_id=post_id, kind=kind, poster=poster, origin=_origin(email), now=now
    )
    if not published:
        # Held: the sender hears nothing more than a web poster would see.
        return Received.HELD
    if notes:
        await _answer(uow, email, plan.sender, forum, notes, clock=clock, ids=ids)
    return outcome


async def _similar(uow: UnitOfWork, forum: Forum, summary: str) -> Idea | None:
    """An open idea of the forum whose summary holds every word of this one, if any."""
    words = " ".join(w for w in summary.split() if len(w) > 2)
    if not words:
        return None
    page = await uow.ideas.list(IdeaQuery(forum.id, text=words, limit=1), None)
    return page.items[0].idea if page.items else None


async def _comment(
    uow: UnitOfWork,
    email: InboundEmail,
    user: User,
    forum: Forum,
    idea_id: IdeaId,
    moderation: Moderation,
    *,
    clock: Clock,
    ids: Ids,
) -> CommentId:
    now = clock.now()
    comment = Comment.write(
        id=CommentId(ids.new_id()),
        idea_id=idea_id,
        author_id=user.id,
        body=email.comment_body,
        source=CommentSource.EMAIL,
        now=now,
    )
    comment = replace(comment, moderation=moderation)
    await uow.comments.add(comment, now)
    await uow.watches.start(idea_id, user.id)
    if moderation is Moderation.PUBLISHED:
        await announce_comment(uow, forum, comment, now=now, ids=ids)
    return comment.id


async def _post(
    uow: UnitOfWork,
    email: InboundEmail,
    user: User,
    forum: Forum,
    summary: str,
    moderation: Moderation,
    *,
    clock: Clock,
    ids: Ids,
) -> IdeaId:
    now = clock.now()
    idea = Idea.submit(
        id=IdeaId(ids.new_id()),
        forum_id=forum.id,
        author_id=user.id,
        summary=summary,
        description=email.description,
        now=now,
    )
    # A bound forum keeps only the summary; the description travels to Jira in the job.
    # (A held idea keeps its description until staff decide; see services/moderation.py.)
    description = idea.description
    keep = forum.jira is None or moderation is not Moderation.PUBLISHED
    idea = replace(idea, moderation=moderation, description=description if keep else "")
    await uow.ideas.add(idea)
    await uow.votes.add(idea.id, user.id, now)
    await uow.watches.start(idea.id, user.id)
    if moderation is Moderation.PUBLISHED:
        await announce_idea(uow, forum, idea, description, now=now, ids=ids)
    return idea.id
