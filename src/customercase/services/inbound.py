"""Email in: a reply becomes a comment, anything else a new idea (DESIGN.md, Inbound email).

All in one transaction with the message id's first sighting, so a repeat delivery creates
nothing, and a crash halfway leaves the message unseen for Postmark's retry.
"""

from __future__ import annotations

import enum

from customercase.domain.errors import InvalidField
from customercase.domain.ideas import Comment, CommentSource, Idea, IdeaQuery
from customercase.domain.ids import CommentId, IdeaId, UserId
from customercase.domain.inbound import InboundEmail, summary_from
from customercase.domain.mail import Addressing
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import Clock, Ids, UnitOfWork
from customercase.domain.users import User, normalise_email
from customercase.domain.vendors import Forum, Viewer
from customercase.services.participants import user_for_email


class Received(enum.StrEnum):
    COMMENTED = "commented"
    POSTED = "posted"
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


async def _may_post(uow: UnitOfWork, forum: Forum, email: str) -> tuple[bool, User | None]:
    """Whether the forum admits the sender, and their account if they have one."""
    user = await uow.users.by_email(email)
    role = await uow.vendors.role_of(forum.vendor_id, user.id) if user else None
    invited = forum.is_private and role is None and await uow.forums.is_invited(forum.id, email)
    # Someone without an account is judged as the unverified account email-in would make.
    probe = user or User(UserId(""), email, "", forum.created_at)
    return forum.admits(Viewer(user=probe, role=role, is_invited=invited)), user


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


async def receive_email(
    email: InboundEmail, *, uow: UnitOfWork, clock: Clock, ids: Ids, addressing: Addressing
) -> Received:
    """File an inbound email as a comment or an idea, once, if its sender may post there."""
    now = clock.now()
    async with uow:
        if not await uow.inbound.first_sighting(email.message_id, now):
            return Received.REPEAT
        outcome = await _file(uow, email, clock=clock, ids=ids, addressing=addressing)
        await uow.commit()
    return outcome


async def _file(
    uow: UnitOfWork, email: InboundEmail, *, clock: Clock, ids: Ids, addressing: Addressing
) -> Received:
    routed = await _route(uow, email, addressing)
    if routed is None:
        return Received.UNROUTABLE
    forum, idea_id = routed
    try:
        sender = normalise_email(email.sender_email)
    except InvalidField:
        return Received.REFUSED
    admitted, user = await _may_post(uow, forum, sender)
    if not admitted:
        await _answer(uow, email, sender, forum, [REFUSED_NOTE], clock=clock, ids=ids)
        return Received.REFUSED
    if not email.body.strip() and idea_id is not None:
        return Received.EMPTY
    if user is None:
        user = await user_for_email(uow, sender, email.sender_name, clock=clock, ids=ids)
    notes = [ATTACHMENTS_NOTE] if email.attachments else []
    if idea_id is not None:
        await _comment(uow, email, user, idea_id, clock=clock, ids=ids)
        outcome = Received.COMMENTED
    else:
        summary = summary_from(email.subject, email.body)
        similar = await _similar(uow, forum, summary)
        if similar is not None:
            notes.append(SIMILAR_NOTE.format(url=addressing.idea_url(similar.id)))
        await _post(uow, email, user, forum, summary, clock=clock, ids=ids)
        outcome = Received.POSTED
    if notes:
        await _answer(uow, email, sender, forum, notes, clock=clock, ids=ids)
    return outcome


async def _similar(uow: UnitOfWork, forum: Forum, summary: str) -> Idea | None:
    """An open idea of the forum whose summary holds every word of this one, if any."""
    words = " ".join(w for w in summary.split() if len(w) > 2)
    if not words:
        return None
    page = await uow.ideas.list(IdeaQuery(forum.id, text=words, limit=1), None)
    return page.items[0].idea if page.items else None


async def _comment(
    uow: UnitOfWork, email: InboundEmail, user: User, idea_id: IdeaId, *, clock: Clock, ids: Ids
) -> None:
    now = clock.now()
    comment = Comment.write(
        id=CommentId(ids.new_id()),
        idea_id=idea_id,
        author_id=user.id,
        body=email.comment_body,
        source=CommentSource.EMAIL,
        now=now,
    )
    await uow.comments.add(comment, now)
    await uow.watches.start(idea_id, user.id)
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.NEW_COMMENT,
            now,
            idea_id=idea_id,
            actor_id=user.id,
            payload={"comment_id": str(comment.id)},
        )
    )


async def _post(
    uow: UnitOfWork,
    email: InboundEmail,
    user: User,
    forum: Forum,
    summary: str,
    *,
    clock: Clock,
    ids: Ids,
) -> None:
    now = clock.now()
    idea = Idea.submit(
        id=IdeaId(ids.new_id()),
        forum_id=forum.id,
        author_id=user.id,
        summary=summary,
        description=email.description,
        now=now,
    )
    await uow.ideas.add(idea)
    await uow.votes.add(idea.id, user.id, now)
    await uow.watches.start(idea.id, user.id)
    await uow.outbox.add(
        Notification(
            ids.new_id(),
            NotificationKind.REQUEST_SUBMITTED,
            now,
            recipient_id=user.id,
            idea_id=idea.id,
        )
    )
