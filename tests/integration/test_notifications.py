"""Notification emails over real HTTP to the Postmark emulator: who gets what, with which
headers, and what happens when Postmark fails (issue 4, Must show)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from customercase.adapters.fakes.system import FixedClock
from customercase.bootstrap import Container
from customercase.domain.ids import UserId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.services.dispatch import dispatch_due
from tests.emulators.postmark import PostmarkEmulator
from tests.integration.conftest import Browser
from tests.integration.mailflow import drain, headers_of, mail_to, outbox_rows, push_due
from tests.integration.walk import open_forum, sign_up, submit


async def _people(browser: Browser, *names: str) -> list[tuple[object, dict[str, object]]]:
    found = []
    for name in names:
        client = await browser()
        found.append((client, await sign_up(client, name)))
    return found


async def test_a_comment_reaches_every_watcher_but_its_author_once_with_threading_headers(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u), (carol, carol_u), (dave, dave_u) = await _people(
        mail_browser, "Ada Staff", "Bob Author", "Carol Commenter", "Dave Watcher"
    )
    forum = await open_forum(ada)  # type: ignore[arg-type]
    idea = await submit(bob, forum["id"], "Dark mode for the dashboard")  # type: ignore[arg-type]
    await dave.put(f"/api/v1/ideas/{idea['id']}/watch")  # type: ignore[attr-defined]
    await drain(mail_container)
    postmark.messages.clear()

    await carol.post(  # type: ignore[attr-defined]
        f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Yes please, <b>soon</b>!"}
    )
    await drain(mail_container)

    sent = postmark.messages
    assert sorted(m["To"] for m in sent if m["Tag"] == "new_comment") == sorted(
        [bob_u["email"], dave_u["email"]]
    )
    assert mail_to(sent, str(carol_u["email"])) == []
    to_bob = mail_to(sent, str(bob_u["email"]))[0]
    headers = headers_of(to_bob)
    forum_hash = re.match(r"inbox\+(\w+)@", forum["mailbox"]).group(1)  # type: ignore[union-attr]
    assert to_bob["Subject"] == "Re: Dark mode for the dashboard"
    assert to_bob["ReplyTo"].startswith(f"inbox+{forum_hash}.{idea['id']}.")
    assert to_bob["ReplyTo"].endswith("@inbound.example.test")
    assert headers["References"] == f"<idea-{idea['id']}@example.test>"
    assert headers["In-Reply-To"] == headers["References"]
    assert headers["Message-ID"] != headers_of(mail_to(sent, str(dave_u["email"]))[0])["Message-ID"]
    assert "Yes please, <b>soon</b>!" in to_bob["TextBody"]
    assert "Yes please, &lt;b&gt;soon&lt;/b&gt;!" in to_bob["HtmlBody"]
    assert f"http://testserver.local/ideas/{idea['id']}" in to_bob["TextBody"]
    assert "/mail/stop-watching/" in headers["List-Unsubscribe"]


async def test_an_idea_posted_gets_its_author_one_confirmation_that_starts_the_thread(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, ada_u), (bob, bob_u) = await _people(mail_browser, "Ada Staff", "Bob Author")
    forum = await open_forum(ada)  # type: ignore[arg-type]

    idea = await submit(bob, forum["id"], "Export reports as CSV")  # type: ignore[arg-type]
    await drain(mail_container)

    to_bob = mail_to(postmark.messages, str(bob_u["email"]))
    assert len(to_bob) == 1 and to_bob[0]["Tag"] == "request_submitted"
    assert "Export reports as CSV" in to_bob[0]["Subject"]
    assert headers_of(to_bob[0])["Message-ID"] == f"<idea-{idea['id']}@example.test>"
    assert mail_to(postmark.messages, str(ada_u["email"])) == []


async def test_a_status_change_reaches_the_watchers_but_not_the_staff_who_made_it(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, ada_u), (bob, bob_u) = await _people(mail_browser, "Ada Staff", "Bob Author")
    forum = await open_forum(ada)  # type: ignore[arg-type]
    idea = await submit(bob, forum["id"], "Single sign-on with Okta")  # type: ignore[arg-type]
    await ada.put(f"/api/v1/ideas/{idea['id']}/watch")  # type: ignore[attr-defined]
    await drain(mail_container)
    postmark.messages.clear()

    await ada.put(  # type: ignore[attr-defined]
        f"/api/v1/ideas/{idea['id']}/status", json={"status": "planned"}
    )
    await drain(mail_container)

    to_bob = mail_to(postmark.messages, str(bob_u["email"]))
    assert [m["Subject"] for m in to_bob] == ["Re: Single sign-on with Okta is now planned"]
    assert "from open to planned" in to_bob[0]["TextBody"]
    assert mail_to(postmark.messages, str(ada_u["email"])) == []


async def test_a_429_then_success_delivers_each_email_exactly_once(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u) = await _people(mail_browser, "Ada Staff", "Bob Author")
    forum = await open_forum(ada)  # type: ignore[arg-type]
    await drain(mail_container)
    postmark.fail_next(429, retry_after="0.1")

    await submit(bob, forum["id"], "Keyboard shortcuts for triage")  # type: ignore[arg-type]
    await drain(mail_container)

    assert len(mail_to(postmark.messages, str(bob_u["email"]))) == 1
    assert postmark.failures == []


async def test_a_5xx_for_longer_than_the_retries_leaves_the_mail_pending_then_sends_it(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u) = await _people(mail_browser, "Ada Staff", "Bob Author")
    forum = await open_forum(ada)  # type: ignore[arg-type]
    await drain(mail_container)
    postmark.fail_next(500, times=4)

    idea = await submit(bob, forum["id"], "Bulk edit of tags")  # type: ignore[arg-type]
    first = await drain(mail_container)
    rows = await outbox_rows(mail_container, str(idea["id"]))
    await push_due(mail_container, datetime.now(UTC))
    second = await drain(mail_container)

    assert first.retried == 1 and rows[0].state == "pending" and "500" in rows[0].last_error
    assert second.sent == 1
    assert len(mail_to(postmark.messages, str(bob_u["email"]))) == 1


async def test_nothing_is_lost_while_postmark_is_down_and_all_goes_out_once_it_is_back(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u), (carol, carol_u) = await _people(
        mail_browser, "Ada Staff", "Bob Author", "Carol Commenter"
    )
    forum = await open_forum(ada)  # type: ignore[arg-type]
    idea = await submit(bob, forum["id"], "Mobile app for iOS")  # type: ignore[arg-type]
    await drain(mail_container)
    port = int(postmark.url.rsplit(":", 1)[1])
    postmark.stop()

    for n in range(3):
        await carol.post(  # type: ignore[attr-defined]
            f"/api/v1/ideas/{idea['id']}/comments", json={"body": f"Ping {n}"}
        )
    while_down = await drain(mail_container)
    pending = [r for r in await outbox_rows(mail_container, str(idea["id"])) if r.recipient_id]
    back = PostmarkEmulator()
    back.start(port)
    later = FixedClock(datetime.now(UTC) + timedelta(hours=2))
    after = await drain(mail_container, later)
    back.stop()

    assert while_down.sent == 0 and while_down.retried == 3
    assert {r.state for r in pending if r.kind == "new_comment"} == {"pending"}
    assert after.sent == 3
    assert sorted(m["TextBody"].split("\n")[2] for m in mail_to(back.messages, bob_u["email"])) == [
        "Ping 0",
        "Ping 1",
        "Ping 2",
    ]
    assert mail_to(back.messages, str(carol_u["email"])) == []


async def test_an_inactive_recipient_is_failed_for_good_and_shown_to_staff_only(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u), (carol, _) = await _people(
        mail_browser, "Ada Staff", "Bob Bounced", "Carol Commenter"
    )
    forum = await open_forum(ada)  # type: ignore[arg-type]
    idea = await submit(bob, forum["id"], "Custom fields on the form")  # type: ignore[arg-type]
    postmark.inactive.add(str(bob_u["email"]))

    await carol.post(  # type: ignore[attr-defined]
        f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Me too"}
    )
    await drain(mail_container)
    await drain(mail_container, FixedClock(datetime.now(UTC) + timedelta(days=2)))
    staff_view = await ada.get(  # type: ignore[attr-defined]
        f"/api/v1/forums/{forum['id']}/deliveries", params={"state": "failed"}
    )
    customer_view = await carol.get(  # type: ignore[attr-defined]
        f"/api/v1/forums/{forum['id']}/deliveries"
    )

    failed = staff_view.json()["items"]
    assert {(d["recipient_email"], d["kind"]) for d in failed} == {
        (bob_u["email"], "request_submitted"),
        (bob_u["email"], "new_comment"),
    }
    assert all("inactive" in d["last_error"] and d["attempts"] == 1 for d in failed)
    assert customer_view.status_code == 403


async def test_the_stop_watching_link_asks_first_then_stops_further_emails(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u), (carol, _) = await _people(
        mail_browser, "Ada Staff", "Bob Author", "Carol Commenter"
    )
    forum = await open_forum(ada)  # type: ignore[arg-type]
    idea = await submit(bob, forum["id"], "Search inside attachments")  # type: ignore[arg-type]
    url = f"/api/v1/ideas/{idea['id']}/comments"
    await carol.post(url, json={"body": "First"})  # type: ignore[attr-defined]
    await drain(mail_container)
    link = headers_of(mail_to(postmark.messages, str(bob_u["email"]))[-1])["List-Unsubscribe"]
    path = link.strip("<>").replace("http://testserver.local", "")
    stranger = await mail_browser()
    postmark.messages.clear()

    asked = await stranger.get(path)
    await carol.post(url, json={"body": "Second"})  # type: ignore[attr-defined]
    await drain(mail_container)
    still_mailed = len(mail_to(postmark.messages, str(bob_u["email"])))
    stopped = await stranger.post(path)
    forged = await stranger.post(path[:-4] + "0000")
    await carol.post(url, json={"body": "Third"})  # type: ignore[attr-defined]
    await drain(mail_container)

    assert asked.status_code == 200 and "<form" in asked.text
    assert still_mailed == 1
    assert stopped.status_code == 200
    assert forged.status_code == 404
    assert len(mail_to(postmark.messages, str(bob_u["email"]))) == 1


async def test_line_breaks_in_a_summary_or_name_never_reach_a_header(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada = await mail_browser()
    await sign_up(ada, "Ada Staff")
    bob = await mail_browser()
    bob_u = await sign_up(bob, "Bob\r\nBcc: victim@example.com")
    forum = await open_forum(ada)

    await bob.post(
        f"/api/v1/forums/{forum['id']}/ideas",
        json={"summary": "Nice\r\nBcc: victim@example.com\u2028X-Evil: 1"},
    )
    await drain(mail_container)

    sent = mail_to(postmark.messages, str(bob_u["email"]))
    assert len(sent) == 1
    for value in [sent[0]["Subject"], sent[0]["To"], *headers_of(sent[0]).values()]:
        assert not re.search(r"[\r\n\u2028\u2029]", value)
    assert "victim@example.com" not in {h["Name"] for h in sent[0]["Headers"]}
    assert all(m["To"] != "victim@example.com" for m in postmark.messages)


async def test_a_reset_link_is_sent_and_its_token_erased_from_the_outbox(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    client = await mail_browser()
    user = await sign_up(client, "Pat Forgetful")
    notification = Notification(
        "reset" + str(user["id"])[:27],
        NotificationKind.ACCOUNT_RECOVERY,
        datetime.now(UTC),
        recipient_id=UserId(str(user["id"])),
        payload={"token": "s3cret-token"},
    )
    async with mail_container.uow() as uow:
        await uow.outbox.add(notification)
        await uow.commit()

    await drain(mail_container)

    sent = mail_to(postmark.messages, str(user["email"]))
    row = next(r for r in await outbox_rows(mail_container) if r.id == notification.id)
    assert "http://testserver.local/reset-password?token=s3cret-token" in sent[0]["TextBody"]
    assert row.state == "sent" and row.payload == {}


async def test_a_worker_that_dies_mid_batch_leaves_its_rows_to_be_sent_once_by_another(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    (ada, _), (bob, bob_u) = await _people(mail_browser, "Ada Staff", "Bob Author")
    forum = await open_forum(ada)  # type: ignore[arg-type]
    await drain(mail_container)
    await submit(bob, forum["id"], "Weekly summary email")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    async with mail_container.uow() as uow:  # a worker claims, then is killed before sending
        claimed = await uow.outbox.claim(now, now + timedelta(minutes=5), 1000)
        await uow.commit()

    too_soon = await drain(mail_container, FixedClock(now + timedelta(minutes=1)))
    after_lease = await drain(mail_container, FixedClock(now + timedelta(minutes=6)))

    assert claimed and too_soon.claimed == 0
    assert len(mail_to(postmark.messages, str(bob_u["email"]))) == 1
    assert after_lease.sent >= 1


async def test_workers_racing_deliver_every_email_exactly_once(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    people = await _people(mail_browser, *[f"Person {n}" for n in range(12)])
    (ada, _), *others = people
    forum = await open_forum(ada)  # type: ignore[arg-type]
    await drain(mail_container)
    for client, _ in others:
        await submit(client, forum["id"], "Racing idea")  # type: ignore[arg-type]

    async def worker() -> None:
        for _ in range(10):
            await dispatch_due(
                uow=mail_container.uow(),
                handlers=mail_container.handlers(),
                clock=mail_container.clock(),
                policy=mail_container.retry_policy(),
                batch_size=3,
            )

    await asyncio.gather(*(worker() for _ in range(4)))
    await drain(mail_container)

    for _, user in others:
        assert len(mail_to(postmark.messages, str(user["email"]))) == 1


async def test_with_429s_and_500s_at_random_every_email_arrives_exactly_once(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    people = await _people(mail_browser, *[f"Person {n}" for n in range(15)])
    (ada, _), *others = people
    forum = await open_forum(ada)  # type: ignore[arg-type]
    await drain(mail_container)
    postmark.flaky = 0.6

    for client, _ in others:
        await submit(client, forum["id"], "Flaky network idea")  # type: ignore[arg-type]
    later = datetime.now(UTC)
    for _ in range(30):
        later += timedelta(hours=2)
        await drain(mail_container, FixedClock(later))
    rows = [r for r in await outbox_rows(mail_container) if r.kind == "request_submitted"]
    mine = [r for r in rows if r.recipient_id in {str(u["id"]) for _, u in others}]

    assert [len(mail_to(postmark.messages, str(u["email"]))) for _, u in others] == [1] * 14
    assert {r.state for r in mine} == {"sent"}


async def test_account_and_access_emails_reach_their_recipient_with_the_right_link(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada = await mail_browser()
    await sign_up(ada, "Ada Staff")
    forum = await open_forum(ada, "private")
    client = await mail_browser()
    user = await sign_up(client, "Pat Newcomer")
    now = datetime.now(UTC)
    rows = [
        Notification(
            f"verify{str(user['id'])[:26]}",
            NotificationKind.EMAIL_VERIFICATION,
            now,
            recipient_id=UserId(str(user["id"])),
            payload={"token": "v-token"},
        ),
        Notification(
            f"access{str(user['id'])[:26]}",
            NotificationKind.FORUM_ACCESS_CHANGED,
            now,
            recipient_id=UserId(str(user["id"])),
            payload={"forum_id": str(forum["id"]), "access": "granted"},
        ),
    ]
    async with mail_container.uow() as uow:
        for row in rows:
            await uow.outbox.add(row)
        await uow.commit()

    await drain(mail_container)

    sent = {m["Tag"]: m for m in postmark.messages if m["To"] == user["email"]}
    assert (
        "http://testserver.local/verify-email?token=v-token"
        in sent["email_verification"]["TextBody"]
    )
    assert sent["forum_access_changed"]["Subject"] == "You can now join Ideas"
    assert (
        f"http://testserver.local/forums/{forum['id']}" in sent["forum_access_changed"]["TextBody"]
    )
