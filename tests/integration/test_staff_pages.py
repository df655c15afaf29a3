"""The staff pages over HTTP: merge, moderation queue, delivery problems, Jira binding."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from customercase.adapters.fakes.system import FixedClock
from customercase.bootstrap import Container
from customercase.entrypoints.http.pages import queues
from tests.emulators.postmark import PostmarkEmulator
from tests.integration.conftest import Browser, JiraWorld
from tests.integration.mailflow import drain
from tests.integration.test_pages import HTML, post_form
from tests.integration.walk import open_forum, sign_up, submit

HTMX = {"hx_request": "true"}


async def people(browser: Browser, *names: str) -> list[httpx.AsyncClient]:
    clients = []
    for name in names:
        client = await browser()
        await sign_up(client, name)
        clients.append(client)
    return clients


async def test_staff_merge_a_duplicate_after_seeing_what_moves_and_can_undo_it(
    browser: Browser,
) -> None:
    staff, fan = await people(browser, "Sam Staff", "Fay Fan")
    forum = await open_forum(staff)
    keep = await submit(staff, forum["id"], "Export reports as CSV")
    dup = await submit(fan, forum["id"], "CSV export of the reports, please")
    await fan.post(f"/api/v1/ideas/{dup['id']}/comments", json={"body": "Weekly would do"})

    search = await staff.get(f"/ideas/{dup['id']}/merge", params={"q": "reports"}, headers=HTML)
    confirm = await staff.get(
        f"/ideas/{dup['id']}/merge", params={"into": keep["html_url"]}, headers=HTML
    )
    merged = await post_form(staff, f"/ideas/{dup['id']}/merge", {"into": keep["id"]})
    dup_page = await fan.get(f"/ideas/{dup['id']}", headers=HTML)
    survivor = (await fan.get(f"/api/v1/ideas/{keep['id']}")).json()

    assert search.status_code == 200
    assert f"/ideas/{dup['id']}/merge?into={keep['id']}" in search.text
    assert confirm.status_code == 200
    assert "<li>1 vote (" in confirm.text and "<li>1 comment</li>" in confirm.text
    assert "1 watcher not yet watching it" in confirm.text
    assert merged.status_code == 303 and merged.headers["location"] == f"/ideas/{dup['id']}"
    assert "This idea was merged into" in dup_page.text
    assert f'<a href="/ideas/{keep["id"]}">Export reports as CSV</a>' in dup_page.text
    assert "Post comment" not in dup_page.text and "Unmerge" not in dup_page.text
    assert survivor["votes"] == 2 and survivor["comments"] == 1

    staff_dup = await staff.get(f"/ideas/{dup['id']}", headers=HTML)
    undone = await post_form(staff, f"/ideas/{dup['id']}/unmerge", {})
    back = (await fan.get(f"/api/v1/ideas/{dup['id']}")).json()

    assert "Unmerge</button>" in staff_dup.text
    assert undone.status_code == 303
    assert back["merged_into"] is None and back["votes"] == 1 and back["comments"] == 1


async def test_a_merge_that_cannot_be_done_is_explained_by_the_field(browser: Browser) -> None:
    (staff,) = await people(browser, "Sam Staff")
    forum = await open_forum(staff)
    other = await open_forum(staff)
    idea = await submit(staff, forum["id"], "Dark mode")
    elsewhere = await submit(staff, other["id"], "Light mode")

    itself = await staff.get(f"/ideas/{idea['id']}/merge?into={idea['id']}", headers=HTML)
    unknown = await staff.get(f"/ideas/{idea['id']}/merge?into=nope", headers=HTML)
    foreign = await post_form(staff, f"/ideas/{idea['id']}/merge", {"into": elsewhere["id"]})

    assert itself.status_code == 422 and "cannot be merged into itself" in itself.text
    assert 'id="into-error"' in itself.text
    assert unknown.status_code == 422 and "No idea of this forum" in unknown.text
    assert foreign.status_code == 409 and "same forum" in foreign.text


async def test_customers_and_outsiders_get_no_staff_page(browser: Browser) -> None:
    staff, customer, anonymous = await people(browser, "Sam Staff", "Cy Customer") + [
        await browser()
    ]
    forum = await open_forum(staff)
    private = await open_forum(staff, "private")
    idea = await submit(staff, forum["id"], "Dark mode")
    other = await submit(staff, forum["id"], "Night mode")
    paths = [
        f"/ideas/{idea['id']}/merge",
        f"/forums/{forum['id']}/moderation",
        f"/forums/{forum['id']}/deliveries",
        f"/forums/{forum['id']}/settings",
    ]

    refused = [(await customer.get(p, headers=HTML)).status_code for p in paths]
    hidden = [
        (await customer.get(f"/forums/{private['id']}/{p}", headers=HTML)).status_code
        for p in ("moderation", "deliveries", "settings")
    ]
    signed_out = await anonymous.get(paths[1], headers=HTML)
    merge = await post_form(customer, f"/ideas/{idea['id']}/merge", {"into": other["id"]})
    bind = await post_form(customer, f"/forums/{forum['id']}/jira/unbind", {})
    idea_page = await customer.get(f"/ideas/{idea['id']}", headers=HTML)

    assert refused == [403, 403, 403, 403] and hidden == [404, 404, 404]
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    assert merge.status_code == 403 and bind.status_code == 403
    assert "/merge" not in idea_page.text
    assert (await customer.get(f"/api/v1/ideas/{idea['id']}")).json()["merged_into"] is None


async def test_staff_approve_in_place_and_reject_held_posts_from_the_queue(
    browser: Browser,
) -> None:
    staff, newcomer, reader = await people(browser, "Sam Staff", "Nia <b>New</b>", "Rex Reader")
    forum = await open_forum(staff, holds_first_posts=True)
    queue = f"/forums/{forum['id']}/moderation"
    empty = await staff.get(queue, headers=HTML)
    held = await newcomer.post(
        f"/api/v1/forums/{forum['id']}/ideas", json={"summary": "Tabs <script>x()</script>"}
    )
    listed = await staff.get(queue, headers=HTML)

    approved = await post_form(
        staff, f"{queue}/{held.json()['id']}", {"decision": "approve"}, **HTMX
    )
    again = await post_form(staff, f"{queue}/{held.json()['id']}", {"decision": "reject"})
    seen = await reader.get(f"/ideas/{held.json()['id']}", headers=HTML)

    assert "Nothing is waiting" in empty.text and "first post" in empty.text
    assert held.status_code == 202
    assert html.escape("Tabs <script>x()</script>", quote=False) in listed.text
    assert "<script>x()" not in listed.text and "Nia &lt;b&gt;New&lt;/b&gt;" in listed.text
    assert approved.status_code == 200 and "<html" not in approved.text
    assert f'id="held-{held.json()["id"]}"' in approved.text and "Approved" in approved.text
    assert again.status_code == 303 and again.headers["location"].endswith("?done=gone")
    assert seen.status_code == 200

    (spammer,) = await people(browser, "Spam Sender")
    comment = await spammer.post(
        f"/api/v1/ideas/{held.json()['id']}/comments", json={"body": "Cheap pills"}
    )
    rejected = await post_form(staff, f"{queue}/{comment.json()['id']}", {"decision": "reject"})
    after = await staff.get(rejected.headers["location"], headers=HTML)
    comments = (await reader.get(f"/api/v1/ideas/{held.json()['id']}/comments")).json()

    assert rejected.status_code == 303 and "Rejected as spam." in after.text
    assert "Nothing is waiting" in after.text and comments["items"] == []


async def test_delivery_problems_name_recipient_and_reason_a_page_at_a_time(
    mail_browser: Browser,
    mail_container: Container,
    postmark: PostmarkEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staff, bounced, commenter = await people(mail_browser, "Ada Staff", "Bob Bounced", "Cy C")
    bob = (await bounced.get("/api/v1/me")).json()
    forum = await open_forum(staff)
    page = f"/forums/{forum['id']}/deliveries"
    empty = await staff.get(page, headers=HTML)
    idea = await submit(bounced, forum["id"], "Custom fields on the form")
    postmark.inactive.add(bob["email"])
    await commenter.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Me too"})
    await drain(mail_container)
    await drain(mail_container, FixedClock(datetime.now(UTC) + timedelta(days=2)))
    monkeypatch.setattr(queues, "PROBLEMS_PER_PAGE", 1)

    first = await staff.get(page, headers=HTML)
    older = first.text.split('class="next" href="', 1)[1].split('"', 1)[0]
    second = await staff.get(html.unescape(older), headers=HTML)
    customer = await commenter.get(page, headers=HTML)

    assert "No delivery problems" in empty.text
    for shown in (first, second):
        assert shown.status_code == 200 and bob["email"] in shown.text
        assert "inactive recipient" in shown.text
    assert "New comment" in first.text and "Request submitted" in second.text
    assert 'class="next"' not in second.text and "← Newest" in second.text
    assert customer.status_code == 403 and bob["email"] not in customer.text


async def test_staff_bind_a_forum_to_jira_with_errors_by_field_and_unbind_it(
    jira_world: JiraWorld,
) -> None:
    staff = await jira_world.browser()
    await sign_up(staff, "Sam Staff")
    forum = await open_forum(staff)
    bind = f"/forums/{forum['id']}/jira"
    site = jira_world.jira.base_url
    fields = {"site_url": site, "email": "bot@example.org", "issue_type": "Task"}

    bad_key = await post_form(staff, bind, {**fields, "api_token": "token", "project_key": "sup"})
    no_token = await post_form(staff, bind, {**fields, "project_key": "SUP"})
    wrong = await post_form(staff, bind, {**fields, "api_token": "nope", "project_key": "SUP"})
    bad_site = await post_form(
        staff, bind, {**fields, "site_url": "acme", "api_token": "token", "project_key": "SUP"}
    )
    bound = await post_form(staff, bind, {**fields, "api_token": "token", "project_key": "SUP"})
    settings = await staff.get(f"/forums/{forum['id']}/settings", headers=HTML)
    kept = await post_form(staff, bind, {**fields, "project_key": "OPS"})
    unbound = await post_form(staff, f"{bind}/unbind", {})
    after = await staff.get(unbound.headers["location"], headers=HTML)
    api = (await staff.get(f"/api/v1/forums/{forum['id']}")).json()

    assert bad_key.status_code == 422 and 'id="project_key-error"' in bad_key.text
    assert no_token.status_code == 422 and 'id="api_token-error"' in no_token.text
    assert wrong.status_code == 422 and "Jira refused this email and API token" in wrong.text
    assert bad_site.status_code == 422 and 'id="site_url-error"' in bad_site.text
    assert 'value="token"' not in wrong.text + bad_site.text
    assert bound.status_code == 303
    assert "Bound to project <strong>SUP</strong>" in settings.text and site in settings.text
    assert 'name="api_token" type="password" value=""' in settings.text
    assert kept.status_code == 303
    assert "The forum is no longer bound to Jira." in after.text
    assert "Bound to project" not in after.text and api["jira"] is None


async def test_the_staff_pages_link_to_each_other(browser: Browser) -> None:
    (staff,) = await people(browser, "Sam Staff")
    forum = await open_forum(staff)

    home = await staff.get(f"/forums/{forum['id']}", headers=HTML)
    settings = await staff.get(f"/forums/{forum['id']}/settings", headers=HTML)

    assert f'href="/forums/{forum["id"]}/moderation"' in home.text
    for path in ("settings", "moderation", "deliveries"):
        assert f'href="/forums/{forum["id"]}/{path}"' in settings.text
