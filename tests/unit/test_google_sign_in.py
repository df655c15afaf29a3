"""Signing in with Google on the fakes: accounts found, linked or made, and the sign-in flow
kept in the in-memory store once and only until it expires."""

from __future__ import annotations

import pytest

from customercase.adapters.fakes.identity import FakeIdentityProvider
from customercase.adapters.fakes.memory import InMemoryUnitOfWork, LostRace
from customercase.domain.errors import ExternalSignInFailed
from customercase.domain.users import SIGN_IN_FLOW_LIFETIME, ExternalIdentity, hash_token
from customercase.services.identity import (
    FinishGoogleSignIn,
    SignedIn,
    delete_account,
    finish_google_sign_in,
    start_google_sign_in,
    sweep_expired,
)
from tests.builders import World

REDIRECT = "https://cases.example.org/auth/google/callback"
ADA = ExternalIdentity("google-sub-1", "Ada@Example.org", "Ada Lovelace")


class Google:
    def __init__(self) -> None:
        self.world = World()
        self.provider = FakeIdentityProvider()

    async def start(self) -> str:
        w = self.world
        started = await start_google_sign_in(
            REDIRECT, uow=w.uow, provider=self.provider, clock=w.clock, ids=w.ids
        )
        return started.state

    async def finish(self, state: str, code: str, browser_state: str | None = None) -> SignedIn:
        w = self.world
        return await finish_google_sign_in(
            FinishGoogleSignIn(state, browser_state or state, code, REDIRECT),
            uow=w.uow,
            provider=self.provider,
            clock=w.clock,
            ids=w.ids,
        )

    async def sign_in(self, identity: ExternalIdentity = ADA) -> SignedIn:
        state = await self.start()
        return await self.finish(state, self.provider.consent(state, identity))


@pytest.fixture
def google() -> Google:
    return Google()


async def test_a_new_google_identity_gets_a_verified_account_under_its_normalised_email(
    google: Google,
) -> None:
    signed = await google.sign_in()

    stored = google.world.store.tables.users[signed.user.id]
    assert (stored.email, stored.name, stored.email_verified, stored.google_subject) == (
        "ada@example.org",
        "Ada Lovelace",
        True,
        "google-sub-1",
    )


async def test_signing_in_again_finds_the_account_by_google_subject_even_after_an_email_change(
    google: Google,
) -> None:
    first = await google.sign_in()

    again = await google.sign_in(ExternalIdentity("google-sub-1", "ada@new.example", "Ada"))

    assert again.user.id == first.user.id
    assert len(google.world.store.tables.users) == 1


async def test_an_account_with_the_same_email_is_linked_and_its_email_marked_verified(
    google: Google,
) -> None:
    existing = await google.world.user(email="ada@example.org", email_verified=False)

    signed = await google.sign_in()

    stored = google.world.store.tables.users[existing.id]
    assert signed.user.id == existing.id
    assert (stored.google_subject, stored.email_verified) == ("google-sub-1", True)


async def test_a_callback_replayed_with_the_same_state_is_refused(google: Google) -> None:
    state = await google.start()
    await google.finish(state, google.provider.consent(state, ADA))

    with pytest.raises(ExternalSignInFailed):
        await google.finish(state, google.provider.consent(state, ADA))


async def test_a_callback_after_the_flow_expired_is_refused_and_the_flow_forgotten(
    google: Google,
) -> None:
    state = await google.start()
    code = google.provider.consent(state, ADA)
    google.world.clock.advance(SIGN_IN_FLOW_LIFETIME.total_seconds())

    with pytest.raises(ExternalSignInFailed):
        await google.finish(state, code)

    assert google.world.store.tables.sign_in_flows == {}


async def test_a_callback_in_another_browser_than_the_one_that_started_is_refused(
    google: Google,
) -> None:
    state = await google.start()
    code = google.provider.consent(state, ADA)

    with pytest.raises(ExternalSignInFailed):
        await google.finish(state, code, browser_state="someone-elses-state")

    assert google.world.store.tables.users == {}


async def test_sweeping_forgets_sign_ins_that_were_started_and_never_finished(
    google: Google,
) -> None:
    await google.start()
    await google.start()
    w = google.world
    w.clock.advance(SIGN_IN_FLOW_LIFETIME.total_seconds())

    swept = await sweep_expired(uow=w.uow, clock=w.clock, policy=w.policy)

    assert swept.tokens == 2
    assert w.store.tables.sign_in_flows == {}


async def test_a_deleted_account_no_longer_answers_to_its_google_identity(
    google: Google,
) -> None:
    first = await google.sign_in()
    await delete_account(first.user.id, uow=google.world.uow)

    again = await google.sign_in()

    assert again.user.id != first.user.id


async def test_of_two_callbacks_racing_with_one_state_only_the_first_commits(
    google: Google,
) -> None:
    state = await google.start()
    w = google.world
    first, second = InMemoryUnitOfWork(w.store), InMemoryUnitOfWork(w.store)

    async with first, second:
        mine = await first.sign_in_flows.take(hash_token(state), w.clock.now())
        theirs = await second.sign_in_flows.take(hash_token(state), w.clock.now())
        await first.commit()
        with pytest.raises(LostRace):
            await second.commit()

    assert mine is not None and mine == theirs
