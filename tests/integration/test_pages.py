"""The pages over HTTP, on SQLite and PostgreSQL: what a browser gets, without the browser."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.entrypoints.http.pages.common import FormGuard
from customercase.services.spam import issue_form_token
from tests.integration.conftest import Browser
from tests.integration.test_identity import _link_token
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit, unique

HTML = {"accept": "text/html,application/xhtml+xml"}
HTMX = {"hx-request": "true", "hx-target": "results"}


# The `container` fixture's secret key: forms are signed with a key derived from it.
GUARD = FormGuard.of("test-secret-key-not-for-production", 3.0)


def shown_ago(seconds: float) -> str:
    """The form token of a form shown this many seconds ago."""
    return issue_form_token(GUARD.key, datetime.now(UTC) - timedelta(seconds=seconds))


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], **headers: str
) -> httpx.Response:
    """POST a page's form as a browser would, CSRF token included once the app sets one, and
    (unless `data` has its own) the token of a form shown a person's minute ago."""
    if "csrftoken" not in client.cookies:
        await client.get("/signin", headers=HTML)
    token = client.cookies.get("csrftoken", "")
    hyphenated = {k.replace("_", "-"): v for k, v in headers.items()}
    data = {"form_token": shown_ago(60), **data, "_csrf_token": token}
    return await client.post(path, data=data, headers=hyphenated)


async def test_an_unknown_forum_is_an_html_page_for_browsers_and_a_problem_for_the_api(
    browser: Browser,
) -> None:
    client = await browser()

    page = await client.get("/forums/nope", headers=HTML)
    api = await client.get("/api/v1/forums/nope", headers=HTML)

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"] == "/problems/not-found"


async def test_a_private_forum_page_is_not_found_for_an_outsider(browser: Browser) -> None:
    staff, outsider = await browser(), await browser()
    await sign_up(staff)
    await sign_up(outsider, "Otto Outsider")
    forum = await open_forum(staff, "private")
    idea = await submit(staff, forum["id"], "Hidden plans")

    forum_page = await outsider.get(f"/forums/{forum['id']}", headers=HTML)
    idea_page = await outsider.get(f"/ideas/{idea['id']}", headers=HTML)
    staff_page = await staff.get(f"/forums/{forum['id']}", headers=HTML)

    assert forum_page.status_code == 404 and idea_page.status_code == 404
    assert "Hidden plans" not in forum_page.text + idea_page.text
    assert staff_page.status_code == 200 and "Hidden plans" in staff_page.text


async def test_a_vote_without_signing_in_sends_the_browser_to_sign_in_and_back(
    browser: Browser,
) -> None:
    author, visitor = await browser(), await browser()
    await sign_up(author)
    forum = await open_forum(author)
    idea = await submit(author, forum["id"], "Dark mode")
    forum_path = f"/forums/{forum['id']}"

    referer = f"http://testserver.local{forum_path}"
    plain = await post_form(
        visitor, f"/ideas/{idea['id']}/vote", {"vote": "1"}, accept=HTML["accept"], referer=referer
    )
    htmx = await post_form(
        visitor, f"/ideas/{idea['id']}/vote", {"vote": "1"}, hx_request="true", referer=referer
    )

    assert plain.status_code == 303
    assert plain.headers["location"] == f"/signin?next=%2Fforums%2F{forum['id']}"
    assert htmx.headers["hx-redirect"] == f"/signin?next=%2Fforums%2F{forum['id']}"


async def test_an_htmx_vote_answers_with_the_new_button_and_a_form_post_goes_back(
    browser: Browser,
) -> None:
    author, voter = await browser(), await browser()
    await sign_up(author)
    await sign_up(voter, "Vic Voter")
    forum = await open_forum(author)
    idea = await submit(author, forum["id"], "Dark mode")

    back = f"/forums/{forum['id']}"
    htmx = await post_form(
        voter, f"/ideas/{idea['id']}/vote", {"vote": "1", "next": back}, hx_request="true"
    )
    plain = await post_form(voter, f"/ideas/{idea['id']}/vote", {"vote": "0", "next": back})

    assert htmx.status_code == 200 and htmx.text.lstrip().startswith('<form class="vote is-voted"')
    assert '<span class="count">2</span>' in htmx.text and "<html" not in htmx.text
    assert plain.status_code == 303 and plain.headers["location"] == f"/forums/{forum['id']}"


async def test_an_htmx_search_gets_only_the_results_and_a_tidy_address(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    await submit(client, forum["id"], "Dark mode for the dashboard")
    await submit(client, forum["id"], "Export as CSV")

    answer = await client.get(
        f"/forums/{forum['id']}", params={"q": "dark", "status": "", "sort": "top"}, headers=HTMX
    )

    assert answer.status_code == 200 and answer.text.lstrip().startswith('<section id="results"')
    assert "Dark mode for the dashboard" in answer.text and "Export as CSV" not in answer.text
    assert answer.headers["hx-push-url"] == f"/forums/{forum['id']}?q=dark"
    assert "HX-Request" in answer.headers["vary"]


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/", "javascript:x"])
async def test_signing_in_never_sends_the_browser_to_another_site(
    browser: Browser, next_path: str
) -> None:
    client = await browser()
    user = await sign_up(client)
    fresh = await browser()

    answer = await post_form(
        fresh, "/signin", {"email": user["email"], "password": PASSWORD, "next": next_path}
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_a_summary_holding_markup_is_sent_escaped(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "<script>alert(1)</script> & more")

    page = await client.get(f"/ideas/{idea['id']}", headers=HTML)

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page.text


async def test_signing_up_with_a_taken_email_says_so_next_to_the_email(browser: Browser) -> None:
    first, second = await browser(), await browser()
    user = await sign_up(first)

    answer = await post_form(
        second, "/signup", {"name": "Copy Cat", "email": user["email"], "password": unique("pw")}
    )

    assert answer.status_code == 422
    assert '<p class="field-error" id="email-error">An account with this email exists.' in (
        answer.text
    )
    assert 'value="Copy Cat"' in answer.text


async def test_comments_come_oldest_first_a_page_at_a_time(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Long thread")
    for n in range(21):
        await post_form(client, f"/ideas/{idea['id']}/comments", {"body": f"Note {n:02}"})

    first = await client.get(f"/ideas/{idea['id']}", headers=HTML)
    posted = await post_form(client, f"/ideas/{idea['id']}/comments", {"body": "The newest"})
    later = await client.get(posted.headers["location"].split("#")[0], headers=HTML)

    assert first.text.index("Note 00") < first.text.index("Note 19")
    assert "Note 20" not in first.text and "Later comments" in first.text
    assert posted.status_code == 303 and "?after=" in posted.headers["location"]
    assert later.text.index("Note 20") < later.text.index("The newest")
    assert "Note 19" not in later.text


async def test_a_forum_without_ideas_invites_the_first_one(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)

    page = await client.get(f"/forums/{forum['id']}", headers=HTML)

    assert "No ideas yet." in page.text
    assert f'href="/forums/{forum["id"]}/ideas/new">Be the first' in page.text


async def test_the_forum_pages_through_its_ideas_with_next_links(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    for n in range(23):
        await submit(client, forum["id"], f"Idea number {n:02}")

    first = await client.get(f"/forums/{forum['id']}?sort=new", headers=HTML)
    next_url = re.search(r'<a class="next" href="([^"]+)"', first.text)
    assert next_url is not None
    second = await client.get(html.unescape(next_url.group(1)), headers=HTML)

    assert first.text.count('class="idea-row"') == 20 and "Idea number 22" in first.text
    assert second.text.count('class="idea-row"') == 3 and "Idea number 00" in second.text
    assert "Idea number 03" not in second.text and "← First page" in second.text
    assert '<a class="next"' not in second.text


def form_token_of(page: httpx.Response) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_the_idea_and_comment_forms_carry_a_signed_time_and_a_honeypot_no_one_reaches(
    browser: Browser,
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Guarded forms")

    pages = [
        await client.get(f"/forums/{forum['id']}/ideas/new", headers=HTML),
        await client.get(f"/ideas/{idea['id']}", headers=HTML),
    ]

    for shown in pages:
        assert GUARD.looks_human(
            form_token_of(shown), "", datetime.now(UTC) + timedelta(seconds=10)
        )
        honeypot = re.search(r'<div class="hp" aria-hidden="true">(.*?)</div>', shown.text, re.S)
        assert honeypot, shown.text
        assert "Leave this field empty" in honeypot.group(1)
        assert 'name="website" type="text" value="" autocomplete="off" tabindex="-1"' in (
            honeypot.group(1)
        )


async def test_an_idea_posted_by_a_person_is_stored_but_one_from_a_robot_is_not(
    browser: Browser,
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    path = f"/forums/{forum['id']}/ideas"

    person = await post_form(client, path, {"summary": "Posted by a person"})
    honeypot = await post_form(client, path, {"summary": "Robot fills it", "website": "x.io"})
    too_fast = await post_form(
        client, path, {"summary": "Robot is quick", "form_token": shown_ago(1)}
    )
    no_token = await post_form(client, path, {"summary": "Robot forgets", "form_token": ""})
    forged = await post_form(
        client, path, {"summary": "Robot forges", "form_token": shown_ago(60)[:-2] + "AA"}
    )
    listed = await client.get(f"/api/v1/forums/{forum['id']}/ideas")

    assert person.status_code == 303 and person.headers["location"].startswith("/ideas/")
    for robot in (honeypot, too_fast, no_token, forged):
        assert robot.status_code == 202
        assert "Thanks, your idea is awaiting moderation" in robot.text
    assert [i["summary"] for i in listed.json()["items"]] == ["Posted by a person"]


async def test_a_comment_from_a_robot_is_answered_as_held_and_stored_nowhere(
    browser: Browser,
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "Guarded comments")
    path = f"/ideas/{idea['id']}/comments"

    person = await post_form(client, path, {"body": "A person's comment"})
    honeypot = await post_form(client, path, {"body": "Buy now", "website": "x.io"})
    too_fast = await post_form(client, path, {"body": "Buy fast", "form_token": shown_ago(0.5)})
    comments = await client.get(f"/api/v1/ideas/{idea['id']}/comments")

    assert person.status_code == 303
    assert honeypot.status_code == too_fast.status_code == 202
    assert "Thanks, your comment is awaiting moderation" in too_fast.text
    assert [c["body"] for c in comments.json()["items"]] == ["A person's comment"]


async def test_a_form_shown_again_for_a_mistake_keeps_the_time_it_was_first_shown(
    browser: Browser,
) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    first = shown_ago(60)

    again = await post_form(
        client, f"/forums/{forum['id']}/ideas", {"summary": "x", "form_token": first}
    )

    assert again.status_code == 422
    assert form_token_of(again) == first


async def test_the_reset_link_in_the_email_opens_a_page_that_sets_a_new_password_once(
    browser: Browser, container: Container
) -> None:
    client, stranger = await browser(), await browser()
    user = await sign_up(client)
    await client.post("/api/v1/auth/signout")

    asked = await post_form(client, "/forgot-password", {"email": user["email"]})
    token = await _link_token(container, user["email"], "account_recovery")
    shown = await client.get(f"/reset-password?token={token}", headers=HTML)
    weak = await post_form(client, "/reset-password", {"token": token, "password": "short"})
    done = await post_form(
        client, "/reset-password", {"token": token, "password": "a brand new passphrase"}
    )
    again = await post_form(
        stranger, "/reset-password", {"token": token, "password": "another new passphrase"}
    )
    signed_in = await client.post(
        "/api/v1/auth/signin",
        json={"email": user["email"], "password": "a brand new passphrase"},
    )
    landing = await stranger.get(done.headers["location"], headers=HTML)

    assert asked.status_code == 200 and "on its way" in asked.text
    assert shown.status_code == 200 and f'value="{token}"' in shown.text
    assert weak.status_code == 422 and "10 to 1024" in weak.text
    assert done.status_code == 303 and done.headers["location"] == "/signin?done=password"
    assert "Your new password is set" in landing.text
    assert again.status_code == 400 and "not valid any more" in again.text
    assert signed_in.status_code == 200


async def test_the_verification_link_confirms_the_email_only_when_the_button_is_pressed(
    browser: Browser, container: Container
) -> None:
    client = await browser()
    user = await sign_up(client)
    token = await _link_token(container, user["email"], "email_verification")

    opened = await client.get(f"/verify-email?token={token}", headers=HTML)
    still_unverified = await _verified(container, user["id"])
    pressed = await post_form(client, "/verify-email", {"token": token})

    assert opened.status_code == 200 and "Confirm my email address" in opened.text
    assert still_unverified is False
    assert pressed.status_code == 303 and pressed.headers["location"] == "/me"
    assert await _verified(container, user["id"]) is True


async def _verified(container: Container, user_id: str) -> bool:
    async with container.engine().connect() as conn:
        found = await conn.scalar(
            sa.select(t.users.c.email_verified).where(t.users.c.id == user_id)
        )
    return bool(found)
