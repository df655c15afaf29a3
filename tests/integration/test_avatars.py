"""Avatars through our own route: Gravatar fetched server-side over real HTTP (the emulator),
cached, and the initials when there is no picture or Gravatar is down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from dependency_injector import providers

from customercase.adapters.gravatar import GravatarAvatars, gravatar_hash
from customercase.bootstrap import Container
from tests.emulators.gravatar import PNG, GravatarEmulator
from tests.emulators.server import serving
from tests.integration.conftest import Browser
from tests.integration.walk import sign_up


@pytest.fixture(scope="module")
def emulated() -> Iterator[tuple[GravatarEmulator, str]]:
    emulator = GravatarEmulator()
    with serving(emulator) as url:
        yield emulator, url


@pytest.fixture
async def gravatar(
    container: Container, emulated: tuple[GravatarEmulator, str]
) -> AsyncIterator[GravatarEmulator]:
    emulator, url = emulated
    async with httpx.AsyncClient() as client:
        adapter = GravatarAvatars(client=client, base_url=f"{url}/avatar", timeout_seconds=0.5)
        with container.avatars.override(providers.Object(adapter)):
            yield emulator
    emulator.failing, emulator.slow_seconds = False, 0.0


def test_the_hash_is_sha256_of_the_trimmed_lower_cased_address() -> None:
    assert (
        gravatar_hash(" MyEmailAddress@example.com ")
        == "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee"
    )


async def test_a_person_with_a_gravatar_gets_it_through_our_route_and_only_once(
    browser: Browser, gravatar: GravatarEmulator
) -> None:
    client = await browser()
    user = await sign_up(client)
    gravatar.add(user["email"])

    first = await client.get(f"/avatars/{user['id']}")
    second = await client.get(f"/avatars/{user['id']}")

    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content == second.content == PNG
    asked = [(p, q) for p, q in gravatar.requests if gravatar_hash(user["email"]) in p]
    assert len(asked) == 1 and asked[0][1]["d"] == "404"


async def test_a_person_without_a_gravatar_gets_their_initials(
    browser: Browser, gravatar: GravatarEmulator
) -> None:
    client = await browser()
    user = await sign_up(client, "Grace Hopper")

    response = await client.get(f"/avatars/{user['id']}")

    assert response.headers["content-type"].startswith("image/svg+xml")
    assert ">GH</text>" in response.text


@pytest.mark.parametrize("trouble", ["failing", "slow"])
async def test_when_gravatar_is_down_or_slow_the_initials_are_served(
    browser: Browser, gravatar: GravatarEmulator, trouble: str
) -> None:
    client = await browser()
    user = await sign_up(client, "Alan Turing")
    gravatar.add(user["email"])
    gravatar.failing = trouble == "failing"
    gravatar.slow_seconds = 1.0 if trouble == "slow" else 0.0

    response = await client.get(f"/avatars/{user['id']}")

    assert response.status_code == 200
    assert ">AT</text>" in response.text


async def test_an_unknown_user_has_no_avatar(browser: Browser, gravatar: GravatarEmulator) -> None:
    client = await browser()

    assert (await client.get("/avatars/nobody")).status_code == 404
