"""Account pages in a real Chromium: recovering a password and confirming an email through the
dev mailbox, exporting one's data and deleting the account, each page checked with axe-core."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import msgspec
import pytest
from playwright.async_api import Page, Route, expect

from customercase.bootstrap import Container
from customercase.entrypoints.worker import dispatch_once
from tests.e2e.conftest import (
    PASSWORD,
    OpenPage,
    Site,
    axe_violations,
    loopback_socket,
    screenshot,
    serving,
    sign_in,
    sign_up,
)

pytestmark = pytest.mark.browser


async def _deliver(container: Container) -> None:
    await dispatch_once(container)


async def link_from_mailbox(page: Page, site: Site, to: str, subject: str, path: str) -> str:
    """Let the worker send what is due, then read the link out of the mail the dev mailbox kept,
    as a developer running the site locally would."""
    site.seed(_deliver)
    await page.goto("/dev/mailbox")
    row = page.get_by_role("row").filter(has_text=to).filter(has_text=subject)
    await row.get_by_role("link").first.click()
    text = await page.locator("pre").inner_text()
    found = re.search(rf"{re.escape(site.url)}{re.escape(path)}\?token=\S+", text)
    assert found is not None, text
    return found.group(0)


async def check_page(page: Page, name: str) -> list[dict[str, object]]:
    """axe-core's serious findings on the page, and its desktop screenshot."""
    problems = await axe_violations(page)
    await screenshot(page, f"{name}-desktop")
    return problems


async def test_a_forgotten_password_is_replaced_through_the_emailed_link(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    email = await sign_up(page, "Fay Forgetful")
    await page.get_by_role("button", name="Sign out").click()

    await page.goto("/signin")
    await page.get_by_role("link", name="Forgot your password?").click()
    forgot_problems = await check_page(page, "forgot-password")
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("status")).to_contain_text("on its way")
    sent_problems = await axe_violations(page)
    link = await link_from_mailbox(page, site, email, "Reset your", "/reset-password")
    await page.goto(link)
    reset_problems = await check_page(page, "reset-password")
    await page.get_by_label("New password").fill("a fresh and long passphrase")
    await page.get_by_role("button", name="Set the password").click()
    await page.wait_for_url("**/signin?done=password")
    await expect(page.get_by_role("status")).to_have_text(
        "Your new password is set. Sign in with it."
    )
    await sign_in(page, email, PASSWORD)
    old_refused = page.get_by_role("alert")
    await expect(old_refused).to_be_visible()
    await sign_in(page, email, "a fresh and long passphrase")

    await expect(page.locator(".account .name")).to_have_text("Fay Forgetful")
    assert forgot_problems == [] and sent_problems == [] and reset_problems == []


async def test_a_used_reset_link_says_so_and_offers_a_new_one(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    email = await sign_up(page, "Rey Reuse")
    await page.goto("/forgot-password")
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    link = await link_from_mailbox(page, site, email, "Reset your", "/reset-password")
    for _ in range(2):
        await page.goto(link)
        await page.get_by_label("New password").fill("another long passphrase")
        await page.get_by_role("button", name="Set the password").click()

    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    assert await axe_violations(page) == []


async def test_the_verification_link_confirms_the_email_with_one_button(
    open_page: OpenPage, site: Site
) -> None:
    page = await open_page()
    email = await sign_up(page, "Vic Verify")

    link = await link_from_mailbox(page, site, email, "Confirm your email", "/verify-email")
    await page.goto(link)
    problems = await check_page(page, "verify-email")
    await page.get_by_role("button", name="Confirm my email address").click()
    await page.wait_for_url("**/me")

    async def verified(container: Container) -> bool:
        async with container.uow() as uow:
            user = await uow.users.by_email(email)
            return user is not None and user.email_verified

    assert site.seed(verified) is True and problems == []


async def test_the_profile_exports_the_users_data_as_a_file(open_page: OpenPage) -> None:
    page = await open_page()
    email = await sign_up(page, "Ezra Export")
    problems = await check_page(page, "me")

    async with page.expect_download() as started:
        await page.get_by_role("link", name="Export my data").click()
    download = await started.value
    data = json.loads((await download.path()).read_text())

    assert download.suggested_filename == "customercase-my-data.json"
    assert data["account"]["email"] == email and data["account"]["name"] == "Ezra Export"
    assert problems == []


async def test_deleting_the_account_asks_for_the_email_then_signs_out(open_page: OpenPage) -> None:
    page = await open_page()
    email = await sign_up(page, "Del Departing")
    await page.get_by_role("link", name="Delete my account").click()
    confirm_problems = await check_page(page, "delete-account")

    field = page.get_by_label("Type your email address to confirm")
    await field.fill("not-my-address@example.org")
    await page.get_by_role("button", name="Delete my account").click()
    await expect(field).to_have_attribute("aria-invalid", "true")
    error_problems = await axe_violations(page)
    await field.fill(email)
    await field.focus()
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent.trim()")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/account-deleted")
    gone_problems = await check_page(page, "account-deleted")
    message = await page.get_by_role("status").inner_text()
    await page.goto("/me")

    assert focused == "Delete my account" and outline == "solid"
    assert "You are signed out" in message
    assert "/signin" in page.url
    assert confirm_problems == [] and error_problems == [] and gone_problems == []


async def test_the_account_is_deleted_with_javascript_off(open_page: OpenPage) -> None:
    page = await open_page(java_script_enabled=False)
    email = await sign_up(page, "Nod Nojs")

    await page.goto("/me/delete")
    await page.get_by_label("Type your email address to confirm").fill(email)
    await page.get_by_role("button", name="Delete my account").click()
    await page.wait_for_url("**/account-deleted")
    await sign_in(page, email, PASSWORD)

    await expect(page.get_by_role("alert")).to_be_visible()
    assert page.url.endswith("/signin")


async def test_sign_in_and_sign_up_pass_axe_without_a_google_button(open_page: OpenPage) -> None:
    page = await open_page()
    found: dict[str, object] = {}
    for path in ("signin", "signup"):
        await page.goto(f"/{path}")
        found[path] = await check_page(page, path)
        await expect(page.get_by_text("Sign in with Google")).to_have_count(0)

    assert found == {"signin": [], "signup": []}


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("signin", "/signin"),
        ("forgot-password", "/forgot-password"),
        ("reset-password", "/reset-password?token=x"),
        ("verify-email", "/verify-email?token=x"),
        ("delete-account", "/me/delete"),
        ("account-deleted", "/account-deleted"),
    ],
)
async def test_account_pages_fit_a_phone(open_page: OpenPage, name: str, path: str) -> None:
    page = await open_page(viewport={"width": 360, "height": 740})
    await sign_up(page, "Pia Phone with a rather long name indeed")

    await page.goto(path)
    width = await page.evaluate("document.documentElement.scrollWidth")
    problems = await axe_violations(page)
    await screenshot(page, f"{name}-phone")

    assert width <= 360 and problems == []


STATS = "https://stats.example.com"
COLLECT = "https://collect.example.com"
ANALYTICS = (
    f'<script defer src="{STATS}/count.js"></script>'
    '<script>document.documentElement.dataset.inline = "ran"</script>'
)
COUNTER = (
    "document.documentElement.dataset.external = 'ran';"
    f"fetch('{COLLECT}/hit', {{method: 'POST', body: location.pathname}})"
    ".then(() => { document.documentElement.dataset.sent = 'yes' });"
)


@pytest.fixture(scope="module")
def counted_site(site: Site) -> Iterator[Site]:
    """A second server on the same database, whose operator set an analytics snippet."""
    sock, port = loopback_socket()
    settings = msgspec.structs.replace(
        site.settings, port=port, analytics_snippet=ANALYTICS, analytics_origins=COLLECT
    )
    with serving(settings, sock):
        yield Site(f"http://127.0.0.1:{port}", settings, site.demo)


async def test_the_analytics_snippet_runs_on_forum_pages_under_their_policy_only(
    open_page: OpenPage, counted_site: Site
) -> None:
    page = await open_page(bypass_csp=False)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    hits: list[str] = []

    async def counter(route: Route) -> None:
        await route.fulfill(body=COUNTER, content_type="text/javascript")

    async def collect(route: Route) -> None:
        hits.append(route.request.post_data or "")
        await route.fulfill(status=204, headers={"access-control-allow-origin": "*"})

    await page.route(f"{STATS}/count.js", counter)
    await page.route(f"{COLLECT}/hit", collect)
    base = counted_site.url

    await page.goto(f"{base}/forums/{counted_site.demo.forum_id}")
    ran = page.locator("html[data-inline='ran'][data-external='ran'][data-sent='yes']")
    await expect(ran).to_have_count(1)
    for path in ("/signin", "/signup", "/forgot-password"):
        await page.goto(f"{base}{path}")
        await expect(page.locator("html[data-inline]")).to_have_count(0)

    assert hits == [f"/forums/{counted_site.demo.forum_id}"] and refused == []
