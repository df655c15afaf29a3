"""Webhooks from outside systems: Jira's, signed with X-Hub-Signature (external-apis.md 1.10)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions import NotAuthorizedException, NotFoundException

from customercase.domain.ports import Clock, Ids, IssueTrackers, UnitOfWork
from customercase.entrypoints.http.deps import Injected
from customercase.services import tracker


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """HMAC-SHA256 of the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().lower().encode())


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post("/jira", status_code=200)
    async def jira(
        self,
        request: Request[Any, Any, Any],
        jira_webhook_secret: str,
        uow: Injected[UnitOfWork],
        trackers: Injected[IssueTrackers],
        ids: Injected[Ids],
        clock: Injected[Clock],
    ) -> None:
        """Take a Jira change in: issue created or updated, comment added, issue deleted."""
        if not jira_webhook_secret:
            raise NotFoundException()
        body = await request.body()
        if not signature_matches(jira_webhook_secret, body, request.headers.get("x-hub-signature")):
            raise NotAuthorizedException("The signature does not match.")
        event = trackers.parse_event(body)
        if event is not None:
            delivery = request.headers.get("x-atlassian-webhook-identifier")
            await tracker.receive_tracker_event(delivery, event, uow=uow, ids=ids, clock=clock)
