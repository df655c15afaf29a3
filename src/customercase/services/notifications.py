"""Notification emails: who gets one, what it says, and what staff see of their delivery.

`EmailNotifications` is the outbox handler of every email kind (services/dispatch.py): it fans a
row about an idea out to its watchers, renders each message from its template, sends them in one
batch and turns each per-recipient result into that row's outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from customercase.domain.cursors import cursor_time, decode_cursor, encode_cursor
from customercase.domain.errors import NotFound
from customercase.domain.ideas import Idea, Page, check_limit
from customercase.domain.ids import CommentId, ForumId, IdeaId, UserId
from customercase.domain.mail import (
    Addressing,
    Delivery,
    DeliveryResult,
    DeliveryState,
    OutgoingEmail,
    one_line,
)
from customercase.domain.notifications import (
    FAN_OUT,
    Claim,
    DeliveryRecord,
    Notification,
    NotificationKind,
    Outcome,
)
from customercase.domain.ports import EmailComposer, Ids, Mailer, UnitOfWork
from customercase.domain.users import User, normalise_email
from customercase.domain.vendors import Forum
from customercase.services.access import open_forum, require_staff, viewer_of

# Kinds about an idea that only its current watchers should get.
FOR_WATCHERS = frozenset({NotificationKind.NEW_COMMENT, NotificationKind.STATUS_CHANGED})
# The page each account email links to; it ends in ?token=TOKEN (API.md, Identity).
ACTION_PATHS = {
    NotificationKind.ACCOUNT_RECOVERY: "/reset-password",
    NotificationKind.EMAIL_VERIFICATION: "/verify-email",
}
OUTCOME_OF = {
    Delivery.SENT: DeliveryState.SENT,
    Delivery.TRANSIENT: DeliveryState.PENDING,
    Delivery.PERMANENT: DeliveryState.FAILED,
}


class Skip(Exception):
    """Nothing to send any more; the reason is recorded on the row."""


@dataclass(frozen=True, slots=True)
class _About:
    recipient: User
    forum: Forum | None
    idea: Idea | None


class _Reads:
    """Rows the notifications of one batch share (an idea, its forum, an actor), read once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._users: dict[UserId, User | None] = {}
        self._ideas: dict[IdeaId, Idea | None] = {}
        self._forums: dict[ForumId, Forum | None] = {}

    async def user(self, user_id: UserId) -> User | None:
        if user_id not in self._users:
            self._users[user_id] = await self._uow.users.get(user_id)
        return self._users[user_id]

    async def idea(self, idea_id: IdeaId) -> Idea | None:
        if idea_id not in self._ideas:
            self._ideas[idea_id] = await self._uow.ideas.get(idea_id)
        return self._ideas[idea_id]

    async def forum(self, forum_id: ForumId) -> Forum | None:
        if forum_id not in self._forums:
            self._forums[forum_id] = await self._uow.forums.get(forum_id)
        return self._forums[forum_id]


class EmailNotifications:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        mailer: Mailer,
        composer: EmailComposer,
        addressing: Addressing,
        ids: Ids,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._composer = composer
        self._addressing = addressing
        self._ids = ids

    async def handle(self, claims: Sequence[Claim]) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {}
        letters: list[tuple[Notification, OutgoingEmail]] = []
        async with self._uow as uow:
            reads = _Reads(uow)
            for claim in claims:
                n = claim.notification
                if n.recipient_id is None and n.kind in FAN_OUT:
                    children = await self._fan_out(uow, n)
                    outcomes[n.id] = Outcome(n, DeliveryState.SENT, children=children)
                    continue
                try:
                    letter = (
                        await self._answer(reads, n)
                        if n.kind is NotificationKind.INBOUND_REPLY
                        else await self._letter(uow, reads, n)
                    )
                    letters.append((n, letter))
                except Skip as reason:
                    outcomes[n.id] = Outcome(n, DeliveryState.SKIPPED, str(reason))
                except ValueError as bug:
                    outcomes[n.id] = Outcome(n, DeliveryState.FAILED, f"not sendable: {bug}")
        results = await self._mailer.send_batch([email for _, email in letters]) if letters else []
        for (n, _), result in zip(letters, results, strict=True):
            outcomes[n.id] = _outcome(n, result)
        return [outcomes[c.notification.id] for c in claims]

    async def _answer(self, reads: _Reads, n: Notification) -> OutgoingEmail:
        """The automatic answer to an inbound mail: to its sender, who may have no account."""
        if not n.payload.get("to"):
            raise Skip("the sender's address was already erased")
        forum_id = n.payload.get("forum_id")
        forum = await reads.forum(ForumId(forum_id)) if forum_id else None
        if forum_id and forum is None:
            raise Skip("the forum is gone (or its vendor deleted)")
        rendered = self._composer.compose(
            n.kind.value,
            {
                "forum_name": forum.name if forum else "",
                "original_subject": one_line(n.payload.get("subject", ""), 150),
                "reason": n.payload.get("note", ""),
            },
        )
        return OutgoingEmail(
            to=normalise_email(n.payload["to"]),
            subject=one_line(rendered.subject, 200),
            text=rendered.text,
            html=rendered.html,
            message_id=self._addressing.message_id(n.id),
            tag=n.kind.value,
            auto_submitted=True,
        )

    async def _fan_out(self, uow: UnitOfWork, n: Notification) -> tuple[Notification, ...]:
        """One row per watcher but the one who acted, so each delivery stands on its own."""
        assert n.idea_id is not None
        watchers = await uow.watches.watchers(n.idea_id)
        return tuple(
            Notification(
                self._ids.new_id(),
                n.kind,
                n.created_at,
                recipient_id=watcher,
                idea_id=n.idea_id,
                actor_id=n.actor_id,
                payload=dict(n.payload),
            )
            for watcher in watchers
            if watcher != n.actor_id
        )

    async def _about(self, uow: UnitOfWork, reads: _Reads, n: Notification) -> _About:
        recipient = await reads.user(n.recipient_id) if n.recipient_id else None
        if recipient is None:
            raise Skip("the recipient's account is gone")
        idea = await reads.idea(n.idea_id) if n.idea_id else None
        if n.idea_id and idea is None:
            raise Skip("the idea is gone")
        forum_id = idea.forum_id if idea else n.payload.get("forum_id")
        forum = await reads.forum(ForumId(forum_id)) if forum_id else None
        if forum_id and forum is None:
            raise Skip("the forum is gone (or its vendor deleted)")
        if forum and forum.is_private and n.kind is not NotificationKind.FORUM_ACCESS_CHANGED:
            viewer = await viewer_of(uow, forum.vendor_id, forum, recipient.id)
            if not forum.admits(viewer):
                raise Skip("the recipient may no longer see the forum")
        if idea is not None and n.kind in FOR_WATCHERS:
            if recipient.id == n.actor_id:
                raise Skip("nobody gets mail about their own action")
            if not await uow.watches.is_watching(idea.id, recipient.id):
                raise Skip("the recipient stopped watching")
        return _About(recipient, forum, idea)

    async def _letter(self, uow: UnitOfWork, reads: _Reads, n: Notification) -> OutgoingEmail:
        about = await self._about(uow, reads, n)
        values = await self._values(uow, reads, n, about)
        rendered = self._composer.compose(n.kind.value, values)
        a, idea, forum = self._addressing, about.idea, about.forum
        references: tuple[str, ...] = ()
        if idea is not None and n.kind is NotificationKind.REQUEST_SUBMITTED:
            message_id = a.thread_id(idea.id)
        elif idea is not None:
            message_id, references = a.message_id(n.id), (a.thread_id(idea.id),)
        else:
            message_id = a.message_id(n.id)
        return OutgoingEmail(
            to=about.recipient.email,
            subject=one_line(rendered.subject, 200),
            text=rendered.text,
            html=rendered.html,
            reply_to=a.reply_to(forum.mailbox_hash, idea.id if idea else None) if forum else None,
            message_id=message_id,
            references=references,
            unsubscribe_url=values["stop_watching_url"] or None,
            tag=n.kind.value,
        )

    async def _values(
        self, uow: UnitOfWork, reads: _Reads, n: Notification, about: _About
    ) -> dict[str, str]:
        a, idea, forum = self._addressing, about.idea, about.forum
        actor = await reads.user(n.actor_id) if n.actor_id else None
        values = {
            "recipient_name": about.recipient.name,
            "actor_name": actor.name if actor else "Someone",
            "forum_name": forum.name if forum else "",
            "forum_url": a.forum_url(forum.id) if forum else "",
            "idea_summary": idea.summary if idea else "",
            "idea_url": a.idea_url(idea.id) if idea else "",
            "stop_watching_url": (
                a.stop_watching_url(idea.id, about.recipient.id)
                if idea and n.kind is not NotificationKind.REQUEST_SUBMITTED
                else ""
            ),
            "reply_hint": "yes" if idea and forum and a.reply_to(forum.mailbox_hash, None) else "",
            "old_status": n.payload.get("old", "").replace("_", " "),
            "new_status": n.payload.get("new", "").replace("_", " "),
            "access": n.payload.get("access", "granted"),
            "action_url": "",
            "comment_body": "",
        }
        if n.kind in ACTION_PATHS:
            if not n.payload.get("token"):
                raise Skip("the link's token was already erased")
            values["action_url"] = f"{a.base_url}{ACTION_PATHS[n.kind]}?token={n.payload['token']}"
        comment_id = n.payload.get("comment_id")
        if comment_id:
            comment = await uow.comments.get(CommentId(comment_id))
            if comment is None:
                raise Skip("the comment is gone")
            values["comment_body"] = comment.body
        return values


def _outcome(n: Notification, result: DeliveryResult) -> Outcome:
    return Outcome(n, OUTCOME_OF[result.delivery], result.detail, result.retry_after)


async def stop_watching_by_link(
    idea_id: IdeaId, user_id: UserId, signature: str, *, uow: UnitOfWork, addressing: Addressing
) -> None:
    """Stop the emails about an idea from the signed link in one of them; no sign-in needed."""
    if not addressing.signer.verify(signature, "unwatch", idea_id, user_id):
        raise NotFound("This link is not valid.")
    async with uow:
        if await uow.ideas.get(idea_id) is None or await uow.users.get(user_id) is None:
            raise NotFound("This link is not valid.")
        await uow.watches.set(idea_id, user_id, False)
        await uow.commit()


async def list_deliveries(
    forum_id: ForumId,
    user_id: UserId | None,
    state: DeliveryState | None,
    limit: int,
    cursor: str | None = None,
    *,
    uow: UnitOfWork,
) -> Page[DeliveryRecord]:
    """What became of the forum's notification emails, newest first, a page at a time
    (staff only: the records name the recipients)."""
    check_limit(limit)
    before = None
    if cursor:
        at, row_id = decode_cursor(cursor, (str, str))
        before = (cursor_time(at), str(row_id))
    async with uow:
        forum, viewer = await open_forum(uow, forum_id, user_id)
        require_staff(viewer)
        rows = await uow.outbox.deliveries(forum.id, state, limit + 1, before)
    items = rows[:limit]
    last = items[-1] if len(rows) > limit else None
    next_cursor = encode_cursor([last.created_at.isoformat(), last.id]) if last else None
    return Page(items, next_cursor)


async def delivery_problems(
    forum_id: ForumId, user_id: UserId | None, limit: int, cursor: str | None, *, uow: UnitOfWork
) -> Page[DeliveryRecord]:
    """The emails that could not be delivered (bounced, refused, given up on)."""
    return await list_deliveries(forum_id, user_id, DeliveryState.FAILED, limit, cursor, uow=uow)
