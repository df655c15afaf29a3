"""The issue tracker a forum may be bound to (Jira), as the rest of the model sees it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from customercase.domain.ideas import BODY_MAX, SUMMARY_MAX, SUMMARY_MIN, Status

MARKER_LABEL = "customer-case"
# Where Jira hides a user's email (1.8 of the API notes), the user is known by account id only;
# such people get an account under a reserved domain that no mail is ever sent to.
PLACEHOLDER_DOMAIN = "jira.invalid"

DEFAULT_CATEGORIES: dict[str, Status] = {
    "new": Status.OPEN,
    "indeterminate": Status.IN_PROGRESS,
    "done": Status.DONE,
}


def idea_label(idea_id: str) -> str:
    """The label that marks the issue filed for one idea, so a retry finds it, not a twin."""
    return f"cc-{idea_id}"


def fit_summary(raw: str, issue_key: str) -> str:
    """A Jira summary (up to 255 characters) as one of ours (3 to 200)."""
    summary = " ".join(raw.split())
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1] + "…"
    if len(summary) < SUMMARY_MIN:
        summary = f"{issue_key} {summary}".strip()
    return summary


def fit_body(raw: str) -> str:
    body = raw.strip() or "(empty comment)"
    return body if len(body) <= BODY_MAX else body[: BODY_MAX - 1] + "…"


def placeholder_email(account_id: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in account_id)
    return f"{safe}@{PLACEHOLDER_DOMAIN}"


@dataclass(frozen=True, slots=True)
class TrackerUser:
    account_id: str
    display_name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class TrackerComment:
    id: str
    author: TrackerUser | None
    body: str
    created: datetime


@dataclass(frozen=True, slots=True)
class TrackerIssue:
    id: str
    key: str
    project_key: str
    summary: str
    status_name: str
    status_category: str
    updated: datetime
    reporter: TrackerUser | None = None
    labels: tuple[str, ...] = ()
    # The comments the search carried along; None when there were more than it could carry.
    comments: tuple[TrackerComment, ...] | None = ()


@dataclass(frozen=True, slots=True)
class IssuePage:
    issues: list[TrackerIssue]
    next_page_token: str | None


class EventKind(enum.StrEnum):
    ISSUE_CREATED = "issue_created"
    ISSUE_UPDATED = "issue_updated"
    ISSUE_DELETED = "issue_deleted"
    COMMENT_CREATED = "comment_created"


@dataclass(frozen=True, slots=True)
class TrackerEvent:
    """One webhook from the tracker, translated; `site` is the host the issue lives on."""

    kind: EventKind
    site: str
    issue: TrackerIssue
    comment: TrackerComment | None = None


@dataclass(frozen=True, slots=True)
class NewIssue:
    project_key: str
    issue_type: str
    summary: str
    description: str
    link: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrackerConnection:
    """A vendor's Jira site and the account we act as; `api_token` is the sealed or open token."""

    site_url: str
    email: str
    api_token: str


@dataclass(frozen=True, slots=True)
class StatusMap:
    """How a forum reads Jira statuses: by exact name first, then by status category."""

    categories: dict[str, Status] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    names: dict[str, Status] = field(default_factory=dict)

    def status_of(self, status_name: str, category: str) -> Status:
        by_name = {k.casefold(): v for k, v in self.names.items()}
        if status_name.casefold() in by_name:
            return by_name[status_name.casefold()]
        return self.categories.get(category, DEFAULT_CATEGORIES.get(category, Status.OPEN))

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            "categories": {k: v.value for k, v in self.categories.items()},
            "names": {k: v.value for k, v in self.names.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, dict[str, str]] | None) -> StatusMap:
        if not raw:
            return cls()
        categories = dict(DEFAULT_CATEGORIES)
        categories.update({k: Status(v) for k, v in raw.get("categories", {}).items()})
        return cls(categories, {k: Status(v) for k, v in raw.get("names", {}).items()})
