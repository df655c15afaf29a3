"""Staff bring people into an idea by email (API.md: POST /api/v1/ideas/{idea_id}/participants)."""

from __future__ import annotations

from customercase.bootstrap import Container
from tests.emulators.postmark import PostmarkEmulator
from tests.integration.conftest import Browser
from tests.integration.mailflow import drain, mail_to
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit, unique


async def test_an_unknown_email_added_by_staff_gets_an_account_the_email_and_later_news(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, bob, newcomer = await mail_browser(), await mail_browser(), await mail_browser()
    await sign_up(ada, "Ada Staff")
    await sign_up(bob, "Bob Author")
    forum = await open_forum(ada)
    idea = await submit(bob, forum["id"], "Two-factor authentication")
    email = f"{unique('newcomer')}@example.org"

    added = await ada.post(f"/api/v1/ideas/{idea['id']}/participants", json={"email": email})
    await drain(mail_container)
    await bob.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Welcome!"})
    await drain(mail_container)
    claim = await newcomer.post(
        "/api/v1/auth/signup", json={"email": email, "name": "New", "password": PASSWORD}
    )

    tags = [m["Tag"] for m in mail_to(postmark.messages, email)]
    assert added.status_code == 204
    assert tags == ["new_participant", "new_comment"]
    first = mail_to(postmark.messages, email)[0]
    assert "Two-factor authentication" in first["Subject"]
    assert "Ada Staff" in first["TextBody"]
    assert claim.status_code == 409


async def test_adding_the_same_person_twice_sends_one_email(
    mail_browser: Browser, mail_container: Container, postmark: PostmarkEmulator
) -> None:
    ada, bob = await mail_browser(), await mail_browser()
    await sign_up(ada, "Ada Staff")
    bob_u = await sign_up(bob, "Bob Known")
    forum = await open_forum(ada)
    idea = await submit(ada, forum["id"], "Audit log export")
    url = f"/api/v1/ideas/{idea['id']}/participants"

    first = await ada.post(url, json={"email": bob_u["email"].upper()})
    second = await ada.post(url, json={"email": bob_u["email"]})
    await drain(mail_container)

    assert first.status_code == second.status_code == 204
    assert [m["Tag"] for m in mail_to(postmark.messages, bob_u["email"])] == ["new_participant"]


async def test_only_staff_add_participants(mail_browser: Browser) -> None:
    ada, bob, anonymous = await mail_browser(), await mail_browser(), await mail_browser()
    await sign_up(ada, "Ada Staff")
    await sign_up(bob, "Bob Customer")
    forum = await open_forum(ada)
    idea = await submit(bob, forum["id"], "Let me add friends")
    url = f"/api/v1/ideas/{idea['id']}/participants"

    by_customer = await bob.post(url, json={"email": "friend@example.org"})
    by_anonymous = await anonymous.post(url, json={"email": "friend@example.org"})
    bad_email = await ada.post(url, json={"email": "not an email"})

    assert by_customer.status_code == 403
    assert by_anonymous.status_code == 401
    assert bad_email.status_code == 422
