"""Who is signed in, answered from a process's memory for a few seconds: what a user notices.

In the process that signs out, resets a password or deletes an account the change holds at
once; another process on the same database honours it when its kept session expires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import sqlalchemy as sa
from dependency_injector import providers

from customercase.adapters.local.sessions import LocalSessionCache
from customercase.adapters.sql import tables as t
from customercase.bootstrap import Container, build_container
from customercase.entrypoints.http.app import create_asgi
from tests.integration.conftest import Browser, browsers_of
from tests.integration.walk import PASSWORD, open_forum, sign_up, submit

TTL = 0.5


class Seconds:
    """The session cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def process(container: Container, clock: Seconds) -> AsyncIterator[Callable[[], Any]]:
    """One web process on the container's database, with a session cache of its own."""
    own = build_container(container.settings())
    own.session_cache.override(providers.Object(LocalSessionCache(TTL, clock=clock)))
    async with browsers_of(create_asgi(own)) as open_browser:
        yield open_browser
    await own.engine().dispose()


async def _reset_token(container: Container, email: str) -> str:
    async with container.engine().connect() as conn:
        payload = await conn.scalar(
            sa.select(t.outbox.c.payload)
            .join(t.users, t.users.c.id == t.outbox.c.recipient_id)
            .where(t.users.c.email == email, t.outbox.c.kind == "account_recovery")
            .order_by(t.outbox.c.created_at.desc())
            .limit(1)
        )
    return str(payload["token"])


async def test_a_signed_out_cookie_is_refused_at_once(browser: Browser) -> None:
    owner, thief = await browser(), await browser()
    await sign_up(owner)
    forum = await open_forum(owner)
    idea = await submit(owner, forum["id"], "Export to CSV")
    thief.cookies.set("cc_session", owner.cookies["cc_session"])
    before = await thief.get(f"/api/v1/forums/{forum['id']}/ideas")

    await owner.post("/api/v1/auth/signout")
    me = await thief.get("/api/v1/me")
    listed = await thief.get(f"/api/v1/forums/{forum['id']}/ideas")
    vote = await thief.put(f"/api/v1/ideas/{idea['id']}/vote")

    assert before.json()["items"][0]["voted_by_me"] is True
    assert me.status_code == 401
    assert listed.json()["items"][0]["voted_by_me"] is False
    assert vote.status_code == 401


async def test_a_password_reset_signs_out_sessions_in_use_at_once(
    container: Container, browser: Browser
) -> None:
    laptop, phone, stranger = await browser(), await browser(), await browser()
    user = await sign_up(laptop)
    await phone.post("/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD})
    in_use = [(await c.get("/api/v1/me")).status_code for c in (laptop, phone)]

    await stranger.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    await stranger.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": await _reset_token(container, user["email"]), "password": "new secret!"},
    )
    after = [(await c.get("/api/v1/me")).status_code for c in (laptop, phone)]

    assert in_use == [200, 200]
    assert after == [401, 401]


async def test_deleting_the_account_signs_out_its_other_sessions_at_once(
    browser: Browser,
) -> None:
    laptop, phone = await browser(), await browser()
    user = await sign_up(laptop)
    await phone.post("/api/v1/auth/signin", json={"email": user["email"], "password": PASSWORD})
    in_use = (await phone.get("/api/v1/me")).status_code

    deleted = await laptop.delete("/api/v1/me")
    after = (await phone.get("/api/v1/me")).status_code

    assert deleted.status_code == 204
    assert (in_use, after) == (200, 401)


async def test_another_process_honours_a_sign_out_once_its_kept_session_expires(
    container: Container,
) -> None:
    here_clock, there_clock = Seconds(), Seconds()
    async with process(container, here_clock) as here, process(container, there_clock) as there:
        owner, elsewhere = await here(), await there()
        await sign_up(owner)
        elsewhere.cookies.set("cc_session", owner.cookies["cc_session"])
        before = (await elsewhere.get("/api/v1/me")).status_code

        await owner.post("/api/v1/auth/signout")
        within = (await elsewhere.get("/api/v1/me")).status_code
        there_clock.now += TTL
        after = (await elsewhere.get("/api/v1/me")).status_code

    assert before == 200
    assert within == 200  # the trade: up to CUSTOMERCASE_SESSION_CACHE_SECONDS elsewhere
    assert after == 401


async def test_with_the_cache_off_another_process_honours_a_sign_out_at_once(
    container: Container,
) -> None:
    off = build_container(msgspec.structs.replace(container.settings(), session_cache_seconds=0))
    async with (
        process(container, Seconds()) as here,
        browsers_of(create_asgi(off)) as there,
    ):
        owner, elsewhere = await here(), await there()
        await sign_up(owner)
        elsewhere.cookies.set("cc_session", owner.cookies["cc_session"])
        before = (await elsewhere.get("/api/v1/me")).status_code

        await owner.post("/api/v1/auth/signout")
        after = (await elsewhere.get("/api/v1/me")).status_code
    await off.engine().dispose()

    assert (before, after) == (200, 401)
