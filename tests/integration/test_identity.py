"""Identity and access attacked the way a reviewer would, over HTTP, on both engines."""

from __future__ import annotations

import httpx
from litestar.middleware.csrf import generate_csrf_token

from customercase.bootstrap import Container
from customercase.entrypoints.http.app import create_asgi
from tests.integration.conftest import Browser
from tests.integration.walk import PASSWORD, open_forum, sign_up, unique


def _without_csrf_header(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.event_hooks["request"].clear()
    return client


async def test_a_signed_in_request_without_the_csrf_header_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    forum = await open_forum(client)
    _without_csrf_header(client)

    response = await client.post(f"/api/v1/forums/{forum['id']}/ideas", json={"summary": "Forged"})
    listed = await client.get(f"/api/v1/forums/{forum['id']}/ideas")

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 403
    assert listed.json()["items"] == []


async def test_a_csrf_header_that_does_not_match_the_cookie_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)

    response = await client.post(
        "/api/v1/vendors",
        json={"name": "Acme", "slug": unique("acme")},
        headers={"x-csrftoken": generate_csrf_token("test-secret-key-not-for-production")},
    )

    assert response.status_code == 403


async def test_a_csrf_token_signed_with_another_key_is_refused(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)
    forged = generate_csrf_token("some other key")
    client.cookies.set("csrftoken", forged)

    response = await client.post(
        "/api/v1/vendors",
        json={"name": "Acme", "slug": unique("acme")},
        headers={"x-csrftoken": forged},
    )

    assert response.status_code == 403


async def test_signing_out_needs_the_csrf_header(browser: Browser) -> None:
    client = await browser()
    await sign_up(client)
    _without_csrf_header(client)

    refused = await client.post("/api/v1/auth/signout")
    me = await client.get("/api/v1/me")

    assert refused.status_code == 403 and me.status_code == 200


async def test_sign_up_and_sign_in_work_without_a_token_and_hand_one_out(
    container: Container,
) -> None:
    transport = httpx.ASGITransport(app=create_asgi(container))
    email = f"{unique('fresh')}@example.org"
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as a:
        signed_up = await a.post(
            "/api/v1/auth/signup", json={"email": email, "name": "F", "password": PASSWORD}
        )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as b:
        signed_in = await b.post("/api/v1/auth/signin", json={"email": email, "password": PASSWORD})
        token = b.cookies["csrftoken"]
        vendor = await b.post(
            "/api/v1/vendors",
            json={"name": "Acme", "slug": unique("acme")},
            headers={"x-csrftoken": token},
        )

    assert signed_up.status_code == 201 and "csrftoken" in signed_up.cookies
    assert signed_in.status_code == 200
    assert vendor.status_code == 201


async def test_any_get_hands_out_the_csrf_cookie_once(container: Container) -> None:
    transport = httpx.ASGITransport(app=create_asgi(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        missing_page = await c.get("/no/such/page")
        again = await c.get("/healthz")

    assert missing_page.status_code == 404 and "csrftoken" in missing_page.cookies
    assert "set-cookie" not in again.headers


async def test_guessing_one_accounts_password_is_stopped_with_429(browser: Browser) -> None:
    owner, attacker = await browser(), await browser()
    user = await sign_up(owner)

    answers = [
        await attacker.post(
            "/api/v1/auth/signin", json={"email": user["email"], "password": f"guess {n:04}"}
        )
        for n in range(12)
    ]

    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == answers[11].status_code == 429
    assert answers[10].headers["content-type"].startswith("application/problem+json")
    assert 0 < int(answers[10].headers["retry-after"]) <= 15 * 60


async def test_the_account_limit_holds_across_addresses_and_web_processes(
    container: Container, browser: Browser
) -> None:
    owner = await browser()
    user = await sign_up(owner)
    apps = [create_asgi(container), create_asgi(container)]  # two web processes, one database
    statuses = []

    for n in range(11):
        transport = httpx.ASGITransport(app=apps[n % 2], client=(f"192.0.2.{n}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t.local") as client:
            answer = await client.post(
                "/api/v1/auth/signin", json={"email": user["email"], "password": "wrong guess"}
            )
            statuses.append(answer.status_code)

    assert statuses == [401] * 10 + [429]


async def test_one_address_trying_many_accounts_is_stopped(browser: Browser) -> None:
    attacker = await browser()

    statuses = [
        (
            await attacker.post(
                "/api/v1/auth/signin",
                json={"email": f"victim{n}@example.org", "password": "Summer2026!"},
            )
        ).status_code
        for n in range(61)
    ]

    assert statuses[:60] == [401] * 60 and statuses[60] == 429


async def test_mass_sign_ups_from_one_address_are_stopped(browser: Browser) -> None:
    bot = await browser()

    statuses = [
        (
            await bot.post(
                "/api/v1/auth/signup",
                json={"email": f"{unique('bot')}@example.org", "name": "Bot", "password": PASSWORD},
            )
        ).status_code
        for _ in range(21)
    ]

    assert statuses[:20] == [201] * 20 and statuses[20] == 429
