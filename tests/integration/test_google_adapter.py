"""The Google adapter alone against the emulator: what the HTTP tests cannot easily provoke."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from customercase.adapters.google.oidc import GoogleIdentityProvider
from customercase.domain.errors import ExternalSignInFailed, IdentityProviderUnavailable
from customercase.domain.users import pkce_challenge
from tests.emulators.google import CLIENT_ID, CLIENT_SECRET, GoogleEmulator

REDIRECT = "http://testserver.local/auth/google/callback"
VERIFIER = "v" * 64


@pytest.fixture
async def provider(
    google_emulator: GoogleEmulator,
) -> AsyncIterator[tuple[GoogleEmulator, GoogleIdentityProvider]]:
    emulator = google_emulator
    emulator.unknown_kid, emulator.delay_seconds, emulator.claim_overrides = False, 0.0, {}
    emulator.sign_in_as("42", "adapter@gmail.example", "Adapter")
    async with httpx.AsyncClient(timeout=0.5) as client:
        yield (
            emulator,
            GoogleIdentityProvider(
                client,
                CLIENT_ID,
                CLIENT_SECRET,
                f"{emulator.base_url}/.well-known/openid-configuration",
            ),
        )
    emulator.unknown_kid, emulator.delay_seconds = False, 0.0


async def _code(provider: GoogleIdentityProvider, nonce: str) -> str:
    url = await provider.authorization_url(REDIRECT, "state", nonce, pkce_challenge(VERIFIER))
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url)
    return httpx.URL(consent.headers["location"]).params["code"]


async def test_a_good_code_yields_the_verified_identity(
    provider: tuple[GoogleEmulator, GoogleIdentityProvider],
) -> None:
    _, google = provider
    code = await _code(google, "n1")

    found = await google.identify(code, VERIFIER, REDIRECT, "n1")

    assert (found.subject, found.email, found.name) == ("42", "adapter@gmail.example", "Adapter")


async def test_a_token_signed_with_a_key_never_published_is_refused(
    provider: tuple[GoogleEmulator, GoogleIdentityProvider],
) -> None:
    emulator, google = provider
    emulator.unknown_kid = True
    code = await _code(google, "n2")

    with pytest.raises(ExternalSignInFailed):
        await google.identify(code, VERIFIER, REDIRECT, "n2")


async def test_a_wrong_pkce_verifier_or_a_reused_code_is_refused(
    provider: tuple[GoogleEmulator, GoogleIdentityProvider],
) -> None:
    _, google = provider
    code = await _code(google, "n3")

    with pytest.raises(ExternalSignInFailed):
        await google.identify(code, "w" * 64, REDIRECT, "n3")
    with pytest.raises(ExternalSignInFailed):
        await google.identify(code, VERIFIER, REDIRECT, "n3")


async def test_a_slow_token_endpoint_is_an_outage_not_a_hang(
    provider: tuple[GoogleEmulator, GoogleIdentityProvider],
) -> None:
    emulator, google = provider
    code = await _code(google, "n4")
    emulator.delay_seconds = 1.0

    with pytest.raises(IdentityProviderUnavailable):
        await google.identify(code, VERIFIER, REDIRECT, "n4")
