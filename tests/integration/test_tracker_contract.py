"""The IssueTracker contract, held by the fake and by the Jira adapter talking to the emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from customercase.adapters.fakes.tracker import FakeIssueTrackers
from customercase.adapters.jira.tracker import JiraIssueTracker, JiraIssueTrackers, RetryPolicy
from customercase.domain.errors import TrackerRejected, TrackerUnavailable
from customercase.domain.ports import IssueTracker
from customercase.domain.tracker import NewIssue, TrackerConnection
from tests.emulators.jira import JiraEmulator

FAST = RetryPolicy(attempts=6, backoff_seconds=0.01, max_wait_seconds=1.0)


def new_issue(summary: str = "Dark mode", project: str = "SUP", label: str = "cc-1") -> NewIssue:
    return NewIssue(
        project, "Task", summary, "Line one\nLine two", "http://forum/ideas/1", (label,)
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
        yield client


def on_emulator(
    emulator: JiraEmulator,
    http: httpx.AsyncClient,
    token: str = "token",  # noqa: S107
) -> JiraIssueTracker:
    emulator.page_cap = 2
    connection = TrackerConnection(emulator.base_url, "bot@example.org", token)
    return JiraIssueTrackers(http, FAST).open(connection)


@pytest.fixture(params=["fake", "jira"])
def tracker(
    request: pytest.FixtureRequest, jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> IssueTracker:
    if request.param == "fake":
        return FakeIssueTrackers().open(
            TrackerConnection("http://fake", "bot@example.org", "token")
        )
    return on_emulator(jira_emulator, http)


async def test_a_filed_issue_is_found_by_its_marker_label_and_keeps_the_link(
    tracker: IssueTracker,
) -> None:
    created = await tracker.create_issue(new_issue(label="cc-abc"))

    found = await tracker.find_labelled("SUP", "cc-abc")
    missing = await tracker.find_labelled("SUP", "cc-other")
    description = await tracker.get_description(created.key)

    assert created.key.startswith("SUP-")
    assert found is not None and found.key == created.key
    assert missing is None
    assert "Line one\nLine two" in description and "http://forum/ideas/1" in description


async def test_comments_come_back_in_the_order_they_were_added(tracker: IssueTracker) -> None:
    issue = await tracker.create_issue(new_issue())

    first = await tracker.add_comment(issue.key, "First")
    await tracker.add_comment(issue.key, "Second\nline")
    listed = await tracker.list_comments(issue.key)

    assert [c.body for c in listed] == ["First", "Second\nline"]
    assert listed[0].id == first.id and first.author is not None


async def test_searching_pages_through_every_issue_exactly_once(tracker: IssueTracker) -> None:
    keys = {(await tracker.create_issue(new_issue(f"Idea {n}"))).key for n in range(5)}

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await tracker.search_updated("SUP", None, token)
        seen += [i.key for i in page.issues]
        pages += 1
        token = page.next_page_token
        if token is None:
            break

    assert sorted(seen) == sorted(keys)
    assert pages >= 3
    assert all(i.status_category == "new" for i in page.issues)


async def test_an_unknown_project_is_rejected_for_good(tracker: IssueTracker) -> None:
    with pytest.raises(TrackerRejected):
        await tracker.create_issue(new_issue(project="NOPE"))


async def test_a_missing_issue_is_rejected_for_good(tracker: IssueTracker) -> None:
    with pytest.raises(TrackerRejected):
        await tracker.get_description("SUP-999")


async def test_the_account_behind_the_credentials_is_named(tracker: IssueTracker) -> None:
    me = await tracker.myself()

    assert me.account_id and me.email == "bot@example.org"


async def test_a_wrong_token_is_rejected_not_retried(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http, token="wrong")

    with pytest.raises(TrackerRejected) as error:
        await tracker.myself()

    assert error.value.status == 401
    assert jira_emulator.calls == 1


async def test_a_rate_limited_jira_still_gets_every_page_read(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http)
    jira_emulator.add_user("r", "Reporter", "r@example.org")
    jira_emulator.bulk_create("SUP", 9, ["r"])
    jira_emulator.faults.rate_limit_every = 3
    jira_emulator.faults.retry_after = "0"

    seen, token = [], None
    while True:
        page = await tracker.search_updated("SUP", None, token)
        seen += page.issues
        if (token := page.next_page_token) is None:
            break

    assert len({i.key for i in seen}) == 9
    assert any(r[1] == "/rest/api/3/search/jql" for r in jira_emulator.requests)


async def test_retry_after_is_waited_out_before_asking_again(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http)
    jira_emulator.faults.fail_next = [429]
    jira_emulator.faults.retry_after = "0.3"
    started = time.monotonic()
    await tracker.myself()

    assert time.monotonic() - started >= 0.3


async def test_passing_server_errors_slow_and_malformed_answers_are_retried_on_reads(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http)
    issue = await tracker.create_issue(new_issue())
    jira_emulator.faults.fail_next = [503, 502]
    jira_emulator.faults.retry_after = "0"
    jira_emulator.faults.malformed_next = 0

    description = await tracker.get_description(issue.key)
    jira_emulator.faults.malformed_next = 1
    page = await tracker.search_updated("SUP", None, None)
    jira_emulator.faults.slow_next = 0.8
    again = await tracker.list_comments(issue.key)

    assert "Line one" in description
    assert [i.key for i in page.issues] == [issue.key]
    assert again == []


async def test_a_server_error_on_create_is_not_blindly_retried(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http)
    jira_emulator.faults.fail_next = [500]

    with pytest.raises(TrackerUnavailable):
        await tracker.create_issue(new_issue())

    assert jira_emulator.calls == 1


async def test_a_reporter_who_hides_their_email_comes_back_without_one(
    jira_emulator: JiraEmulator, http: httpx.AsyncClient
) -> None:
    tracker = on_emulator(jira_emulator, http)
    jira_emulator.add_user("hidden", "Hidden Person", "h@example.org", email_visible=False)
    jira_emulator.create("SUP", "From a private person", "hidden")

    page = await tracker.search_updated("SUP", None, None)

    reporter = page.issues[0].reporter
    assert reporter is not None and reporter.account_id == "hidden" and reporter.email is None
