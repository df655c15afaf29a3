"""The pages in a real Chromium: reading, signing up, submitting, voting, commenting, watching."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from customercase.bootstrap import Container
from customercase.domain.vendors import Visibility
from customercase.services import ideas, identity, vendors
from tests.e2e.conftest import (
    PASSWORD,
    OpenPage,
    Site,
    axe_violations,
    screenshot,
    sign_in,
    sign_up,
    unique_email,
)

pytestmark = pytest.mark.browser


async def submit_idea(page: Page, site: Site, summary: str, details: str = "") -> None:
    await page.goto(f"/forums/{site.demo.forum_id}")
    await page.get_by_role("link", name="Submit an idea").click()
    await page.get_by_label("Summary").fill(summary)
    if details:
        await page.get_by_label("Details").fill(details)
    await page.get_by_role("button", name="Submit idea").click()
    await page.wait_for_url(re.compile(r"/ideas/\w+$"))


async def test_the_first_tab_reaches_a_visible_skip_link(open_page: OpenPage, site: Site) -> None:
    page = await open_page()
    await page.goto(f"/forums/{site.demo.forum_id}")

    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    top = await page.evaluate("document.activeElement.getBoundingClientRect().top")

    assert focused == "Skip to content" and outline == "solid" and top >= 0


async def test_pages_forbid_framing_and_foreign_scripts(open_page: OpenPage, site: Site) -> None:
    page = await open_page()

    answer = await page.goto(f"/forums/{site.demo.forum_id}")

    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


async def test_search_and_votes_work_under_the_pages_own_security_policy(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page(bypass_csp=False)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    await sign_up(page, "Cora Policy")
    await page.goto(f"/forums/{site.demo.forum_id}?sort=new")

    await page.get_by_label("Search ideas").press_sequentially("csv", delay=20)
    await expect(page.locator(".idea-row")).to_have_count(1)
    await page.locator(".idea-row .vote-button").click()
    await expect(page.locator(".you-voted")).to_have_count(1)

    assert refused == []


async def test_a_visitor_reads_a_forum_and_an_idea(open_page: OpenPage, site: Site) -> None:
    page = await open_page()

    await page.goto(f"/forums/{site.demo.forum_id}")
    forum_problems = await axe_violations(page)
    await screenshot(page, "forum-desktop")
    rows = page.locator(".idea-row")
    first_summary = await rows.first.locator(".idea-title").inner_text()
    await rows.first.locator(".idea-title a").click()
    idea_problems = await axe_violations(page)
    await screenshot(page, "idea-desktop")

    await expect(page.get_by_role("heading", level=1)).to_have_text(first_summary)
    await expect(page.locator(".vote-button .count")).to_have_text(re.compile(r"^\d+$"))
    await expect(page.get_by_role("link", name="Sign in").last).to_be_visible()
    assert forum_problems == [] and idea_problems == []


async def test_the_forum_lists_ideas_top_first_with_counts(open_page: OpenPage, site: Site) -> None:
    page = await open_page()

    await page.goto(f"/forums/{site.demo.forum_id}")
    counts = [int(c) for c in await page.locator(".idea-row .vote-button .count").all_inner_texts()]
    comments = await page.locator(".idea-row .comments-count").all_inner_texts()

    assert len(counts) == 12 and counts == sorted(counts, reverse=True)
    assert all(re.fullmatch(r"\d+ comments?", c) for c in comments)


async def test_a_newcomer_signs_up_submits_votes_comments_and_watches(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    await sign_up(page, "Nora Newcomer")
    me_problems = await axe_violations(page)

    await page.goto(f"/forums/{site.demo.forum_id}/ideas/new")
    submit_problems = await axe_violations(page)
    await submit_idea(page, site, "Offline mode for the mobile app", "Trains have no signal.")
    idea_url = page.url
    vote = page.locator("form.vote")
    voted_at_first = await vote.locator(".count").inner_text()
    await page.evaluate("window.notReloaded = true")
    await vote.get_by_role("button").click()
    await expect(vote.locator(".count")).to_have_text("0")
    await expect(page.locator(".you-voted")).to_have_count(0)
    await page.locator("form.vote").get_by_role("button").click()
    await expect(page.locator("form.vote .count")).to_have_text("1")
    await expect(page.locator(".you-voted")).to_have_text("You voted")
    watch = page.locator("form.watch button")
    await expect(watch).to_have_attribute("aria-pressed", "true")
    await watch.click()
    await expect(page.locator("form.watch button")).to_have_attribute("aria-pressed", "false")
    still_same_page = await page.evaluate("window.notReloaded === true")
    await page.get_by_label("Add a comment").fill("I would use this every day.")
    await page.get_by_role("button", name="Post comment").click()
    await page.wait_for_load_state()
    comment = await page.locator(".comment").last.inner_text()
    await page.locator("form.watch button").click()
    await expect(page.locator("form.watch button")).to_have_attribute("aria-pressed", "true")
    await page.goto("/me")
    watched = await page.locator(".plain-list a").all_inner_texts()

    assert voted_at_first == "1"  # the author's own vote
    assert still_same_page and re.search(r"/ideas/\w+$", idea_url)
    assert "I would use this every day." in comment and "Nora Newcomer" in comment
    assert "Offline mode for the mobile app" in watched
    assert me_problems == [] and submit_problems == []


async def test_search_updates_the_list_as_you_type(open_page: OpenPage, site: Site) -> None:
    page = await open_page()
    await page.goto(f"/forums/{site.demo.forum_id}")
    await page.evaluate("window.notReloaded = true")

    await page.get_by_label("Search ideas").press_sequentially("dark", delay=30)
    await expect(page.locator(".idea-row")).to_have_count(1)
    titles = await page.locator(".idea-title").all_inner_texts()
    await page.get_by_label("Search ideas").fill("zebra crossings")
    await expect(page.locator(".empty")).to_contain_text("No ideas match “zebra crossings”")
    announced = await page.locator("#results-status").inner_text()
    await page.get_by_label("Search ideas").fill("")
    await page.get_by_label("Status").select_option("done")
    await expect(page.locator(".idea-row")).to_have_count(2)
    statuses = await page.locator(".idea-row .status").all_inner_texts()

    assert titles == ["Dark mode for the dashboard"]
    assert announced == "0 ideas shown for “zebra crossings”"
    assert statuses == ["Done", "Done"]
    assert await page.evaluate("window.notReloaded === true")
    assert parse_qs(urlsplit(page.url).query) == {"status": ["done"]}


async def test_the_core_flows_work_with_javascript_off(open_page: OpenPage, site: Site) -> None:
    page = await open_page(java_script_enabled=False)
    email = await sign_up(page, "Jo Nojs")
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, email, PASSWORD)

    await page.goto(f"/forums/{site.demo.forum_id}?q=export")
    found = await page.locator(".idea-title").all_inner_texts()
    await page.get_by_label("Search ideas").fill("keyboard")
    await page.get_by_role("button", name="Search").click()
    searched = await page.locator(".idea-title").all_inner_texts()
    row = page.locator(".idea-row").first
    before = int(await row.locator(".vote-button .count").inner_text())
    await row.locator(".vote-button").click()
    after = int(await page.locator(".idea-row").first.locator(".vote-button .count").inner_text())
    await page.locator(".idea-row").first.locator(".watch-button").click()
    watching = (
        await page.locator(".idea-row").first.locator(".watch-button").get_attribute("aria-pressed")
    )
    await page.locator(".idea-row .idea-title a").first.click()
    await page.get_by_label("Add a comment").fill("Works without JavaScript too.")
    await page.get_by_role("button", name="Post comment").click()
    await submit_idea(page, site, "Printable invoices without scripts")

    assert found == ["Export reports as CSV"] and searched == ["Keyboard shortcuts for triage"]
    assert after == before + 1 and watching == "true"
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Printable invoices without scripts"
    )


async def test_a_comment_posted_without_javascript_is_shown_after_posting(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page(java_script_enabled=False)
    await sign_up(page, "Cam Commenter")
    await page.goto(f"/forums/{site.demo.forum_id}")
    await page.locator(".idea-row .idea-title a").first.click()

    await page.get_by_label("Add a comment").fill("Seen right after posting.")
    await page.get_by_role("button", name="Post comment").click()

    await expect(page.locator(".comment").last).to_contain_text("Seen right after posting.")
    assert "#comment-" in page.url


async def test_an_empty_comment_shows_its_error_next_to_the_field(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page(java_script_enabled=False)
    await sign_up(page, "Ed Empty")
    await page.goto(f"/forums/{site.demo.forum_id}")
    await page.locator(".idea-row .idea-title a").first.click()

    await page.get_by_role("button", name="Post comment").click()

    field = page.get_by_label("Add a comment")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#body-error")).to_contain_text("Write a comment of 1 to")


async def test_a_too_short_password_is_explained_next_to_it(open_page: OpenPage) -> None:
    page = await open_page(java_script_enabled=False)
    await page.goto("/signup")

    await page.get_by_label("Your name").fill("Sam Short")
    await page.get_by_label("Email").fill(unique_email("Sam Short"))
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Sign up").click()

    await expect(page.locator("#password-error")).to_contain_text("10 to 1024 characters")
    await expect(page.get_by_label("Your name")).to_have_value("Sam Short")
    assert page.url.endswith("/signup")


async def test_an_anonymous_vote_leads_to_sign_in_and_back(open_page: OpenPage, site: Site) -> None:
    page = await open_page()
    await page.goto(f"/forums/{site.demo.forum_id}")

    await page.locator(".idea-row .vote-button").first.click()
    await page.wait_for_url("**/signin?next=*")
    signin_problems = await axe_violations(page)
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Your name").fill("Val Voter")
    await page.get_by_label("Email").fill(unique_email("Val Voter"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()

    await page.wait_for_url(f"**/forums/{site.demo.forum_id}")
    assert signin_problems == []


async def test_the_vote_button_works_from_the_keyboard_and_keeps_focus(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    await sign_up(page, "Kim Keys")
    await page.goto(f"/forums/{site.demo.forum_id}?sort=new")
    button = page.locator(".idea-row .vote-button").first
    before = int(await button.locator(".count").inner_text())

    await button.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".idea-row .vote-button").first.locator(".count")).to_have_text(
        str(before + 1)
    )
    focused = await page.evaluate("document.activeElement.className")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")

    assert focused == "vote-button" and outline == "solid"


@pytest.mark.parametrize("path", ["forum", "idea", "submit", "signup", "me"])
async def test_a_phone_wide_screen_never_scrolls_sideways(
    open_page: OpenPage, site: Site, path: str
) -> None:
    page = await open_page(viewport={"width": 360, "height": 740})
    await sign_up(page, "Pat Phone with a rather long name indeed")
    urls = {
        "forum": f"/forums/{site.demo.forum_id}",
        "submit": f"/forums/{site.demo.forum_id}/ideas/new",
        "signup": "/signup",
        "me": "/me",
    }
    if path == "idea":
        await page.goto(urls["forum"])
        await page.locator(".idea-row .idea-title a").first.click()
    else:
        await page.goto(urls[path])

    width = await page.evaluate("document.documentElement.scrollWidth")
    await screenshot(page, f"{path}-phone")

    assert width <= 360


async def test_user_text_with_script_is_shown_as_text(open_page: OpenPage, site: Site) -> None:
    page = await open_page()
    await sign_up(page, "Mal <b>Lory</b>")
    summary = "<script>window.pwned = 1</script> Bold <b>move</b>"

    await submit_idea(page, site, summary, "<img src=x onerror='window.pwned = 2'>")
    heading = await page.get_by_role("heading", level=1).inner_text()
    details = await page.locator(".idea .prose").inner_text()
    author = await page.locator(".idea .by").inner_text()
    await page.goto(f"/forums/{site.demo.forum_id}?sort=new")
    listed = await page.locator(".idea-title").first.inner_text()

    assert heading == summary and listed == summary
    assert details == "<img src=x onerror='window.pwned = 2'>"
    assert "Mal <b>Lory</b>" in author
    assert await page.evaluate("window.pwned === undefined")


async def test_a_private_forum_is_a_404_page_for_outsiders(open_page: OpenPage, site: Site) -> None:
    async def private_forum(container: Container) -> tuple[str, str]:
        kw = {"uow": container.uow(), "clock": container.clock(), "ids": container.ids()}
        staff = await identity.sign_up(
            identity.SignUp(unique_email("Sue Staff"), "Sue Staff", PASSWORD),
            hasher=container.hasher(),
            **kw,  # type: ignore[arg-type]
        )
        vendor = await vendors.create_vendor(
            vendors.CreateVendor("Hush", f"hush-{staff.user.id[:8]}", staff.user.id), **kw
        )
        forum = await vendors.create_forum(
            vendors.CreateForum(
                vendor.vendor.id, "Secret roadmap", "secret", Visibility.PRIVATE, staff.user.id
            ),
            **kw,
        )
        idea = await ideas.submit_idea(
            ideas.SubmitIdea(forum.id, staff.user.id, "Hidden idea"), spam=container.spam(), **kw
        )
        return forum.id, idea.idea.id

    forum_id, idea_id = site.seed(private_forum)
    page = await open_page()
    await sign_up(page, "Otto Outsider")

    forum_answer = await page.goto(f"/forums/{forum_id}")
    forum_heading = await page.get_by_role("heading", level=1).inner_text()
    not_found_problems = await axe_violations(page)
    idea_answer = await page.goto(f"/ideas/{idea_id}")
    body = await page.content()

    assert forum_answer is not None and forum_answer.status == 404
    assert forum_answer.headers["content-type"].startswith("text/html")
    assert forum_heading == "Page not found"
    assert idea_answer is not None and idea_answer.status == 404
    assert "Hidden idea" not in body and "Secret roadmap" not in body
    assert not_found_problems == []


async def test_staff_change_a_status_and_the_watcher_sees_it(
    open_page: OpenPage, site: Site
) -> None:
    watcher = await open_page()
    await sign_up(watcher, "Wes Watcher")
    await submit_idea(watcher, site, "Colour-blind friendly charts")
    idea_path = watcher.url.split(site.url, 1)[1]
    staff = await open_page()
    await sign_in(staff, site.demo.staff_email, site.demo.staff_password)

    await staff.goto(idea_path)
    staff_problems = await axe_violations(staff)
    await staff.get_by_label("Status", exact=True).select_option("planned")
    await staff.get_by_role("button", name="Change status").click()
    await staff.wait_for_load_state()
    await watcher.reload()

    await expect(staff.locator(".idea .status")).to_have_text("Planned")
    await expect(watcher.locator(".idea .status")).to_have_text("Planned")
    await expect(watcher.get_by_role("button", name="Change status")).to_have_count(0)
    assert staff_problems == []


async def test_staff_edit_forum_settings_with_errors_by_the_field(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    await sign_in(page, site.demo.staff_email, site.demo.staff_password)
    await page.goto(f"/forums/{site.demo.forum_id}")
    await page.get_by_role("link", name="Forum settings").click()
    settings_problems = await axe_violations(page)
    await screenshot(page, "settings-desktop")

    await page.get_by_role("textbox", name="Allowed email domains").fill(
        "acme.example\nnot a domain"
    )
    await page.get_by_role("button", name="Save settings").click()
    error = await page.locator("#allowed_domains-error").inner_text()
    await page.get_by_role("textbox", name="Allowed email domains").fill("acme.example")
    await page.get_by_role("button", name="Save settings").click()
    saved = await page.get_by_role("status").inner_text()
    await page.get_by_label("Email addresses").fill("friend@example.org, pal@example.org")
    await page.get_by_role("button", name="Invite").click()
    invited = await page.get_by_role("status").inner_text()

    assert "'not' is not an email domain" in error or "not an email domain" in error
    assert saved == "Settings saved." and invited == "Invitations saved."
    await expect(page.get_by_role("textbox", name="Allowed email domains")).to_have_value(
        "acme.example"
    )
    assert settings_problems == []


async def test_customers_cannot_open_forum_settings(open_page: OpenPage, site: Site) -> None:
    page = await open_page()
    await sign_up(page, "Cy Customer")

    answer = await page.goto(f"/forums/{site.demo.forum_id}/settings")

    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("link", name="Forum settings")).to_have_count(0)


async def test_similar_ideas_show_while_the_summary_is_typed(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    await sign_up(page, "Sid Similar")
    answer = {
        "items": [{"id": "abc", "summary": "<img src=x onerror=alert(1)> Dark mode", "votes": 7}]
    }

    async def similar(route: object) -> None:
        await route.fulfill(  # type: ignore[attr-defined]
            status=200, content_type="application/json", body=json.dumps(answer)
        )

    await page.route("**/ideas/similar?*", similar)
    await page.goto(f"/forums/{site.demo.forum_id}/ideas/new")
    await page.get_by_label("Summary").press_sequentially("dark theme", delay=20)

    panel = page.locator("#similar")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_role("link")).to_have_text("<img src=x onerror=alert(1)> Dark mode")
    await expect(panel).to_contain_text("7 votes")


async def test_the_similar_ideas_panel_stays_hidden_while_the_route_is_missing(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    await sign_up(page, "Ann Absent")
    await page.goto(f"/forums/{site.demo.forum_id}/ideas/new")

    async with page.expect_response("**/ideas/similar?*") as answer:
        await page.get_by_label("Summary").press_sequentially("zqxv unheard of", delay=20)

    assert (await answer.value).status in (200, 404)
    await expect(page.locator("#similar")).to_be_hidden()
