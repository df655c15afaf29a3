"""A Jira Cloud emulator on loopback, following external-apis.md §1 (1.12 in particular).

Basic auth on /rest/api/3/*; issues, comments (ADF required), JQL search with nextPageToken
and a page cap lower than maxResults, users whose email may be hidden, the removed
/rest/api/3/search answering 410, and switches for 429 + Retry-After, 5xx, slow answers and
malformed bodies. Changes made through it queue signed webhooks that `deliver` posts to the app.

Run by hand for a demo: `python -m tests.emulators.jira 8765` (user demo@example.org / token).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

STATUSES = {
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "Done": ("10001", "done"),
    "Won't Do": ("10002", "done"),
}


def jira_time(when: datetime) -> str:
    return (
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    )


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]}
            for line in text.splitlines()
            if line
        ],
    }


def is_adf(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("type") == "doc"
        and doc.get("version") == 1
        and isinstance(doc.get("content"), list)
    )


@dataclass
class User:
    account_id: str
    name: str
    email: str | None
    email_visible: bool = True

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accountId": self.account_id,
            "displayName": self.name,
            "active": True,
            "accountType": "atlassian",
        }
        if self.email_visible:
            body["emailAddress"] = self.email
        return body


@dataclass
class Issue:
    id: str
    key: str
    project: str
    summary: str
    description: Any
    status: str
    reporter: str
    labels: list[str]
    created: datetime
    updated: datetime
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Faults:
    rate_limit_every: int = 0  # every Nth API call answers 429
    retry_after: str = "1"
    fail_next: list[int] = field(default_factory=list)  # statuses to answer to the next calls
    malformed_next: int = 0
    latency: float = 0.0
    slow_next: float = 0.0


class JiraEmulator:
    def __init__(self, site: str = "acme", page_cap: int = 100) -> None:
        self.lock = threading.RLock()
        self.site = site
        self.base_url = ""  # where it is served; webhook bodies link there
        self.page_cap = page_cap
        self.tokens: dict[str, str] = {"bot@example.org": "token"}
        self.users: dict[str, User] = {}
        self.projects: dict[str, str] = {"SUP": "10000"}
        self.issues: dict[str, Issue] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.calls = 0
        self.webhooks: list[tuple[str, dict[str, Any]]] = []
        self._next_id = 10000
        self._next_comment = 30000
        self.add_user("bot-account", "Case Bot", "bot@example.org")

    # ---- state helpers, as a Jira user clicking around ----

    def add_user(
        self, account_id: str, name: str, email: str | None, email_visible: bool = True
    ) -> User:
        with self.lock:
            user = User(account_id, name, email, email_visible)
            self.users[account_id] = user
            return user

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def create(
        self,
        project: str,
        summary: str,
        reporter: str,
        *,
        status: str = "To Do",
        labels: list[str] | None = None,
        description: Any = None,
        notify: bool = True,
    ) -> Issue:
        with self.lock:
            self._next_id += 1
            number = 1 + sum(1 for i in self.issues.values() if i.project == project)
            now = self._now()
            issue = Issue(
                str(self._next_id),
                f"{project}-{number}",
                project,
                summary,
                description,
                status,
                reporter,
                labels or [],
                now,
                now,
            )
            self.issues[issue.key] = issue
            if notify:
                self._queue(
                    "jira:issue_created",
                    issue,
                    {"issue_event_type_name": "issue_created", "user": self.users[reporter].json()},
                )
            return issue

    def bulk_create(self, project: str, count: int, reporters: list[str]) -> None:
        for n in range(count):
            self.create(
                project,
                f"Imported issue number {n + 1}",
                reporters[n % len(reporters)],
                notify=False,
            )

    def transition(self, key: str, status: str, actor: str = "bot-account") -> None:
        with self.lock:
            issue = self.issues[key]
            old = issue.status
            issue.status, issue.updated = status, self._now()
            item = {
                "field": "status",
                "fieldtype": "jira",
                "fieldId": "status",
                "from": STATUSES[old][0],
                "fromString": old,
                "to": STATUSES[status][0],
                "toString": status,
            }
            self._queue(
                "jira:issue_updated",
                issue,
                {
                    "issue_event_type_name": "issue_generic",
                    "user": self.users[actor].json(),
                    "changelog": {"id": uuid.uuid4().hex[:8], "items": [item]},
                },
            )

    def comment(self, key: str, author: str, text: str) -> dict[str, Any]:
        with self.lock:
            comment = self._add_comment(self.issues[key], author, adf(text))
            self._queue("comment_created", self.issues[key], {"comment": comment}, short=True)
            return comment

    def delete(self, key: str) -> None:
        with self.lock:
            issue = self.issues.pop(key)
            self._queue("jira:issue_deleted", issue, {"user": self.users["bot-account"].json()})

    def _add_comment(self, issue: Issue, author: str, body: Any) -> dict[str, Any]:
        self._next_comment += 1
        now = self._now()
        comment = {
            "id": str(self._next_comment),
            "author": self.users[author].json(),
            "body": body,
            "created": jira_time(now),
            "updated": jira_time(now),
            "jsdPublic": True,
        }
        issue.comments.append(comment)
        issue.updated = now
        return comment

    # ---- representations ----

    def _status(self, name: str) -> dict[str, Any]:
        status_id, category = STATUSES[name]
        return {"id": status_id, "name": name, "statusCategory": {"key": category, "name": name}}

    def _issue_json(self, issue: Issue, fields: list[str] | None, base: str) -> dict[str, Any]:
        everything = {
            "summary": issue.summary,
            "status": self._status(issue.status),
            "reporter": self.users[issue.reporter].json(),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "labels": list(issue.labels),
            "project": {"id": self.projects[issue.project], "key": issue.project},
            "issuetype": {"name": "Task"},
            "description": issue.description,
            "comment": {
                "comments": issue.comments[:20],
                "total": len(issue.comments),
                "maxResults": 20,
                "startAt": 0,
            },
        }
        wanted = (
            everything
            if fields is None or "*all" in fields
            else {k: v for k, v in everything.items() if k in fields}
        )
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{base}/rest/api/3/issue/{issue.id}",
            "fields": wanted,
        }

    def _queue(self, event: str, issue: Issue, extra: dict[str, Any], short: bool = False) -> None:
        base = self.base_url or f"https://{self.site}.atlassian.net"
        body = self._issue_json(
            issue, ["summary", "status", "project", "issuetype"] if short else None, base
        )
        body["self"] = f"{base}/rest/api/2/{issue.id}"
        payload = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "issue": body,
            **extra,
        }
        self.webhooks.append((str(uuid.uuid4()), payload))

    async def deliver(
        self,
        client: httpx.AsyncClient,
        url: str | list[str],
        secret: str | None,
        *,
        drop: float = 0.0,
        repeat: bool = False,
        seed: int = 0,
    ) -> list[int]:
        """Post the queued webhooks, signed; `drop` loses that share of them, as networks do.

        A connection that fails or is cut off is retried, as Jira does, with the retry header,
        at the next of `url` when several are given (a load balancer's other nodes); when none
        is left the delivery is given up (status 0) and only a sync will bring the change in.
        """
        urls = [url] if isinstance(url, str) else list(url)
        import random

        rng = random.Random(seed)
        with self.lock:
            queued, self.webhooks = self.webhooks, []
        statuses = []
        for identifier, payload in queued:
            if rng.random() < drop:
                continue
            raw = json.dumps(payload).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Atlassian-Webhook-Identifier": identifier,
                "X-Atlassian-Webhook-Flow": "Primary",
            }
            if secret is not None:
                headers["X-Hub-Signature"] = (
                    "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
                )
            attempt = 0
            for _ in range(2 if repeat else 1):
                for target in urls:
                    if attempt:
                        headers["X-Atlassian-Webhook-Retry"] = str(attempt)
                    attempt += 1
                    try:
                        response = await client.post(target, content=raw, headers=headers)
                    except httpx.TransportError:
                        continue
                    statuses.append(response.status_code)
                    break
                else:
                    statuses.append(0)
        return statuses

    # ---- the HTTP side ----

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, payload, extra = await self._answer(
            scope["method"], scope["path"], parse_qs(scope["query_string"].decode()), headers, body
        )
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        out = [(b"content-type", b"application/json")] + [
            (k.encode(), v.encode()) for k, v in extra.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": raw})

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            email, token = base64.b64decode(auth[6:]).decode().split(":", 1)
        except ValueError:
            return False
        return self.tokens.get(email) == token

    async def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.requests.append((method, path, headers, body))
            self.calls += 1
            faults = self.faults
            delay = faults.latency + faults.slow_next
            faults.slow_next = 0.0
            if faults.rate_limit_every and self.calls % faults.rate_limit_every == 0:
                fault: tuple[int, Any, dict[str, str]] | None = (
                    429,
                    b"Too many requests",
                    {
                        "Retry-After": faults.retry_after,
                        "X-RateLimit-Limit": "100",
                        "X-RateLimit-Remaining": "0",
                        "RateLimit-Reason": "jira-quota-based",
                    },
                )
            elif faults.fail_next:
                code = faults.fail_next.pop(0)
                fault = (
                    code,
                    {"errorMessages": ["Internal server error"], "errors": {}},
                    {"Retry-After": faults.retry_after} if code in (429, 503) else {},
                )
            elif faults.malformed_next:
                faults.malformed_next -= 1
                fault = (200, b'{"issues": [', {})
            else:
                fault = None
        if delay:
            await asyncio.sleep(delay)
        if fault:
            return fault
        if not path.startswith("/rest/api/3/"):
            return 404, {"errorMessages": ["Not found"], "errors": {}}, {}
        if not self._authorised(headers):
            return 401, {"errorMessages": ["You are not authenticated."], "errors": {}}, {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return (
                400,
                {"errorMessages": ["Unexpected character in request body."], "errors": {}},
                {},
            )
        base = f"http://{headers.get('host', 'localhost')}"
        with self.lock:
            return self._route(method, path[len("/rest/api/3") :], query, data, headers, base)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        data: Any,
        headers: dict[str, str],
        base: str,
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/myself" and method == "GET":
            email = base64.b64decode(headers["authorization"][6:]).decode().split(":", 1)[0]
            user = next(u for u in self.users.values() if u.email == email)
            return 200, {**user.json(), "emailAddress": email}, {}
        if path == "/search":
            return (
                410,
                {
                    "errorMessages": [
                        "The requested API has been removed. "
                        "Please migrate to the /rest/api/3/search/jql API."
                    ],
                    "errors": {},
                },
                {},
            )
        if path == "/search/jql":
            params = data if method == "POST" else {k: v[0] for k, v in query.items()}
            return self._search(params, base)
        if path == "/issue" and method == "POST":
            return self._create(data, base)
        found = re.fullmatch(r"/issue/([^/]+)(/comment)?", path)
        if found:
            issue = self.issues.get(found.group(1)) or next(
                (i for i in self.issues.values() if i.id == found.group(1)), None
            )
            if issue is None:
                return (
                    404,
                    {
                        "errorMessages": [
                            "Issue does not exist or you do not have permission to see it."
                        ],
                        "errors": {},
                    },
                    {},
                )
            if not found.group(2):
                fields = query.get("fields", [None])[0]
                return 200, self._issue_json(issue, fields.split(",") if fields else None, base), {}
            if method == "POST":
                if not is_adf(data.get("body")):
                    return (
                        400,
                        {
                            "errorMessages": [],
                            "errors": {"comment": "Comment body is not valid ADF."},
                        },
                        {},
                    )
                email = base64.b64decode(headers["authorization"][6:]).decode().split(":", 1)[0]
                author = next(u for u in self.users.values() if u.email == email)
                comment = self._add_comment(issue, author.account_id, data["body"])
                self._queue("comment_created", issue, {"comment": comment}, short=True)
                return 201, comment, {}
            start = int(query.get("startAt", ["0"])[0])
            size = min(int(query.get("maxResults", ["50"])[0]), 50)
            return (
                200,
                {
                    "startAt": start,
                    "maxResults": size,
                    "total": len(issue.comments),
                    "comments": issue.comments[start : start + size],
                },
                {},
            )
        return 404, {"errorMessages": ["Not found"], "errors": {}}, {}

    def _create(self, data: dict[str, Any], base: str) -> tuple[int, Any, dict[str, str]]:
        fields = data.get("fields") or {}
        errors: dict[str, str] = {}
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            errors["project"] = "Specify a valid project ID or key"
        if (fields.get("issuetype") or {}).get("name") not in ("Task", "Story", "Bug"):
            errors["issuetype"] = "Specify a valid issue type"
        if (
            "description" in fields
            and fields["description"] is not None
            and not is_adf(fields["description"])
        ):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, {}
        issue = self.create(
            project,
            fields["summary"],
            "bot-account",
            labels=list(fields.get("labels") or []),
            description=fields.get("description"),
        )
        return (
            201,
            {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/3/issue/{issue.id}"},
            {},
        )

    def _search(self, params: dict[str, Any], base: str) -> tuple[int, Any, dict[str, str]]:
        jql = str(params.get("jql") or "")
        project = re.search(r'project\s*=\s*"?([A-Z][A-Z0-9_]*)"?', jql)
        if not project:
            return (
                400,
                {
                    "errorMessages": [
                        "Unbounded JQL queries are not allowed here. "
                        "Please add a search restriction to your query."
                    ],
                    "errors": {},
                },
                {},
            )
        matching = [i for i in self.issues.values() if i.project == project.group(1)]
        label = re.search(r'labels\s*=\s*"([^"]+)"', jql)
        if label:
            matching = [i for i in matching if label.group(1) in i.labels]
        since = re.search(r'updated\s*>=\s*"(\d{4}-\d\d-\d\d \d\d:\d\d)"', jql)
        if since:
            bound = datetime.strptime(since.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            matching = [i for i in matching if i.updated >= bound]
        by_updated = "ORDER BY updated" in jql

        def order(i: Issue) -> tuple[str, int]:
            # Whole microseconds: the token must name exactly one place in this order.
            return ((i.updated if by_updated else i.created).isoformat(), int(i.id))

        matching.sort(key=order)
        after = params.get("nextPageToken")
        if after:
            try:
                position = json.loads(base64.urlsafe_b64decode(after))
            except ValueError:
                return 400, {"errorMessages": ["Invalid nextPageToken."], "errors": {}}, {}
            matching = [i for i in matching if order(i) > tuple(position)]
        size = min(int(params.get("maxResults") or 50), self.page_cap)
        page, rest = matching[:size], matching[size:]
        fields = params.get("fields")
        if isinstance(fields, str):
            fields = fields.split(",")
        issues = [self._issue_json(i, fields or [], base) if fields else {"id": i.id} for i in page]
        answer: dict[str, Any] = {"issues": issues, "isLast": not rest}
        if rest:
            last = order(page[-1])
            answer["nextPageToken"] = base64.urlsafe_b64encode(
                json.dumps(list(last)).encode()
            ).decode()
        return 200, answer, {}


if __name__ == "__main__":
    import sys

    import uvicorn

    emulator = JiraEmulator()
    emulator.tokens["demo@example.org"] = "token"
    emulator.add_user("demo-account", "Demo", "demo@example.org")
    uvicorn.run(emulator, host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
