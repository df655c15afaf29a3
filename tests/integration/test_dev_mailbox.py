"""The local dev mailbox: mail `make run` keeps instead of sending, readable at /dev/mailbox."""

from __future__ import annotations

import httpx
import msgspec

from customercase.bootstrap import Container, build_container
from customercase.domain.mail import Delivery, OutgoingEmail
from customercase.entrypoints.http.app import create_asgi
from tests.integration.conftest import Browser, browsers_of


async def test_mail_kept_locally_is_listed_and_readable_with_its_html_escaped(
    container: Container,
) -> None:
    local = build_container(msgspec.structs.replace(container.settings(), is_local=True))
    email = OutgoingEmail(
        to="pat@example.net",
        subject="Re: <b>Dark mode</b>",
        text="Hello\nthere",
        html="<p onclick='x'>Hello</p>",
        reply_to="in+abc@inbound.example.com",
    )
    async with browsers_of(create_asgi(local)) as browser:
        client = await browser()

        results = await local.mailer().send_batch([email])
        listing = await client.get("/dev/mailbox")
        stored = (await local.dev_mailbox().recent(1))[0]  # type: ignore[union-attr]
        shown = await client.get(f"/dev/mailbox/{stored.id}")

    assert results[0].delivery is Delivery.SENT
    assert "pat@example.net" in listing.text and "&lt;b&gt;Dark mode&lt;/b&gt;" in listing.text
    assert shown.status_code == 200 and stored.email == email
    assert "in+abc@inbound.example.com" in shown.text
    assert "<p onclick" not in shown.text and 'sandbox=""' in shown.text


async def test_the_dev_mailbox_is_not_served_when_postmark_sends_the_mail(
    container: Container,
) -> None:
    settings = msgspec.structs.replace(container.settings(), postmark_server_token="t")
    with_postmark = build_container(settings)
    transport = httpx.ASGITransport(app=create_asgi(with_postmark))

    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/dev/mailbox")

    assert response.status_code == 404
    assert with_postmark.dev_mailbox() is None
    await with_postmark.engine().dispose()


async def test_the_dev_mailbox_is_not_served_outside_a_local_run(browser: Browser) -> None:
    client = await browser()

    listing = await client.get("/dev/mailbox")

    assert listing.status_code == 404
