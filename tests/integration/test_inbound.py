"""Email in over POST /webhooks/postmark/inbound: a corpus of realistic payloads, each with the
outcome API.md promises (issue 4, Must show: Inbound)."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

from customercase.bootstrap import Container
from tests.emulators.postmark import PostmarkEmulator
from tests.inbound_corpus import (
    APPLE_MAIL_REPLY,
    GMAIL_HTML_ONLY,
    GMAIL_REPLY,
    OUTLOOK_REPLY,
    payload,
)
from tests.integration.conftest import INBOUND_PASSWORD, INBOUND_USER, Browser
from tests.integration.mailflow import drain, headers_of, mail_to, outbox_rows
from tests.integration.seed import mark_verified
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit, unique

WEBHOOK = "/webhooks/postmark/inbound"
AUTH = (INBOUND_USER, INBOUND_PASSWORD)


def forum_hash(forum: dict[str, Any]) -> str:
    found = re.match(r"inbox\+(\w+)@", forum["mailbox"])
    assert found, forum["mailbox"]
    return found.group(1)


async def deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(WEBHOOK, json=body, auth=AUTH)


async def ideas_of(client: httpx.AsyncClient, forum_id: str) -> list[dict[str, Any]]:
    listed = await client.get(f"/api/v1/forums/{forum_id}/ideas", params={"sort": "new"})
    return list(listed.json()["items"])


async def comments_of(client: httpx.AsyncClient, idea_id: str) -> list[dict[str, Any]]:
    return list((await client.get(f"/api/v1/ideas/{idea_id}/comments")).json()["items"])


async def _forum_with_idea(
    browser: Browser,
) -> tuple[httpx.AsyncClient, dict[str, Any], dict[str, Any]]:
    ada = await browser()
    await sign_up(ada, "Ada Staff")
    forum = await open_forum(ada)
    idea = await submit(ada, forum["id"], "Dark mode for the dashboard")
    return ada, forum, idea


async def test_mail_to_the_forum_mailbox_becomes_an_idea_by_a_new_passwordless_user(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    sender = f"{unique('pat')}@example.net"

    answer = await deliver(ada, payload(forum_hash(forum), sender=sender))
    await drain(mail_container)
    newest = (await ideas_of(ada, forum["id"]))[0]
    detail = (await ada.get(f"/api/v1/ideas/{newest['id']}")).json()
    claim = await (await mail_browser()).post(
        "/api/v1/auth/signup", json={"email": sender, "name": "Pat", "password": PASSWORD}
    )

    assert answer.status_code == 200 and answer.json() == {"outcome": "posted"}
    assert newest["summary"] == "Export reports as CSV" and newest["author"]["name"] == "Pat Lee"
    assert detail["description"].endswith("for the monthly review.")
    assert "Head of Finance" not in detail["description"]
    assert [m["Tag"] for m in mail_to(postmark.messages, sender)] == ["request_submitted"]
    assert claim.status_code == 409


async def test_replies_from_gmail_outlook_and_apple_mail_land_as_comments_without_history(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, idea = await _forum_with_idea(mail_browser)
    await drain(mail_container)
    reply_hash = mail_container.addressing().signer.reply_hash(forum_hash(forum), idea["id"])
    thread = {"Name": "References", "Value": f"<idea-{idea['id']}@example.test>"}

    gmail = await deliver(ada, payload(reply_hash, subject="Re: Dark mode", text=GMAIL_REPLY))
    outlook = await deliver(  # only the thread header ties this one to the idea
        ada,
        payload(forum_hash(forum), subject="RE: Dark mode", text=OUTLOOK_REPLY, headers=[thread]),
    )
    apple = await deliver(ada, payload(reply_hash, text=APPLE_MAIL_REPLY, sender="al@example.net"))
    comments = await comments_of(ada, idea["id"])

    assert [a.json()["outcome"] for a in (gmail, outlook, apple)] == ["commented"] * 3
    assert [(c["body"], c["source"]) for c in comments] == [
        ("Sounds great, thanks!", "email"),
        ("That would help our whole team.", "email"),
        ("Agreed, +1.", "email"),
    ]


async def test_html_only_mail_is_read_as_text(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)

    answer = await deliver(
        ada, payload(forum_hash(forum), subject="Dark mode please", text="", html=GMAIL_HTML_ONLY)
    )
    newest = (await ideas_of(ada, forum["id"]))[0]
    detail = (await ada.get(f"/api/v1/ideas/{newest['id']}")).json()

    assert answer.json() == {"outcome": "posted"}
    assert detail["description"] == "Please add a dark mode.\nOur night shift would love it."


async def test_the_same_message_delivered_twice_creates_one_comment(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, idea = await _forum_with_idea(mail_browser)
    reply_hash = mail_container.addressing().signer.reply_hash(forum_hash(forum), idea["id"])
    body = payload(reply_hash, stripped="Once only.")

    first = await deliver(ada, body)
    second = await deliver(ada, body)

    assert first.json() == {"outcome": "commented"}
    assert second.status_code == 200 and second.json() == {"outcome": "repeat"}
    assert [c["body"] for c in await comments_of(ada, idea["id"])] == ["Once only."]


async def test_a_sender_a_private_forum_refuses_gets_nothing_created(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada = await mail_browser()
    await sign_up(ada, "Ada Staff")
    forum = await open_forum(ada, "private")
    stranger = f"{unique('stranger')}@example.net"
    # An invitation names an address; only a verified account proves it (Forum.admits).
    invited_user = await sign_up(await mail_browser(), "Ivy Invited")
    await mark_verified(mail_container, invited_user["id"])
    invited = invited_user["email"]
    await ada.post(f"/api/v1/forums/{forum['id']}/invitations", json={"emails": [invited]})

    refused = await deliver(ada, payload(forum_hash(forum), sender=stranger))
    accepted = await deliver(ada, payload(forum_hash(forum), sender=invited, subject="Let me in"))
    signup = await (await mail_browser()).post(
        "/api/v1/auth/signup", json={"email": stranger, "name": "S", "password": PASSWORD}
    )

    assert refused.status_code == 200 and refused.json() == {"outcome": "refused"}
    assert accepted.json() == {"outcome": "posted"}
    assert [i["summary"] for i in await ideas_of(ada, forum["id"])] == ["Let me in"]
    assert signup.status_code == 201


async def test_mail_to_an_unknown_mailbox_or_with_a_forged_reply_hash_is_dropped_with_a_200(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, idea = await _forum_with_idea(mail_browser)
    forged = f"{forum_hash(forum)}.{idea['id']}.00000000"

    unknown = await deliver(ada, payload("nosuchforumhash1"))
    forged_reply = await deliver(ada, payload(forged, stripped="Sneaky"))

    assert unknown.status_code == 200 and unknown.json() == {"outcome": "unroutable"}
    assert forged_reply.json() == {"outcome": "unroutable"}
    assert await comments_of(ada, idea["id"]) == []


async def test_bad_or_missing_credentials_are_a_401_and_create_nothing(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    body = payload(forum_hash(forum), subject="Should not appear")

    wrong = await ada.post(WEBHOOK, json=body, auth=(INBOUND_USER, "wrong"))
    missing = await ada.post(WEBHOOK, json=body)
    garbage = await ada.post(WEBHOOK, json=body, headers={"Authorization": "Basic !!!"})

    assert wrong.status_code == missing.status_code == garbage.status_code == 401
    assert "basic" in wrong.headers["www-authenticate"].lower()
    assert "Should not appear" not in [i["summary"] for i in await ideas_of(ada, forum["id"])]


async def test_the_webhook_is_absent_when_inbound_mail_is_not_configured(
    browser: Browser,
) -> None:
    client = await browser()

    answer = await client.post(WEBHOOK, json=payload("x"), auth=AUTH)

    assert answer.status_code == 404


async def test_malformed_json_is_a_400_problem(mail_browser: Browser) -> None:
    client = await mail_browser()

    answer = await client.post(
        WEBHOOK, content=b"{not json", auth=AUTH, headers={"Content-Type": "application/json"}
    )
    no_id = await client.post(WEBHOOK, json={"Subject": "x"}, auth=AUTH)

    assert answer.status_code == no_id.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_big_mail_with_attachments_is_stored_clipped_and_its_files_are_not(
    mail_browser: Browser, mail_container: Container
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    attachment = {
        "Name": "big.pdf",
        "Content": base64.b64encode(b"%PDF" * 500_000).decode(),
        "ContentType": "application/pdf",
        "ContentLength": 2_000_000,
    }
    body = payload(forum_hash(forum), subject="Huge", text="word " * 6000, attachments=[attachment])

    answer = await deliver(ada, body)
    newest = (await ideas_of(ada, forum["id"]))[0]
    detail = (await ada.get(f"/api/v1/ideas/{newest['id']}")).json()

    assert answer.status_code == 200 and answer.json() == {"outcome": "posted"}
    assert len(detail["description"]) <= 20_000 and detail["description"].endswith("…")


async def test_a_comment_emailed_out_and_answered_by_mail_lands_back_as_a_comment(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, _, idea = await _forum_with_idea(mail_browser)
    bob = await mail_browser()
    bob_u = await sign_up(bob, "Bob Watcher")
    await bob.put(f"/api/v1/ideas/{idea['id']}/watch")
    await ada.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "We started on it."})
    await drain(mail_container)
    to_bob = mail_to(postmark.messages, bob_u["email"])[-1]
    mailbox_hash = to_bob["ReplyTo"].split("+", 1)[1].split("@", 1)[0]
    postmark.messages.clear()

    answer = await deliver(
        ada,
        payload(
            mailbox_hash,
            sender=bob_u["email"],
            name="Bob Watcher",
            subject=f"Re: {to_bob['Subject']}",
            text=f"Great news!\n\nOn Mon, Bob wrote:\n> {to_bob['TextBody'][:40]}",
            headers=[{"Name": "In-Reply-To", "Value": headers_of(to_bob)["Message-ID"]}],
        ),
    )
    await drain(mail_container)
    comments = await comments_of(ada, idea["id"])

    assert answer.json() == {"outcome": "commented"}
    assert comments[-1]["body"] == "Great news!" and comments[-1]["author"]["id"] == bob_u["id"]
    assert [m["Tag"] for m in postmark.messages if m["To"] != bob_u["email"]] == ["new_comment"]
    assert mail_to(postmark.messages, bob_u["email"]) == []


async def test_a_refused_sender_gets_one_automatic_answer_and_a_robot_gets_none(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada = await mail_browser()
    await sign_up(ada, "Ada Staff")
    forum = await open_forum(ada, "private")
    person, robot = f"{unique('person')}@example.net", f"{unique('robot')}@example.net"
    auto = [{"Name": "Auto-Submitted", "Value": "auto-replied"}]

    await deliver(ada, payload(forum_hash(forum), sender=person, subject="Hi\r\nBcc: x@y.z"))
    await deliver(ada, payload(forum_hash(forum), sender=robot, headers=auto))
    await drain(mail_container)
    rows = [r for r in await outbox_rows(mail_container) if r.kind == "inbound_reply"]

    answers = mail_to(postmark.messages, person)
    assert len(answers) == 1 and answers[0]["Subject"] == "Re: Hi Bcc: x@y.z"
    assert "only from its members" in answers[0]["TextBody"]
    assert headers_of(answers[0])["Auto-Submitted"] == "auto-replied"
    assert "ReplyTo" not in answers[0]
    assert mail_to(postmark.messages, robot) == []
    assert all("to" not in r.payload for r in rows if r.state == "sent")


async def test_attachments_are_not_kept_and_the_sender_is_told_so(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, forum, _ = await _forum_with_idea(mail_browser)
    sender = f"{unique('pat')}@example.net"
    attachment = {"Name": "a.png", "Content": "iVBORw0KGgo=", "ContentType": "image/png"}

    answer = await deliver(ada, payload(forum_hash(forum), sender=sender, attachments=[attachment]))
    await drain(mail_container)

    tags = sorted(m["Tag"] for m in mail_to(postmark.messages, sender))
    assert answer.json() == {"outcome": "posted"}
    assert tags == ["inbound_reply", "request_submitted"]


async def test_a_request_like_an_existing_one_is_posted_and_pointed_at_the_original(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, forum, idea = await _forum_with_idea(mail_browser)
    sender = f"{unique('pat')}@example.net"

    answer = await deliver(
        ada, payload(forum_hash(forum), sender=sender, subject="Re: dark MODE dashboard")
    )
    await drain(mail_container)

    note = next(m for m in mail_to(postmark.messages, sender) if m["Tag"] == "inbound_reply")
    assert answer.json() == {"outcome": "posted"}
    assert f"http://testserver.local/ideas/{idea['id']}" in note["TextBody"]
    assert "vote for that one instead" in note["TextBody"]
    assert len(await ideas_of(ada, forum["id"])) == 2
