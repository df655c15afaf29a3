"""The outbox handler for tracker jobs: file an idea, post a comment, import a project.

The dispatcher hands over claimed rows of the three tracker kinds; each becomes one call of the
matching use case in services/tracker.py. A tracker that cannot be reached leaves the row pending
for a later try; one that refuses for good (bad credentials, unknown project) fails the row,
which staff then see with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from customercase.domain.errors import (
    ForumNotFound,
    IdeaNotFound,
    TrackerNotConnected,
    TrackerRejected,
    TrackerUnavailable,
)
from customercase.domain.ids import CommentId, ForumId, IdeaId
from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Claim, Notification, NotificationKind, Outcome
from customercase.domain.ports import Clock, Ids, IssueTrackers, SecretBox, UnitOfWork
from customercase.services import tracker

TRACKER_KINDS = (
    NotificationKind.CREATE_TRACKER_ISSUE,
    NotificationKind.ADD_TRACKER_COMMENT,
    NotificationKind.IMPORT_TRACKER_PROJECT,
)


class TrackerJobs:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        trackers: IssueTrackers,
        secrets: SecretBox,
        ids: Ids,
        clock: Clock,
        base_url: str,
        holder: str,
        sync_lease: timedelta = tracker.LEASE,
    ) -> None:
        self._uow = uow
        self._trackers = trackers
        self._secrets = secrets
        self._ids = ids
        self._clock = clock
        self._base_url = base_url
        self._holder = holder
        self._sync_lease = sync_lease

    async def handle(self, claims: Sequence[Claim]) -> list[Outcome]:
        return [await self._run(claim.notification) for claim in claims]

    async def _run(self, n: Notification) -> Outcome:
        try:
            await self._job(n)
        except TrackerUnavailable as error:
            return Outcome(n, DeliveryState.PENDING, error.message)
        except (TrackerRejected, TrackerNotConnected, IdeaNotFound) as error:
            return Outcome(n, DeliveryState.FAILED, error.message)
        except ForumNotFound:
            # Unbound since, or its vendor deleted: nothing to do any more.
            return Outcome(n, DeliveryState.SKIPPED, "the forum is gone or no longer bound")
        return Outcome(n, DeliveryState.SENT)

    async def _job(self, n: Notification) -> None:
        if n.kind is NotificationKind.CREATE_TRACKER_ISSUE:
            idea_id = IdeaId(n.idea_id or "")
            await tracker.create_tracker_issue(
                idea_id,
                n.payload.get("description", ""),
                idea_url=f"{self._base_url}/ideas/{idea_id}",
                uow=self._uow,
                trackers=self._trackers,
                secrets=self._secrets,
            )
        elif n.kind is NotificationKind.ADD_TRACKER_COMMENT:
            await tracker.add_tracker_comment(
                CommentId(n.payload["comment_id"]),
                uow=self._uow,
                trackers=self._trackers,
                secrets=self._secrets,
            )
        else:
            await tracker.sync_forum(
                ForumId(n.payload["forum_id"]),
                ids=self._ids,
                clock=self._clock,
                holder=self._holder,
                uow=self._uow,
                trackers=self._trackers,
                secrets=self._secrets,
                lease=self._sync_lease,
            )
