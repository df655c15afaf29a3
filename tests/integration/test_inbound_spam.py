"""Email in is screened for spam like a web post (issue 8): the real Akismet adapter over HTTP
to the emulator, behind POST /webhooks/postmark/inbound."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from dependency_injector import providers

from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container
from customercase.entrypoints.http.app import create_asgi
from tests.emulators.akismet import AkismetEmulator, Call
from tests.inbound_corpus import payload
from tests.integration.conftest import (
    INBOUND_ADDRESS,
    INBOUND_PASSWORD,
    INBOUND_USER,
    Browser,
    JiraWorld,
    akismet_filtering,
    browsers_of,
)
from tests.integration.jira_steps import bound_forum
from tests.integration.test_inbound import (
    _forum_with_idea,
    comments_of,
    deliver,
    forum_hash,
    ideas_of,
)


@pytest.fixture
async def akismet(
    mail_container: Container, akismet_emulator: tuple[AkismetEmulator, str]
) -> AsyncIterator[AkismetEmulator]:
    """The mail container's spam filter is Akismet, pointed at the emulator."""
    async with akismet_filtering(mail_container, akismet_emulator) as emulator:
        yield emulator


# What a receiving server's SPF check adds to every mail; Postmark passes it on in Headers.
SPF = [
    {
        "Name": "Received-SPF",
        "Value": "Pass (sender SPF authorized) identity=mailfrom; client-ip=203.0.113.7; "
        "helo=mail.example.net; envelope-from=pat@example.net; receiver=inbound.example.test",
    }
]


def marked(text: str) -> str:
    """Text no other test sends, so this test's calls can be told apart in the emulator."""
    return f"{text} {uuid.uuid4().hex[:8]}"


def checks_about(emulator: AkismetEmulator, text: str) -> list[Call]:
    return [
        c for c in emulator.calls_to("comment-check") if text in c.params.get("comment_content", "")
    ]


async def queue_of(client: httpx.AsyncClient, forum_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/v1/forums/{forum_id}/moderation")
    return list(answer.json()["items"])


async def test_ham_mail_is_posted_and_akismet_hears_who_sent_it(
    mail_browser: Browser, akismet: AkismetEmulator
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    subject = marked("Export reports as CSV")

    answer = await deliver(
        ada, payload(forum_hash(forum), subject=subject, name="Pat Lee", headers=SPF)
    )
    (check,) = checks_about(akismet, subject)

    assert answer.status_code == 200 and answer.json() == {"outcome": "posted"}
    assert (await ideas_of(ada, forum["id"]))[0]["summary"] == subject
    assert check.params["comment_author_email"] == "pat@example.net"
    assert check.params["comment_author"] == "Pat Lee"
    assert check.params["user_ip"] == "203.0.113.7"
    assert await queue_of(ada, forum["id"]) == []


async def test_mail_without_a_sender_ip_is_posted_and_kept_for_a_recheck(
    mail_browser: Browser, akismet: AkismetEmulator, mail_container: Container
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    subject = marked("Export reports as CSV")

    answer = await deliver(ada, payload(forum_hash(forum), subject=subject))
    (idea,) = [i for i in await ideas_of(ada, forum["id"]) if i["summary"] == subject]
    async with mail_container.engine().connect() as conn:
        state = await conn.scalar(
            sa.select(t.moderation_cases.c.state).where(t.moderation_cases.c.post_id == idea["id"])
        )

    assert answer.json() == {"outcome": "posted"}
    assert state == "recheck"


async def test_mail_akismet_calls_spam_is_held_for_staff_and_listed_nowhere(
    mail_browser: Browser, akismet: AkismetEmulator, mail_container: Container
) -> None:
    ada, forum, idea = await _forum_with_idea(mail_browser)
    subject = marked("Cheap watches [[spam]]")
    reply_hash = mail_container.addressing().signer.reply_hash(forum_hash(forum), idea["id"])

    # An attachment would earn a published post an answer; a held one gets none.
    attachment = {"Name": "a.png", "Content": "iVBORw0KGgo=", "ContentType": "image/png"}
    posted = await deliver(
        ada, payload(forum_hash(forum), subject=subject, attachments=[attachment], headers=SPF)
    )
    replied = await deliver(ada, payload(reply_hash, text=marked("Buy here [[spam]]"), headers=SPF))
    queue = await queue_of(ada, forum["id"])
    async with mail_container.engine().connect() as conn:
        answers = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.kind == "inbound_reply", t.outbox.c.state == "pending")
        )

    assert posted.status_code == replied.status_code == 200
    assert posted.json() == replied.json() == {"outcome": "held"}
    assert subject not in [i["summary"] for i in await ideas_of(ada, forum["id"])]
    assert await comments_of(ada, idea["id"]) == []
    assert sorted((h["kind"], h["verdict"]) for h in queue) == [
        ("comment", "spam"),
        ("idea", "spam"),
    ]
    assert answers == 0


async def test_blatant_spam_mail_is_answered_as_held_and_stored_nowhere(
    mail_browser: Browser, akismet: AkismetEmulator
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    subject = marked("Buy now [[discard]]")
    mail = payload(forum_hash(forum), subject=subject, headers=SPF)

    first = await deliver(ada, mail)
    again = await deliver(ada, mail)

    assert first.status_code == 200 and first.json() == {"outcome": "held"}
    assert again.json() == {"outcome": "repeat"}
    assert len(checks_about(akismet, subject)) == 1
    assert [i["summary"] for i in await ideas_of(ada, forum["id"])] == [
        "Dark mode for the dashboard"
    ]
    assert await queue_of(ada, forum["id"]) == []


async def test_held_mail_delivered_again_creates_nothing_more(
    mail_browser: Browser, akismet: AkismetEmulator
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    mail = payload(forum_hash(forum), subject=marked("Cheap watches [[spam]]"), headers=SPF)

    outcomes = [(await deliver(ada, mail)).json()["outcome"] for _ in range(2)]

    assert outcomes == ["held", "repeat"]
    assert len(await queue_of(ada, forum["id"])) == 1


async def test_an_idea_mailed_to_a_jira_bound_forum_is_queued_for_jira_with_its_description(
    jira_world: JiraWorld,
) -> None:
    c = jira_world.container
    settings = msgspec.structs.replace(
        c.settings(),
        inbound_address=INBOUND_ADDRESS,
        postmark_inbound_username=INBOUND_USER,
        postmark_inbound_password=INBOUND_PASSWORD,
    )
    with c.override_providers(settings=providers.Object(settings)):
        async with browsers_of(create_asgi(c)) as open_browser:
            world = dataclasses.replace(jira_world, browser=open_browser)
            staff, forum = await bound_forum(world)
            answer = await deliver(staff, payload(forum_hash(forum)))
            (idea,) = await ideas_of(staff, forum["id"])
            detail = (await staff.get(f"/api/v1/ideas/{idea['id']}")).json()
    async with c.engine().connect() as conn:
        jobs = (
            await conn.execute(
                sa.select(t.outbox.c.kind, t.outbox.c.payload).where(
                    t.outbox.c.idea_id == idea["id"]
                )
            )
        ).all()

    assert answer.json() == {"outcome": "posted"}
    assert detail["description"] == ""
    (job,) = [j for j in jobs if j.kind == "create_tracker_issue"]
    assert job.payload["description"].endswith("for the monthly review.")
