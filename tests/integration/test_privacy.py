"""No answer of a full walk carries a hash of anyone's email, or another person's address."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from dependency_injector import providers

from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.adapters.gravatar import GravatarAvatars
from customercase.bootstrap import Container
from tests.emulators.gravatar import GravatarEmulator
from tests.emulators.server import serving
from tests.integration.conftest import Browser
from tests.integration.walk import PASSWORD, open_forum, unique


@pytest.fixture(scope="module")
def gravatar() -> Iterator[tuple[GravatarEmulator, str]]:
    emulator = GravatarEmulator()
    with serving(emulator) as url:
        yield emulator, url


@pytest.fixture
async def site(
    container: Container, gravatar: tuple[GravatarEmulator, str]
) -> AsyncIterator[GravatarEmulator]:
    async with httpx.AsyncClient() as client:
        avatars = GravatarAvatars(client=client, base_url=f"{gravatar[1]}/avatar")
        with (
            container.avatars.override(providers.Object(avatars)),
            container.spam.override(providers.Object(FakeSpamFilter())),
        ):
            yield gravatar[0]


def fingerprints(email: str) -> set[str]:
    """Every hex digest by which an email is commonly looked up (Gravatar, Libravatar, …)."""
    found = set()
    for form in {email, email.strip().lower()}:
        for algorithm in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algorithm, form.encode()).hexdigest()
            found |= {digest, digest.upper()}
    return found


async def test_a_full_walk_never_shows_an_email_hash_or_another_persons_address(
    browser: Browser, site: GravatarEmulator
) -> None:
    names = ["Ann Archer", "Ben Baker", "Cat Cooper"]
    people = [await browser() for _ in names]
    emails = [f"{unique(n.split()[0])}@Example.org" for n in names]
    seen: list[tuple[int, httpx.Response]] = []

    def keep(n: int, response: httpx.Response) -> httpx.Response:
        seen.append((n, response))
        return response

    users = []
    for n, (client, name, email) in enumerate(zip(people, names, emails, strict=True)):
        body = {"email": email, "name": name, "password": PASSWORD}
        users.append(keep(n, await client.post("/api/v1/auth/signup", json=body)).json())
    site.add(emails[0])
    forum = await open_forum(people[0], holds_first_posts=False)
    ideas = []
    for n, client in enumerate(people):
        for summary in (f"Idea of person {n}", f"Held idea of person {n} [[spam]]"):
            posted = keep(
                n,
                await client.post(f"/api/v1/forums/{forum['id']}/ideas", json={"summary": summary}),
            )
            ideas.append(posted.json()["id"])
    for n, client in enumerate(people):
        for idea_id in ideas[:2]:
            for body in ("Agreed", "Pills [[spam]]"):
                keep(n, await client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": body}))
    for n, client in enumerate(people):
        paths = [
            f"/api/v1/forums/{forum['id']}",
            f"/api/v1/forums/{forum['id']}/ideas",
            f"/api/v1/forums/{forum['id']}/ideas?sort=new",
            f"/api/v1/forums/{forum['id']}/moderation",
            "/api/v1/me",
            *(f"/api/v1/ideas/{i}" for i in ideas),
            *(f"/api/v1/ideas/{i}/comments" for i in ideas),
            *(f"/avatars/{u['id']}" for u in users),
        ]
        for path in paths:
            keep(n, await client.get(path))
        keep(n, await client.put(f"/api/v1/ideas/{ideas[0]}/vote"))

    assert any(r.headers.get("content-type") == "image/png" for _, r in seen)
    assert any(r.status_code == 202 for _, r in seen)
    for viewer, response in seen:
        text = response.content.decode("latin-1") + repr(sorted(response.headers.items()))
        for owner, email in enumerate(emails):
            for fingerprint in fingerprints(email):
                assert fingerprint not in text, (response.request.url, owner)
            if owner != viewer:
                assert email.lower() not in text.lower(), (response.request.url, owner)
