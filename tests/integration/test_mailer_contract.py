"""The Mailer contract, held by the Postmark adapter (over real HTTP to the emulator) and by the
fake alike; then the faults only a network can cause, against the emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from customercase.adapters.fakes.mailer import FakeMailer
from customercase.adapters.postmark.mailer import PostmarkMailer
from customercase.domain.mail import Delivery, OutgoingEmail
from customercase.domain.ports import Mailer
from tests.emulators.postmark import SENDER, TOKEN, PostmarkEmulator


def an_email(to: str, **extra: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "to": to,
        "subject": "Your idea moved",
        "text": "Planned now.",
        "html": "<p>Planned now.</p>",
    }
    fields.update(extra)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


@dataclass
class Backend:
    mailer: Mailer
    delivered: Callable[[], list[str]]
    make_inactive: Callable[[str], None]


@pytest.fixture
async def emulator() -> AsyncIterator[PostmarkEmulator]:
    emulator = PostmarkEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


def postmark(
    url: str, timeout: float = 5.0, token: str = TOKEN
) -> tuple[PostmarkMailer, httpx.AsyncClient]:
    client = httpx.AsyncClient(base_url=url, timeout=timeout)
    return PostmarkMailer(client, token, SENDER, first_wait=0.01, max_wait=0.2), client


@pytest.fixture(params=["fake", "postmark"])
async def backend(
    request: pytest.FixtureRequest, emulator: PostmarkEmulator
) -> AsyncIterator[Backend]:
    if request.param == "fake":
        fake = FakeMailer()
        yield Backend(fake, lambda: [e.to for e in fake.sent], fake.inactive.add)
        return
    mailer, client = postmark(emulator.url)
    yield Backend(mailer, emulator.sent_to, emulator.inactive.add)
    await client.aclose()


async def test_every_message_of_a_batch_is_delivered_once_in_order(backend: Backend) -> None:
    emails = [an_email(f"person{n}@example.net") for n in range(3)]

    results = await backend.mailer.send_batch(emails)

    assert [r.delivery for r in results] == [Delivery.SENT] * 3
    assert all(r.provider_id for r in results)
    assert backend.delivered() == [e.to for e in emails]


async def test_an_inactive_recipient_fails_for_good_while_the_rest_are_sent(
    backend: Backend,
) -> None:
    backend.make_inactive("bounced@example.net")

    results = await backend.mailer.send_batch(
        [an_email("ok@example.net"), an_email("bounced@example.net")]
    )

    assert [r.delivery for r in results] == [Delivery.SENT, Delivery.PERMANENT]
    assert "inactive" in results[1].detail
    assert backend.delivered() == ["ok@example.net"]


async def test_an_invalid_address_fails_for_good(backend: Backend) -> None:
    results = await backend.mailer.send_batch([an_email("not-an-address")])

    assert results[0].delivery is Delivery.PERMANENT
    assert backend.delivered() == []


async def test_an_empty_batch_sends_nothing(backend: Backend) -> None:
    assert await backend.mailer.send_batch([]) == []
    assert backend.delivered() == []


async def test_threading_headers_reply_to_and_stream_reach_postmark(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url)
    email = an_email(
        "pat@example.net",
        reply_to="inbox+abc.def.123@inbound.example.com",
        message_id="<n1@mail.example.com>",
        references=("<idea-1@mail.example.com>",),
        unsubscribe_url="https://example.com/stop",
        tag="new_comment",
    )

    await mailer.send_batch([email])
    await client.aclose()

    sent = emulator.messages[0]
    headers = {h["Name"]: h["Value"] for h in sent["Headers"]}
    assert emulator.requests[0].path == "/email/batch"
    assert emulator.requests[0].headers["x-postmark-server-token"] == TOKEN
    assert sent["ReplyTo"] == email.reply_to and sent["MessageStream"] == "outbound"
    assert sent["Tag"] == "new_comment" and sent["From"] == SENDER
    assert headers["Message-ID"] == "<n1@mail.example.com>"
    assert headers["In-Reply-To"] == headers["References"] == "<idea-1@mail.example.com>"
    assert headers["List-Unsubscribe"] == "<https://example.com/stop>"


async def test_a_burst_over_500_goes_out_in_calls_of_at_most_500(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url)

    results = await mailer.send_batch([an_email(f"p{n}@example.net") for n in range(501)])
    await client.aclose()

    assert len(results) == 501 and all(r.delivery is Delivery.SENT for r in results)
    assert [len(__import__("json").loads(r.body)) for r in emulator.requests] == [500, 1]


async def test_a_429_is_retried_after_the_time_it_asks_for(emulator: PostmarkEmulator) -> None:
    mailer, client = postmark(emulator.url)
    emulator.fail_next(429, retry_after="0.3")
    started = time.monotonic()

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.SENT
    assert len(emulator.requests) == 2 and time.monotonic() - started >= 0.2
    assert emulator.sent_to() == ["pat@example.net"]


async def test_a_5xx_is_retried_with_backoff_until_it_goes_through(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url)
    emulator.fail_next(500, times=2)

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.SENT
    assert len(emulator.requests) == 3 and emulator.sent_to() == ["pat@example.net"]


async def test_a_lasting_outage_is_reported_as_transient_not_raised(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url)
    emulator.fail_next(503, times=10)

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.TRANSIENT and "503" in results[0].detail
    assert len(emulator.requests) == 4


async def test_a_slow_answer_is_transient_and_not_resent_on_the_spot(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url, timeout=0.2)
    emulator.slow_seconds = 0.5

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.TRANSIENT
    assert len(emulator.requests) == 1


async def test_a_malformed_answer_is_transient(emulator: PostmarkEmulator) -> None:
    mailer, client = postmark(emulator.url)
    emulator.malformed = 1

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.TRANSIENT


async def test_postmark_being_down_is_transient(emulator: PostmarkEmulator) -> None:
    url = emulator.url
    emulator.stop()
    mailer, client = postmark(url)

    results = await mailer.send_batch([an_email("pat@example.net")])
    await client.aclose()

    assert results[0].delivery is Delivery.TRANSIENT


async def test_a_bad_server_token_fails_every_message_for_good(
    emulator: PostmarkEmulator,
) -> None:
    mailer, client = postmark(emulator.url, token="wrong")

    results = await mailer.send_batch([an_email("a@example.net"), an_email("b@example.net")])
    await client.aclose()

    assert [r.delivery for r in results] == [Delivery.PERMANENT] * 2
    assert "token" in results[0].detail and emulator.messages == []
