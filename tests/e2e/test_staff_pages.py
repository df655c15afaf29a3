"""The staff pages in a real Chromium: merging two ideas, approving a held post, and every
staff page checked with axe-core and photographed at desktop and phone width."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from customercase.bootstrap import Container
from customercase.domain.ids import ForumId
from customercase.domain.vendors import Visibility
from customercase.services import ideas, vendors
from tests.e2e.conftest import OpenPage, Site, axe_violations, screenshot, sign_in, sign_up

pytestmark = pytest.mark.browser


def staff_forum(site: Site, summaries: tuple[str, ...] = (), holds: bool = False) -> list[str]:
    """A fresh forum of the demo vendor (so the demo forum's lists stay as other tests expect),
    with ideas by the demo staff; its id, then the ideas' ids."""

    async def work(container: Container) -> list[str]:
        kw = {"uow": container.uow(), "clock": container.clock(), "ids": container.ids()}
        uow = container.uow()
        async with uow:
            staff = await uow.users.by_email(site.demo.staff_email)
        assert staff is not None
        demo = await vendors.get_forum(ForumId(site.demo.forum_id), staff.id, uow=uow)
        forum = await vendors.create_forum(
            vendors.CreateForum(
                demo.vendor_id,
                "Staff corner",
                f"staff-{uuid.uuid4().hex[:8]}",
                Visibility.PUBLIC,
                staff.id,
                holds_first_posts=holds,
            ),
            **kw,
        )
        made = [
            await ideas.submit_idea(
                ideas.SubmitIdea(forum.id, staff.id, summary), spam=container.spam(), **kw
            )
            for summary in summaries
        ]
        return [forum.id, *(view.idea.id for view in made)]

    return site.seed(work)


async def as_staff(open_page: OpenPage, site: Site, **options: object) -> Page:
    page = await open_page(**options)
    await sign_in(page, site.demo.staff_email, site.demo.staff_password)
    return page


async def test_staff_merge_two_ideas_and_the_duplicate_points_to_the_survivor(
    open_page: OpenPage, site: Site
) -> None:
    _, keep, dup = staff_forum(site, ("Dark theme for the dashboard", "Night colours please"))
    page = await as_staff(open_page, site)
    await page.goto(f"/ideas/{dup}")

    await page.get_by_role("link", name="Merge into another idea…").click()
    chooser_problems = await axe_violations(page)
    await screenshot(page, "merge-desktop")
    await page.get_by_label("Search this forum's ideas").fill("dark theme")
    choice = page.get_by_role("link", name=re.compile("Merge into this idea: “Dark theme"))
    await choice.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Merge into “Dark theme for the dashboard”?"
    )
    confirm_problems = await axe_violations(page)
    await screenshot(page, "merge-confirm-desktop")
    await page.get_by_role("button", name="Merge ideas").click()
    await page.wait_for_url(f"**/ideas/{dup}")
    merged_problems = await axe_violations(page)
    await expect(page.locator(".merged-note")).to_contain_text("This idea was merged into")
    await expect(page.get_by_role("button", name="Unmerge")).to_be_visible()
    await page.locator(".merged-note a").click()

    await expect(page).to_have_url(re.compile(f"/ideas/{keep}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dark theme for the dashboard")
    await expect(page.locator(".idea .count")).to_have_text("1")
    assert chooser_problems == [] and confirm_problems == [] and merged_problems == []


async def test_staff_approve_a_held_post_in_place(open_page: OpenPage, site: Site) -> None:
    forum_id = staff_forum(site, holds=True)[0]
    newcomer = await open_page()
    await sign_up(newcomer, "Hal Held")
    await newcomer.goto(f"/forums/{forum_id}/ideas/new")
    await newcomer.get_by_label("Summary").fill("Keyboard shortcuts for triage")
    await newcomer.get_by_role("button", name="Submit idea").click()
    await expect(newcomer.get_by_role("heading", level=1)).to_contain_text("awaiting moderation")
    staff = await as_staff(open_page, site)
    await staff.goto(f"/forums/{forum_id}")

    await staff.get_by_role("link", name="Moderation").click()
    queue_problems = await axe_violations(staff)
    await screenshot(staff, "moderation-desktop")
    await staff.get_by_role("button", name=re.compile("^Approve")).click()
    await expect(staff.get_by_role("status")).to_have_text("Approved: the post is published.")
    url_after = staff.url
    reader = await open_page()
    await reader.goto(f"/forums/{forum_id}")

    await expect(reader.locator(".idea-title")).to_have_text(["Keyboard shortcuts for triage"])
    assert url_after.endswith(f"/forums/{forum_id}/moderation")  # updated in place
    assert queue_problems == []


async def test_the_empty_staff_pages_say_what_would_be_there(
    open_page: OpenPage, site: Site
) -> None:
    forum_id = staff_forum(site)[0]
    page = await as_staff(open_page, site)
    problems = {}

    for name in ("moderation", "deliveries"):
        await page.goto(f"/forums/{forum_id}/{name}")
        await expect(page.locator(".empty")).to_be_visible()
        problems[name] = await axe_violations(page)
        await screenshot(page, f"{name}-empty-desktop")
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Project key").fill("lower")
    await page.get_by_role("button", name="Bind to Jira").click()
    problems["jira-errors"] = await axe_violations(page)

    await expect(page.locator("#project_key-error")).to_be_visible()
    await expect(page.locator("#api_token-error")).to_be_visible()
    assert problems == {"moderation": [], "deliveries": [], "jira-errors": []}


@pytest.mark.parametrize("path", ["merge", "confirm", "moderation", "deliveries", "settings"])
async def test_the_staff_pages_fit_a_phone(open_page: OpenPage, site: Site, path: str) -> None:
    forum_id, keep, dup = staff_forum(site, ("Bulk edit of tags", "Edit many tags at once"))
    page = await as_staff(open_page, site, viewport={"width": 360, "height": 740})
    urls = {
        "merge": f"/ideas/{dup}/merge",
        "confirm": f"/ideas/{dup}/merge?into={keep}",
        "moderation": f"/forums/{forum_id}/moderation",
        "deliveries": f"/forums/{forum_id}/deliveries",
        "settings": f"/forums/{forum_id}/settings",
    }

    await page.goto(urls[path])
    width = await page.evaluate("document.documentElement.scrollWidth")
    problems = await axe_violations(page)
    await screenshot(page, f"staff-{path}-phone")

    assert width <= 360 and problems == []
