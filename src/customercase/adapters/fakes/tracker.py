"""An issue tracker in memory: JiraIssueTracker's twin for tests and the demo."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from customercase.adapters.jira.tracker import parse_event
from customercase.domain.errors import TrackerRejected
from customercase.domain.tracker import (
    IssuePage,
    NewIssue,
    TrackerComment,
    TrackerConnection,
    TrackerEvent,
    TrackerIssue,
    TrackerUser,
)


class FakeIssueTracker:
    def __init__(
        self,
        token: str = "token",  # noqa: S107
        account: TrackerUser | None = None,
        page_size: int = 2,
    ) -> None:
        self.token = token
        self.account = account or TrackerUser("fake-account", "Case Bot", "bot@example.org")
        self.projects: set[str] = {"SUP"}
        self.issues: dict[str, TrackerIssue] = {}
        self.descriptions: dict[str, str] = {}
        self.comments: dict[str, list[TrackerComment]] = {}
        self.page_size = page_size
        self.opened_with: list[TrackerConnection] = []
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def _issue(self, key: str) -> TrackerIssue:
        if key not in self.issues:
            raise TrackerRejected(
                "Issue does not exist or you do not have permission to see it.", 404
            )
        return self.issues[key]

    async def myself(self) -> TrackerUser:
        if self.opened_with and self.opened_with[-1].api_token != self.token:
            raise TrackerRejected("Unauthorized", 401)
        return self.account

    async def create_issue(self, issue: NewIssue) -> TrackerIssue:
        if issue.project_key not in self.projects:
            raise TrackerRejected("project: Specify a valid project ID or key", 400)
        if not issue.summary:
            raise TrackerRejected("summary: You must specify a summary of the issue.", 400)
        number = 1 + sum(1 for k in self.issues if k.startswith(f"{issue.project_key}-"))
        created = TrackerIssue(
            id=str(10000 + len(self.issues)),
            key=f"{issue.project_key}-{number}",
            project_key=issue.project_key,
            summary=issue.summary,
            status_name="To Do",
            status_category="new",
            updated=self._tick(),
            reporter=self.account,
            labels=issue.labels,
        )
        self.issues[created.key] = created
        self.descriptions[created.key] = f"{issue.description}\nOn the forum: {issue.link}".strip()
        self.comments[created.key] = []
        return created

    async def find_labelled(self, project_key: str, label: str) -> TrackerIssue | None:
        for issue in self.issues.values():
            if issue.project_key == project_key and label in issue.labels:
                return issue
        return None

    async def add_comment(self, issue_key: str, body: str) -> TrackerComment:
        issue = self._issue(issue_key)
        comment = TrackerComment(
            str(20000 + sum(map(len, self.comments.values()))), self.account, body, self._tick()
        )
        self.comments[issue_key].append(comment)
        self.issues[issue_key] = replace(issue, updated=comment.created)
        return comment

    async def list_comments(self, issue_key: str) -> list[TrackerComment]:
        self._issue(issue_key)
        return list(self.comments[issue_key])

    async def get_description(self, issue_key: str) -> str:
        self._issue(issue_key)
        return self.descriptions[issue_key]

    async def search_updated(
        self, project_key: str, since: datetime | None, page_token: str | None
    ) -> IssuePage:
        matching = sorted(
            (
                i
                for i in self.issues.values()
                if i.project_key == project_key and (since is None or i.updated >= since)
            ),
            key=lambda i: (i.updated, i.key),
        )
        start = int(page_token or 0)
        page = [
            replace(i, comments=tuple(self.comments.get(i.key, ())))
            for i in matching[start : start + self.page_size]
        ]
        end = start + self.page_size
        return IssuePage(page, str(end) if end < len(matching) else None)

    def change(self, key: str, **changes: object) -> TrackerIssue:
        """Edit an issue as a Jira user would (status_name, status_category, summary)."""
        changed = replace(self.issues[key], updated=self._tick(), **changes)  # type: ignore[arg-type]
        self.issues[key] = changed
        return changed


class FakeIssueTrackers:
    def __init__(self, tracker: FakeIssueTracker | None = None) -> None:
        self.tracker = tracker or FakeIssueTracker()

    def open(self, connection: TrackerConnection) -> FakeIssueTracker:
        self.tracker.opened_with.append(connection)
        return self.tracker

    def parse_event(self, body: bytes) -> TrackerEvent | None:
        # Webhook bodies are Jira's own shapes; the fake reads them as the adapter does.
        return parse_event(body)
