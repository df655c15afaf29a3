"""What the service owes the outside world after a change: emails to send, tracker jobs to run.

Each is written to the outbox in the same transaction as the change that causes it
(DESIGN.md, Flows), then dispatched by the worker; so an accepted change never loses its email.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from customercase.domain.ids import IdeaId, UserId


class NotificationKind(enum.StrEnum):
    REQUEST_SUBMITTED = "request_submitted"
    NEW_COMMENT = "new_comment"
    STATUS_CHANGED = "status_changed"
    NEW_PARTICIPANT = "new_participant"
    ACCOUNT_RECOVERY = "account_recovery"
    FORUM_ACCESS_CHANGED = "forum_access_changed"
    EMAIL_VERIFICATION = "email_verification"
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
