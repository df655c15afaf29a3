"""What the service owes the outside world after a change: emails to send, tracker jobs to run.

Each is written to the outbox in the same transaction as the change that causes it
(DESIGN.md, Flows), then dispatched by the worker; so an accepted change never loses its email.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from customercase.domain.ids import IdeaId, UserId
from customercase.domain.mail import DeliveryState


class NotificationKind(enum.StrEnum):
    REQUEST_SUBMITTED = "request_submitted"
    NEW_COMMENT = "new_comment"
    STATUS_CHANGED = "status_changed"
    NEW_PARTICIPANT = "new_participant"
    ACCOUNT_RECOVERY = "account_recovery"
    FORUM_ACCESS_CHANGED = "forum_access_changed"
    EMAIL_VERIFICATION = "email_verification"
    # Jobs for the tracker, not emails: services/tracker.py has one handler per kind.
    CREATE_TRACKER_ISSUE = "create_tracker_issue"
    ADD_TRACKER_COMMENT = "add_tracker_comment"
    IMPORT_TRACKER_PROJECT = "import_tracker_project"
    # An automatic answer to inbound mail that was refused, or whose attachments were dropped.
    INBOUND_REPLY = "inbound_reply"
    # One row per watcher of either idea (each once); idea_id is the survivor, the payload
    # names the merged idea and its tracker key, if any, so the tracker job can link them.
    IDEA_MERGED = "idea_merged"


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell someone (or a system): what happened, about what, to whom.

    `payload` holds small strings the message needs (a comment id, the old status); a secret
    that must reach the recipient (a reset link's token) is erased from the row once sent.
    """

    id: str
    kind: NotificationKind
    created_at: datetime
    recipient_id: UserId | None = None
    idea_id: IdeaId | None = None
    actor_id: UserId | None = None
    payload: dict[str, str] = field(default_factory=dict)

    def without_secrets(self) -> dict[str, str]:
        """The payload as it may stay stored once the message is out: no tokens."""
        return {k: v for k, v in self.payload.items() if k not in SECRET_KEYS}


# Payload keys that carry a secret to the recipient (a reset or verification token).
# The address of an inbound sender is kept only until the answer to them is out, and the
# description of an idea filed in Jira only until Jira has it (DESIGN.md: Jira holds the rest).
SECRET_KEYS = frozenset({"token", "to", "description"})

# Kinds delivered as email; tracker jobs will be kinds of their own, with their own handler.
EMAIL_KINDS = frozenset(
    {
        NotificationKind.REQUEST_SUBMITTED,
        NotificationKind.NEW_COMMENT,
        NotificationKind.STATUS_CHANGED,
        NotificationKind.NEW_PARTICIPANT,
        NotificationKind.ACCOUNT_RECOVERY,
        NotificationKind.FORUM_ACCESS_CHANGED,
        NotificationKind.EMAIL_VERIFICATION,
        NotificationKind.INBOUND_REPLY,
    }
)

# Kinds whose row names no recipient: the worker fans it out to the idea's watchers, all but
# the one who acted (DESIGN.md, Flows).
FAN_OUT = frozenset({NotificationKind.NEW_COMMENT, NotificationKind.STATUS_CHANGED})


@dataclass(frozen=True, slots=True)
class Claim:
    """A notification a worker took to deliver, and how many tries that makes."""

    notification: Notification
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker learnt delivering one notification; `children` replace a fanned-out row."""

    notification: Notification
    state: DeliveryState
    error: str = ""
    retry_after: float | None = None
    children: tuple[Notification, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One notification as staff see it: to whom, about what, and what became of it."""

    id: str
    kind: str
    recipient_id: UserId | None
    recipient_email: str | None
    idea_id: IdeaId | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The outbox as an operator watches it: rows per state, and how late the due ones run."""

    by_state: dict[str, int]
    due: int
    oldest_due_at: datetime | None
