"""Google sign-in against a local OpenID provider over real HTTP, on both engines."""

from __future__ import annotations

import time

import httpx

from tests.emulators.google import GoogleEmulator
from tests.integration.conftest import Browser
from tests.integration.walk import sign_up, unique

Google = tuple[GoogleEmulator, Browser]


async def _through_google(
    client: httpx.AsyncClient, start_path: str = "/auth/google/start"
) -> tuple[httpx.Response, str]:
    """Start, let the provider consent, and return the callback's answer and its URL."""
    start = await client.get(start_path)
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as outside:
        consent = await outside.get(start.headers["location"])
    assert consent.status_code == 302, consent.text
    callback = consent.headers["location"]
    return await client.get(callback), callback


async def test_signing_in_with_google_creates_a_verified_account(google: Google) -> None:
    emulator, browser = google
    client = await browser()
    email = f"{unique('g')}@gmail.example"
    emulator.sign_in_as(unique("sub"), email, "Gina Google")

    answer, _ = await _through_google(client)
    me = await client.get("/api/v1/me")

    assert answer.status_code == 302 and answer.headers["location"] == "http://testserver.local/"
    assert me.status_code == 200 and me.json()["email"] == email
    assert me.json()["name"] == "Gina Google"


async def test_google_brings_the_browser_back_where_it_was_going_and_only_here(
    google: Google,
) -> None:
    emulator, browser = google
    going, elsewhere = await browser(), await browser()
    emulator.sign_in_as(unique("sub"), f"{unique('g')}@gmail.example", "Nina Next")
    answer, _ = await _through_google(going, "/auth/google/start?next=/forums/abc%3Fsort%3Dnew")
    emulator.sign_in_as(unique("sub"), f"{unique('g')}@gmail.example", "Eve Evil")
    away, _ = await _through_google(elsewhere, "/auth/google/start?next=//evil.example/x")

    assert answer.headers["location"] == "http://testserver.local/forums/abc?sort=new"
    assert away.headers["location"] == "http://testserver.local/"


async def test_google_links_the_account_with_the_same_verified_email(google: Google) -> None:
    emulator, browser = google
    local, via_google = await browser(), await browser()
    user = await sign_up(local)
    emulator.sign_in_as(unique("sub"), user["email"].upper(), "Other Name")

    await _through_google(via_google)
    me = await via_google.get("/api/v1/me")

    assert me.status_code == 200 and me.json()["id"] == user["id"]


async def test_the_same_google_account_signs_in_to_the_same_user(google: Google) -> None:
    emulator, browser = google
    first, second = await browser(), await browser()
    emulator.sign_in_as(unique("sub"), f"{unique('g')}@gmail.example", "Same Person")

    await _through_google(first)
    await _through_google(second)

    ids = [(await c.get("/api/v1/me")).json()["id"] for c in (first, second)]
    assert ids[0] == ids[1]


async def _refused(client: httpx.AsyncClient) -> None:
    answer, _ = await _through_google(client)
    me = await client.get("/api/v1/me")
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert me.status_code == 401


async def test_an_id_token_with_a_forged_signature_is_refused(google: Google) -> None:
    emulator, browser = google
    emulator.sign_with_foreign_key = True

    await _refused(await browser())


async def test_an_id_token_for_another_audience_is_refused(google: Google) -> None:
    emulator, browser = google
    emulator.claim_overrides = {"aud": "someone-else.apps.googleusercontent.com"}

    await _refused(await browser())


async def test_an_expired_id_token_is_refused(google: Google) -> None:
    emulator, browser = google
    emulator.claim_overrides = {"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}

    await _refused(await browser())


async def test_an_id_token_with_a_replayed_nonce_is_refused(google: Google) -> None:
    emulator, browser = google
    earlier = await browser()
    start = await earlier.get("/auth/google/start")
    old_nonce = httpx.URL(start.headers["location"]).params["nonce"]
    emulator.claim_overrides = {"nonce": old_nonce}

    await _refused(await browser())


async def test_an_id_token_from_another_issuer_is_refused(google: Google) -> None:
    emulator, browser = google
    emulator.claim_overrides = {"iss": "https://accounts.evil.example"}

    await _refused(await browser())


async def test_an_unverified_google_email_is_refused(google: Google) -> None:
    emulator, browser = google
    emulator.sign_in_as(unique("sub"), f"{unique('g')}@gmail.example", "U", verified=False)

    await _refused(await browser())


async def test_a_callback_replayed_or_in_another_browser_is_refused(google: Google) -> None:
    _, browser = google
    victim, attacker = await browser(), await browser()
    answer, callback = await _through_google(attacker)

    replayed = await attacker.get(callback)
    planted = await victim.get(callback)

    assert answer.status_code == 302
    assert replayed.status_code == planted.status_code == 401
    assert (await victim.get("/api/v1/me")).status_code == 401


async def test_a_rotated_key_is_fetched_when_its_id_is_new(google: Google) -> None:
    emulator, browser = google
    await _through_google(await browser())
    fetched = emulator.jwks_fetches

    emulator.rotate_key()
    answer, _ = await _through_google(await browser())

    assert answer.status_code == 302
    assert emulator.jwks_fetches == fetched + 1


async def test_a_google_outage_is_a_503_not_a_crash(google: Google) -> None:
    emulator, browser = google
    answers = []
    for switch in ("fail_with", "rate_limited", "malformed"):
        setattr(emulator, switch, 502 if switch == "fail_with" else True)
        answer, _ = await _through_google(await browser())
        answers.append(answer.status_code)
        setattr(emulator, switch, None if switch == "fail_with" else False)

    assert answers == [503, 503, 503]


async def test_without_google_settings_the_routes_are_not_found(browser: Browser) -> None:
    client = await browser()

    start = await client.get("/auth/google/start")

    assert start.status_code == 404


async def test_the_key_set_is_cached_between_sign_ins(google: Google) -> None:
    emulator, browser = google
    await _through_google(await browser())
    fetched = emulator.jwks_fetches

    for _ in range(3):
        await _through_google(await browser())

    assert emulator.jwks_fetches == fetched
