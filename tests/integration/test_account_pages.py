"""Account pages over HTTP: the Google button, export and deletion from the profile, and the
operator's analytics snippet, which only public forum pages carry."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import msgspec
import pytest

from customercase.bootstrap import Container, build_container, shutdown
from customercase.entrypoints.http.app import create_app, create_asgi
from customercase.entrypoints.http.pages.common import Analytics
from tests.emulators.google import GoogleEmulator
from tests.integration.conftest import Browser, browsers_of
from tests.integration.test_pages import HTML, post_form
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit

Google = tuple[GoogleEmulator, Browser]
COUNTER = "window.countedBy = 'stats'"
SNIPPET = (
    f'<script defer src="https://stats.example.com/count.js"></script><script>{COUNTER}</script>'
)


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


# --- Google ------------------------------------------------------------------------------------


async def test_sign_in_and_sign_up_offer_google_when_it_is_configured(google: Google) -> None:
    _, browser = google
    client = await browser()

    pages = [await client.get(path, headers=HTML) for path in ("/signin", "/signup")]
    start = await client.get("/auth/google/start")
    going = await client.get("/signin?next=/forums/abc", headers=HTML)

    for shown in pages:
        link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Sign in with Google</a>', shown.text)
        assert link is not None and link.group(1) == "/auth/google/start"
    onward = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Sign in with Google</a>', going.text)
    assert onward is not None and onward.group(1) == "/auth/google/start?next=%2Fforums%2Fabc"
    assert start.status_code == 302 and "client_id=" in start.headers["location"]


async def test_without_google_configured_no_google_button_is_shown(browser: Browser) -> None:
    client = await browser()

    pages = [await client.get(path, headers=HTML) for path in ("/signin", "/signup")]
    # A form shown again after a mistake is the same page, button rules included.
    failed = await post_form(client, "/signin", {"email": "x@example.org", "password": "nope"})

    assert all(p.status_code == 200 and "Google" not in p.text for p in pages)
    assert failed.status_code == 401 and "Google" not in failed.text


async def test_a_failed_sign_in_still_offers_google(google: Google) -> None:
    _, browser = google
    client = await browser()

    failed = await post_form(client, "/signin", {"email": "x@example.org", "password": "nope"})

    assert failed.status_code == 401 and "Sign in with Google" in failed.text


# --- Export and delete -------------------------------------------------------------------------


async def test_the_profile_downloads_the_same_data_the_api_exports(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client, "Eve Export")

    profile = await client.get("/me", headers=HTML)
    link = re.search(r'href="([^"]+)"[^>]*>Export my data<', profile.text)
    assert link is not None
    download = await client.get(link.group(1), headers=HTML)
    api = await client.get("/api/v1/me/export")

    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["cache-control"] == "no-store"
    assert download.json() == api.json() and download.json()["account"]["email"] == user["email"]


async def test_export_asks_a_signed_out_visitor_to_sign_in_first(browser: Browser) -> None:
    client = await browser()

    answer = await client.get("/me/export", headers=HTML)

    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2Fme%2Fexport"


async def test_deleting_the_account_needs_its_email_typed_then_signs_out_and_says_so(
    browser: Browser,
) -> None:
    client = await browser()
    user = await sign_up(client, "Dora Delete")

    confirm = await client.get("/me/delete", headers=HTML)
    wrong = await post_form(client, "/me/delete", {"confirm_email": "someone@example.org"})
    still_in = await client.get("/api/v1/me")
    done = await post_form(client, "/me/delete", {"confirm_email": f" {user['email'].upper()} "})
    landed = await client.get(done.headers["location"], headers=HTML)
    signed_out = await client.get("/api/v1/me")
    again = await client.post(
        "/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD}
    )

    assert confirm.status_code == 200 and 'name="_csrf_token"' in confirm.text
    assert wrong.status_code == 422 and "exactly as shown" in wrong.text
    assert 'aria-invalid="true"' in wrong.text and still_in.status_code == 200
    assert done.status_code == 303 and done.headers["location"] == "/account-deleted"
    assert "cc_session" not in client.cookies
    assert landed.status_code == 200 and "Your account is deleted" in landed.text
    assert "You are signed out" in landed.text and "Sign in" in landed.text
    assert signed_out.status_code == 401 and again.status_code == 401


async def test_deleting_the_account_without_the_forms_csrf_token_is_refused(
    browser: Browser,
) -> None:
    client = await browser()
    user = await sign_up(client, "Cyd Forged")

    forged = await client.post(
        "/me/delete", data={"confirm_email": user["email"]}, headers={"x-csrftoken": "forged"}
    )
    me = await client.get("/api/v1/me")

    assert forged.status_code == 403 and me.status_code == 200


async def test_the_only_admin_of_a_vendor_is_told_why_the_account_stays(browser: Browser) -> None:
    client = await browser()
    user = await sign_up(client, "Sole Admin")
    await open_forum(client)

    refused = await post_form(client, "/me/delete", {"confirm_email": user["email"]})
    me = await client.get("/api/v1/me")

    assert refused.status_code == 409 and "only admin of a vendor" in refused.text
    assert me.status_code == 200


async def test_a_signed_out_visitor_is_sent_to_sign_in_before_the_delete_page(
    browser: Browser,
) -> None:
    client = await browser()

    answer = await client.get("/me/delete", headers=HTML)

    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2Fme%2Fdelete"


# --- Analytics ---------------------------------------------------------------------------------


@pytest.fixture
async def counted(container: Container) -> AsyncIterator[Browser]:
    """Browsers of a local app (dev mailbox on) whose operator set an analytics snippet."""
    settings = msgspec.structs.replace(
        container.settings(),
        analytics_snippet=SNIPPET,
        analytics_origins="https://collect.example.com",
        is_local=True,
    )
    with_snippet = build_container(settings)
    async with browsers_of(create_asgi(with_snippet)) as open_browser:
        yield open_browser
    await shutdown(with_snippet)


async def test_public_forum_pages_carry_the_snippet_and_a_policy_that_lets_it_run(
    counted: Browser,
) -> None:
    staff, reader = await counted(), await counted()
    await sign_up(staff, "Stan Staff")
    forum = await open_forum(staff)
    idea = await submit(staff, forum["id"], "Dark mode")

    home = await reader.get(f"/forums/{forum['id']}", headers=HTML)
    idea_page = await reader.get(f"/ideas/{idea['id']}", headers=HTML)

    inline = base64.b64encode(hashlib.sha256(COUNTER.encode()).digest()).decode()
    for shown in (home, idea_page):
        assert shown.status_code == 200 and SNIPPET in shown.text
        policy = directives(shown.headers["content-security-policy"])
        assert "https://stats.example.com" in policy["script-src"]
        assert f"'sha256-{inline}'" in policy["script-src"]
        assert "https://collect.example.com" in policy["connect-src"]
        assert "frame-ancestors" in policy and "'unsafe-inline'" not in policy["script-src"]


async def test_staff_account_and_private_pages_never_carry_the_snippet(counted: Browser) -> None:
    staff, visitor = await counted(), await counted()
    await sign_up(staff, "Stan Staff")
    public = await open_forum(staff)
    private = await open_forum(staff, "private")
    secret = await submit(staff, private["id"], "Secret plans")

    paths = [
        "/me",
        "/me/delete",
        f"/forums/{public['id']}/settings",
        f"/forums/{public['id']}/ideas/new",
        f"/forums/{private['id']}",
        f"/ideas/{secret['id']}",
        "/dev/mailbox",
    ]
    signed_in = [await staff.get(path, headers=HTML) for path in paths]
    visitor_paths = ["/", "/signin", "/signup", "/forgot-password", "/reset-password?token=x"]
    visitor_paths += ["/verify-email?token=x", "/account-deleted", "/forums/nope"]
    signed_out = [await visitor.get(path, headers=HTML) for path in visitor_paths]

    for shown in signed_in + signed_out:
        assert shown.status_code in (200, 404), (shown.url, shown.status_code)
        assert "stats.example.com" not in shown.text, shown.url
        assert "stats.example.com" not in shown.headers.get("content-security-policy", "")
    assert [s.status_code for s in signed_in] == [200] * len(paths)


async def test_by_default_no_page_carries_any_analytics(browser: Browser) -> None:
    client = await browser()
    await sign_up(client, "Dee Fault")
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Quiet pages")

    shown = [
        await client.get(path, headers=HTML)
        for path in (f"/forums/{forum['id']}", f"/ideas/{idea['id']}", "/me", "/signin")
    ]

    for answer in shown:
        assert answer.status_code == 200
        assert answer.text.count("<script") == 2  # htmx and our own site.js, nothing else
        assert "connect-src" not in answer.headers["content-security-policy"]


def test_an_origin_that_could_break_the_policy_stops_the_app_at_start(
    container: Container,
) -> None:
    settings = msgspec.structs.replace(
        container.settings(),
        analytics_snippet="<script src='/count.js'></script>",
        analytics_origins="https://ok.example.com 'unsafe-inline'",
    )

    with pytest.raises(ValueError, match="CUSTOMERCASE_ANALYTICS_ORIGINS"):
        create_app(build_container(settings))


def test_a_snippet_of_only_our_own_scripts_widens_nothing() -> None:
    analytics = Analytics.of("<script src='/static/count.js'></script>", "")

    assert analytics is not None
    policy = directives(analytics.policy)
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert Analytics.of("  ", "https://x.example.com") is None
    assert str(analytics.snippet) == "<script src='/static/count.js'></script>"
