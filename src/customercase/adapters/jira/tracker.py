"""Jira Cloud REST v3 behind the IssueTracker port (external-apis.md §1).

Reads and searches are retried on 429 (honouring Retry-After), 502/503/504 and connection
errors. Creating issues and comments is not idempotent upstream, so those are retried only
when Jira said 429 or the connection never opened; a 5xx there surfaces as TrackerUnavailable
and the outbox retries the job, which first looks for the marker label (1.3).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from customercase.adapters.jira.adf import to_adf, to_text
from customercase.domain.errors import TrackerRejected, TrackerUnavailable
from customercase.domain.tracker import (
    EventKind,
    IssuePage,
    NewIssue,
    TrackerComment,
    TrackerConnection,
    TrackerEvent,
    TrackerIssue,
    TrackerUser,
)

SEARCH_FIELDS = ["summary", "status", "reporter", "updated", "labels", "project", "comment"]
TRANSIENT = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return min(float(raw), MAX_RETRY_AFTER) if raw is not None else None
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        parts = [
            *body.get("errorMessages", []),
            *(f"{k}: {v}" for k, v in body.get("errors", {}).items()),
        ]
        return "; ".join(str(p) for p in parts) or f"Jira answered {response.status_code}."
    except (ValueError, AttributeError):
        return f"Jira answered {response.status_code}."


def parse_time(raw: str) -> datetime:
    """Jira's `2024-03-05T14:07:12.345+0100`, as UTC."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(raw, fmt).astimezone(UTC)
        except ValueError:
            continue
    return datetime.fromisoformat(raw).astimezone(UTC)


def parse_user(raw: Any) -> TrackerUser | None:
    if not isinstance(raw, dict) or not raw.get("accountId"):
        return None
    return TrackerUser(
        str(raw["accountId"]), str(raw.get("displayName") or ""), raw.get("emailAddress") or None
    )


def parse_comment(raw: dict[str, Any]) -> TrackerComment:
    return TrackerComment(
        str(raw["id"]),
        parse_user(raw.get("author")),
        to_text(raw.get("body")),
        parse_time(raw["created"]),
    )


def parse_issue(raw: dict[str, Any]) -> TrackerIssue:
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    embedded = fields.get("comment")
    comments: tuple[TrackerComment, ...] | None = ()
    if isinstance(embedded, dict):
        listed = [parse_comment(c) for c in embedded.get("comments", [])]
        complete = int(embedded.get("total", len(listed))) <= len(listed)
        comments = tuple(listed) if complete else None
    elif embedded is None and "comment" not in fields:
        comments = None
    return TrackerIssue(
        id=str(raw["id"]),
        key=str(raw["key"]),
        project_key=str((fields.get("project") or {}).get("key") or str(raw["key"]).split("-")[0]),
        summary=str(fields.get("summary") or ""),
        status_name=str(status.get("name") or ""),
        status_category=str((status.get("statusCategory") or {}).get("key") or "new"),
        updated=parse_time(fields["updated"]) if fields.get("updated") else datetime.now(UTC),
        reporter=parse_user(fields.get("reporter")),
        labels=tuple(fields.get("labels") or ()),
        comments=comments,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 0.5
    max_wait_seconds: float = 30.0


class DescriptionCache:
    """Descriptions read a moment ago, so showing an idea twice asks Jira once."""

    def __init__(self, ttl_seconds: float = 60.0, size: int = 2048) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._items: dict[tuple[str, str], tuple[float, str]] = {}

    def get(self, key: tuple[str, str]) -> str | None:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: tuple[str, str], text: str) -> None:
        if len(self._items) >= self._size:
            self._items.clear()
        self._items[key] = (time.monotonic() + self._ttl, text)


class JiraIssueTracker:
    def __init__(
        self,
        site_url: str,
        email: str,
        api_token: str,
        client: httpx.AsyncClient,
        policy: RetryPolicy | None = None,
        cache: DescriptionCache | None = None,
        page_size: int = 100,
    ) -> None:
        self._base = site_url.rstrip("/")
        basic = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self._client = client
        self._policy = policy or RetryPolicy()
        self._cache = cache
        self._page_size = page_size

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(
            multiplier=self._policy.backoff_seconds, max=self._policy.max_wait_seconds
        )(state)
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None) or 0.0
        return min(max(hinted, backoff), self._policy.max_wait_seconds)

    async def _once(self, method: str, path: str, *, safe: bool, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(
                method, self._base + path, headers=self._headers, **kwargs
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise _Transient(f"cannot connect: {error}") from error
        except httpx.TransportError as error:
            if safe:
                raise _Transient(f"transport: {error}") from error
            raise TrackerUnavailable(f"Jira did not answer: {error}") from error
        if response.status_code == 429 or (safe and response.status_code in TRANSIENT):
            raise _Transient(f"Jira answered {response.status_code}", _retry_after(response))
        if response.status_code >= 500:
            raise TrackerUnavailable(f"Jira answered {response.status_code}.")
        if response.status_code >= 400:
            raise TrackerRejected(_error_text(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            if safe:
                raise _Transient("malformed body") from error
            raise TrackerUnavailable("Jira answered with a malformed body.") from error

    async def _call(self, method: str, path: str, *, safe: bool = True, **kwargs: Any) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Transient),
            wait=self._wait,
            stop=stop_after_attempt(self._policy.attempts),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(method, path, safe=safe, **kwargs)
        except _Transient as error:
            raise TrackerUnavailable(f"Jira kept failing: {error}") from error
        raise AssertionError("unreachable")

    async def myself(self) -> TrackerUser:
        user = parse_user(await self._call("GET", "/rest/api/3/myself"))
        if user is None:
            raise TrackerUnavailable("Jira answered /myself without an account.")
        return user

    async def create_issue(self, issue: NewIssue) -> TrackerIssue:
        body = {
            "fields": {
                "project": {"key": issue.project_key},
                "issuetype": {"name": issue.issue_type},
                "summary": issue.summary,
                "labels": list(issue.labels),
                "description": to_adf(issue.description, issue.link),
            }
        }
        created = await self._call("POST", "/rest/api/3/issue", safe=False, json=body)
        return TrackerIssue(
            id=str(created["id"]),
            key=str(created["key"]),
            project_key=issue.project_key,
            summary=issue.summary,
            status_name="",
            status_category="new",
            updated=datetime.now(UTC),
            labels=issue.labels,
        )

    async def _search(self, jql: str, page_token: str | None, limit: int) -> IssuePage:
        body: dict[str, Any] = {"jql": jql, "fields": SEARCH_FIELDS, "maxResults": limit}
        if page_token:
            body["nextPageToken"] = page_token
        found = await self._call("POST", "/rest/api/3/search/jql", json=body)
        token = found.get("nextPageToken")
        is_last = found.get("isLast", token is None) or not token
        return IssuePage(
            [parse_issue(i) for i in found.get("issues", [])], None if is_last else token
        )

    async def find_labelled(self, project_key: str, label: str) -> TrackerIssue | None:
        page = await self._search(f'project = "{project_key}" AND labels = "{label}"', None, 1)
        return page.issues[0] if page.issues else None

    async def search_updated(
        self, project_key: str, since: datetime | None, page_token: str | None
    ) -> IssuePage:
        jql = f'project = "{project_key}"'
        if since is not None:
            # JQL takes minutes; the caller's cursor already leaves a margin for that.
            jql += f' AND updated >= "{since.astimezone(UTC):%Y-%m-%d %H:%M}"'
        return await self._search(
            jql + " ORDER BY updated ASC, key ASC", page_token, self._page_size
        )

    async def add_comment(self, issue_key: str, body: str) -> TrackerComment:
        created = await self._call(
            "POST",
            f"/rest/api/3/issue/{issue_key}/comment",
            safe=False,
            json={"body": to_adf(body)},
        )
        return parse_comment(created)

    async def list_comments(self, issue_key: str) -> list[TrackerComment]:
        found: list[TrackerComment] = []
        while True:
            page = await self._call(
                "GET",
                f"/rest/api/3/issue/{issue_key}/comment",
                params={"startAt": len(found), "maxResults": 100, "orderBy": "created"},
            )
            batch = [parse_comment(c) for c in page.get("comments", [])]
            found.extend(batch)
            if not batch or len(found) >= int(page.get("total", 0)):
                return found

    async def get_description(self, issue_key: str) -> str:
        cache_key = (self._base, issue_key)
        if self._cache is not None and (hit := self._cache.get(cache_key)) is not None:
            return hit
        issue = await self._call(
            "GET", f"/rest/api/3/issue/{issue_key}", params={"fields": "description"}
        )
        text = to_text((issue.get("fields") or {}).get("description"))
        if self._cache is not None:
            self._cache.put(cache_key, text)
        return text


class JiraIssueTrackers:
    """Opens a JiraIssueTracker per vendor connection, all sharing one HTTP client and cache."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy | None = None,
        cache: DescriptionCache | None = None,
        page_size: int = 100,
    ) -> None:
        self._client = client
        self._policy = policy
        self._cache = cache or DescriptionCache()
        self._page_size = page_size

    def open(self, connection: TrackerConnection) -> JiraIssueTracker:
        return JiraIssueTracker(
            connection.site_url,
            connection.email,
            connection.api_token,
            self._client,
            self._policy,
            self._cache,
            self._page_size,
        )

    def parse_event(self, body: bytes) -> TrackerEvent | None:
        return parse_event(body)


EVENT_KINDS = {
    "jira:issue_created": EventKind.ISSUE_CREATED,
    "jira:issue_updated": EventKind.ISSUE_UPDATED,
    "jira:issue_deleted": EventKind.ISSUE_DELETED,
    "comment_created": EventKind.COMMENT_CREATED,
}


def parse_event(body: bytes) -> TrackerEvent | None:
    """A Jira webhook body (v2 shapes, 1.10) as an event; None for others or unreadable ones."""
    try:
        payload = json.loads(body)
        kind = EVENT_KINDS.get(payload.get("webhookEvent", ""))
        if kind is None or not isinstance(payload.get("issue"), dict):
            return None
        raw_issue = payload["issue"]
        raw_comment = payload.get("comment")
        if kind is EventKind.ISSUE_UPDATED and isinstance(raw_comment, dict):
            kind = EventKind.COMMENT_CREATED
        issue = parse_issue(
            {**raw_issue, "fields": {**raw_issue.get("fields", {}), "comment": None}}
        )
        comment = parse_comment(raw_comment) if isinstance(raw_comment, dict) else None
        site = urlsplit(str(raw_issue.get("self", ""))).netloc
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return TrackerEvent(kind, site, replace(issue, comments=()), comment)
