"""Spam defence through the JSON API, with the real Akismet adapter talking over HTTP to the
emulator: held, dropped and published posts, a filter outage, and staff moderation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.services.spam import recheck_posts
from tests.emulators.akismet import AkismetEmulator, Call
from tests.integration.conftest import Browser, akismet_filtering
from tests.integration.test_pages import post_form
from tests.integration.walk import open_forum, sign_up

BROWSER = {"User-Agent": "Mozilla/5.0 (X11) Firefox/133.0", "Referer": "https://ref.example/"}


@pytest.fixture
async def akismet(
    container: Container, akismet_emulator: tuple[AkismetEmulator, str]
) -> AsyncIterator[AkismetEmulator]:
    """The container's spam filter is Akismet, pointed at the emulator."""
    async with akismet_filtering(container, akismet_emulator) as emulator:
        yield emulator


async def person(browser: Browser, name: str) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    client = await browser()
    client.headers.update(BROWSER)
    return client, await sign_up(client, name)


def marked(text: str) -> str:
    """Text no other test sends, so this test's calls can be told apart in the emulator."""
    return f"{text} {uuid.uuid4().hex[:8]}"


def calls_about(emulator: AkismetEmulator, endpoint: str, text: str) -> list[Call]:
    return [c for c in emulator.calls_to(endpoint) if text in c.params.get("comment_content", "")]


async def post_idea(client: httpx.AsyncClient, forum_id: str, summary: str) -> httpx.Response:
    return await client.post(f"/api/v1/forums/{forum_id}/ideas", json={"summary": summary})


async def listed_ids(client: httpx.AsyncClient, forum_id: str) -> list[str]:
    page = await client.get(f"/api/v1/forums/{forum_id}/ideas")
    return [i["id"] for i in page.json()["items"]]


async def outbox_kinds(container: Container, idea_id: str) -> list[str]:
    async with container.engine().connect() as conn:
        rows = await conn.execute(sa.select(t.outbox.c.kind).where(t.outbox.c.idea_id == idea_id))
        return [r.kind for r in rows]


async def test_ham_is_published_at_once_and_akismet_hears_every_useful_field(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, ada_user = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)
    summary = marked("Dark mode please")

    response = await post_idea(ada, forum["id"], summary)

    assert response.status_code == 201
    assert response.json()["id"] in await listed_ids(staff, forum["id"])
    (call,) = calls_about(akismet, "comment-check", summary)
    assert call.params | {"user_ip": "?"} == {
        "api_key": "test-key",
        "blog": "http://testserver.local",
        "user_ip": "?",
        "user_agent": BROWSER["User-Agent"],
        "referrer": BROWSER["Referer"],
        "permalink": f"http://testserver.local/forums/{forum['id']}",
        "comment_type": "forum-post",
        "comment_author": "Ada Lovelace",
        "comment_author_email": ada_user["email"],
        "comment_content": summary,
        "blog_lang": "en",
        "blog_charset": "UTF-8",
    }
    assert call.params["user_ip"]


async def test_spam_is_held_for_its_author_and_staff_and_hidden_from_everyone_else(
    browser: Browser, akismet: AkismetEmulator, container: Container
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    bob, _ = await person(browser, "Bob Babbage")
    forum = await open_forum(staff)

    response = await post_idea(ada, forum["id"], marked("Cheap watches [[spam]]"))
    idea_id = response.json()["id"]

    assert response.status_code == 202
    assert (await ada.get(f"/api/v1/ideas/{idea_id}")).status_code == 200
    assert (await staff.get(f"/api/v1/ideas/{idea_id}")).status_code == 200
    assert (await bob.get(f"/api/v1/ideas/{idea_id}")).status_code == 404
    assert (await bob.put(f"/api/v1/ideas/{idea_id}/vote")).status_code == 404
    assert idea_id not in await listed_ids(staff, forum["id"])
    queue = (await staff.get(f"/api/v1/forums/{forum['id']}/moderation")).json()["items"]
    assert [(h["id"], h["verdict"]) for h in queue] == [(idea_id, "spam")]
    assert await outbox_kinds(container, idea_id) == []


async def test_blatant_spam_is_answered_like_held_spam_and_stored_nowhere(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)

    response = await post_idea(ada, forum["id"], marked("Buy now [[discard]]"))

    assert response.status_code == 202
    assert (await ada.get(f"/api/v1/ideas/{response.json()['id']}")).status_code == 404
    assert (await staff.get(f"/api/v1/forums/{forum['id']}/moderation")).json()["items"] == []


async def test_an_akismet_timeout_publishes_the_post_and_a_recheck_holds_it_later(
    browser: Browser, akismet: AkismetEmulator, container: Container
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)
    summary = marked("Cheap watches [[spam]]")
    akismet.slow_seconds = 1.0

    response = await post_idea(ada, forum["id"], summary)
    akismet.slow_seconds = 0.0
    idea_id = response.json()["id"]
    published = await listed_ids(staff, forum["id"])
    await recheck_posts(uow=container.uow(), spam=container.spam(), clock=container.clock())

    assert response.status_code == 201 and idea_id in published
    assert len(calls_about(akismet, "comment-check", summary)) == 3
    assert idea_id not in await listed_ids(staff, forum["id"])
    queue = (await staff.get(f"/api/v1/forums/{forum['id']}/moderation")).json()["items"]
    assert [h["id"] for h in queue] == [idea_id]


async def test_approving_held_spam_publishes_it_and_tells_akismet_it_was_ham(
    browser: Browser, akismet: AkismetEmulator, container: Container
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)
    summary = marked("Not spam at all [[spam]]")
    idea_id = (await post_idea(ada, forum["id"], summary)).json()["id"]

    approved = await staff.post(f"/api/v1/moderation/{idea_id}/approve")

    assert approved.status_code == 204
    assert idea_id in await listed_ids(ada, forum["id"])
    assert await outbox_kinds(container, idea_id) == ["request_submitted"]
    (checked,) = calls_about(akismet, "comment-check", summary)
    (feedback,) = calls_about(akismet, "submit-ham", summary)
    assert feedback.params == checked.params
    assert calls_about(akismet, "submit-spam", summary) == []


async def test_a_held_first_post_rejected_and_blocked_reports_spam_and_stops_the_author(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff, holds_first_posts=True)
    summary = marked("Visit my site")
    first = await post_idea(ada, forum["id"], summary)

    rejected = await staff.post(
        f"/api/v1/moderation/{first.json()['id']}/reject", json={"block_author": True}
    )
    again = await post_idea(ada, forum["id"], marked("Another try"))

    assert forum["holds_first_posts"] is True
    assert first.status_code == 202
    assert rejected.status_code == 204
    assert len(calls_about(akismet, "submit-spam", summary)) == 1
    assert again.status_code == 403
    assert (await ada.get(f"/api/v1/ideas/{first.json()['id']}")).status_code == 404


async def test_a_trusted_author_skips_screening_from_then_on(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff, holds_first_posts=True)
    first = await post_idea(ada, forum["id"], marked("My first idea"))
    await staff.post(
        f"/api/v1/moderation/{first.json()['id']}/approve", json={"trust_author": True}
    )
    summary = marked("Looks odd [[spam]]")

    second = await post_idea(ada, forum["id"], summary)

    assert first.status_code == 202 and second.status_code == 201
    assert calls_about(akismet, "comment-check", summary) == []


async def test_a_held_comment_is_not_counted_until_approved(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    bob, _ = await person(browser, "Bob Babbage")
    forum = await open_forum(staff)
    idea_id = (await post_idea(ada, forum["id"], marked("Dark mode"))).json()["id"]

    held = await bob.post(
        f"/api/v1/ideas/{idea_id}/comments", json={"body": marked("Pills [[spam]]")}
    )
    count_held = (await ada.get(f"/api/v1/ideas/{idea_id}")).json()["comments"]
    seen_by_ada = (await ada.get(f"/api/v1/ideas/{idea_id}/comments")).json()["items"]
    seen_by_bob = (await bob.get(f"/api/v1/ideas/{idea_id}/comments")).json()["items"]
    await staff.post(f"/api/v1/moderation/{held.json()['id']}/approve")
    count_approved = (await ada.get(f"/api/v1/ideas/{idea_id}")).json()["comments"]

    assert held.status_code == 202
    assert count_held == 0 and seen_by_ada == []
    assert [c["id"] for c in seen_by_bob] == [held.json()["id"]]
    assert count_approved == 1


async def test_only_staff_see_the_queue_and_decide(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)
    idea_id = (await post_idea(ada, forum["id"], marked("Spam [[spam]]"))).json()["id"]

    queue = await ada.get(f"/api/v1/forums/{forum['id']}/moderation")
    approve = await ada.post(f"/api/v1/moderation/{idea_id}/approve")
    twice = [await staff.post(f"/api/v1/moderation/{idea_id}/reject") for _ in range(2)]

    assert queue.status_code == 403 and approve.status_code == 403
    assert [r.status_code for r in twice] == [204, 409]


async def test_spam_posted_through_the_page_is_answered_with_the_page_a_robot_gets(
    browser: Browser, akismet: AkismetEmulator
) -> None:
    staff, _ = await person(browser, "Sam Staff")
    ada, _ = await person(browser, "Ada Lovelace")
    forum = await open_forum(staff)
    summary = marked("Cheap watches [[spam]]")

    held = await post_form(ada, f"/forums/{forum['id']}/ideas", {"summary": summary})
    robot = await post_form(ada, f"/forums/{forum['id']}/ideas", {"summary": "x", "website": "1"})
    queue = (await staff.get(f"/api/v1/forums/{forum['id']}/moderation")).json()["items"]

    assert held.status_code == robot.status_code == 202
    assert held.text == robot.text
    assert [h["text"] for h in queue] == [summary]
