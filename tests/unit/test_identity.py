"""Signing up, in and out, and sessions, against the fakes."""

from __future__ import annotations

from typing import Self

import pytest

from customercase.adapters.fakes.memory import InMemoryUnitOfWork
from customercase.adapters.fakes.system import FakePasswordHasher
from customercase.adapters.local.sessions import LocalSessionCache
from customercase.domain.errors import BadCredentials, EmailTaken, InvalidField, NotFound
from customercase.domain.ids import UserId
from customercase.domain.users import OneTimeToken, TokenPurpose, User, hash_token
from customercase.services.identity import (
    ResetPassword,
    SignedIn,
    SignIn,
    SignUp,
    authenticate,
    delete_account,
    display_name,
    get_me,
    reset_password,
    sign_in,
    sign_out,
    sign_up,
)
from tests.builders import PASSWORD, World
from tests.unit.test_session_cache import Ticking


@pytest.fixture
def world() -> World:
    return World()


async def signed_up(
    world: World, email: str = "ada@example.org", previous_token: str | None = None
) -> SignedIn:
    return await sign_up(
        SignUp(email, "Ada Lovelace", PASSWORD, previous_token),
        uow=world.uow,
        hasher=world.hasher,
        clock=world.clock,
        ids=world.ids,
    )


async def signed_in(
    world: World,
    email: str = "ada@example.org",
    password: str = PASSWORD,
    previous_token: str | None = None,
) -> SignedIn:
    return await sign_in(
        SignIn(email, password, previous_token),
        uow=world.uow,
        hasher=world.hasher,
        clock=world.clock,
        ids=world.ids,
    )


async def who_is(world: World, token: str) -> User | None:
    return await authenticate(token, uow=world.uow, clock=world.clock, policy=world.policy)


async def test_sign_up_stores_the_normalised_email_and_a_hash_of_the_password(world: World) -> None:
    signed = await signed_up(world, email="  Ada@Example.ORG ")

    stored = world.store.tables.users[signed.user.id]
    assert stored.email == "ada@example.org"
    assert stored.password_hash == await world.hasher.hash(PASSWORD)


async def test_sign_up_signs_the_new_user_in(world: World) -> None:
    signed = await signed_up(world)

    user = await who_is(world, signed.token)

    assert user == signed.user


async def test_sign_up_stores_only_a_hash_of_the_session_token(world: World) -> None:
    signed = await signed_up(world)

    assert list(world.store.tables.sessions) == [hash_token(signed.token)]


async def test_sign_up_with_a_taken_email_in_any_case_is_email_taken(world: World) -> None:
    await signed_up(world, email="ada@example.org")

    with pytest.raises(EmailTaken):
        await signed_up(world, email="ADA@example.org")


async def test_sign_up_with_a_weak_password_names_the_password_and_stores_nothing(
    world: World,
) -> None:
    with pytest.raises(InvalidField) as error:
        await sign_up(
            SignUp("ada@example.org", "Ada", "password123"),
            uow=world.uow,
            hasher=world.hasher,
            clock=world.clock,
            ids=world.ids,
        )

    assert error.value.field == "password"
    assert world.store.tables.users == {}


async def test_sign_up_with_a_malformed_email_names_the_email(world: World) -> None:
    with pytest.raises(InvalidField) as error:
        await signed_up(world, email="ada.example.org")

    assert error.value.field == "email"


async def test_sign_up_revokes_the_session_it_was_made_from(world: World) -> None:
    first = await signed_up(world, email="ada@example.org")

    await signed_up(world, email="bob@example.org", previous_token=first.token)

    assert await who_is(world, first.token) is None


async def test_sign_in_with_the_right_password_gives_the_account(world: World) -> None:
    signed = await signed_up(world)

    again = await signed_in(world, email="ADA@example.org ")

    assert again.user.id == signed.user.id


async def test_sign_in_gives_a_token_that_authenticates(world: World) -> None:
    await signed_up(world)

    signed = await signed_in(world)

    assert (await who_is(world, signed.token)) == signed.user


async def test_sign_in_with_a_wrong_password_is_bad_credentials(world: World) -> None:
    await signed_up(world)

    with pytest.raises(BadCredentials):
        await signed_in(world, password="not the password")


async def test_sign_in_with_an_unknown_email_is_bad_credentials(world: World) -> None:
    await signed_up(world)

    with pytest.raises(BadCredentials):
        await signed_in(world, email="eve@example.org")


async def test_sign_in_with_a_malformed_email_is_bad_credentials(world: World) -> None:
    with pytest.raises(BadCredentials):
        await signed_in(world, email="not an email")


async def test_sign_in_to_an_account_without_a_password_is_bad_credentials(world: World) -> None:
    await world.user(email="ada@example.org", password_hash=None)

    with pytest.raises(BadCredentials):
        await signed_in(world)


async def test_sign_in_with_an_unknown_email_still_costs_one_verification(world: World) -> None:
    with pytest.raises(BadCredentials):
        await signed_in(world, email="eve@example.org")

    assert world.hasher.verifications == 1


async def test_sign_in_revokes_the_previous_session_token(world: World) -> None:
    first = await signed_up(world)

    second = await signed_in(world, previous_token=first.token)

    assert await who_is(world, first.token) is None
    assert second.token != first.token


async def test_sign_in_leaves_other_sessions_of_the_account_alone(world: World) -> None:
    first = await signed_up(world)

    await signed_in(world)

    assert await who_is(world, first.token) is not None


async def test_sign_in_rehashes_a_password_hashed_the_old_way(world: World) -> None:
    old = FakePasswordHasher(prefix="old$")
    user = await world.user(email="ada@example.org", password_hash=await old.hash(PASSWORD))

    await signed_in(world)

    assert world.store.tables.users[user.id].password_hash == await world.hasher.hash(PASSWORD)


async def test_failed_sign_in_does_not_rehash(world: World) -> None:
    old_hash = await FakePasswordHasher(prefix="old$").hash(PASSWORD)
    user = await world.user(email="ada@example.org", password_hash=old_hash)

    with pytest.raises(BadCredentials):
        await signed_in(world, password="not the password")

    assert world.store.tables.users[user.id].password_hash == old_hash


async def test_sign_out_ends_the_session(world: World) -> None:
    signed = await signed_up(world)

    await sign_out(signed.token, uow=world.uow)

    assert await who_is(world, signed.token) is None


async def test_signing_out_of_an_unknown_session_is_no_error(world: World) -> None:
    await sign_out("no-such-token", uow=world.uow)

    assert world.uow.committed


async def test_unknown_token_authenticates_nobody(world: World) -> None:
    await signed_up(world)

    assert await who_is(world, "no-such-token") is None


async def test_session_ends_after_the_idle_timeout(world: World) -> None:
    signed = await signed_up(world)
    world.clock.advance(world.policy.idle_seconds)

    user = await who_is(world, signed.token)

    assert user is None


async def test_session_lives_just_short_of_the_idle_timeout(world: World) -> None:
    signed = await signed_up(world)
    world.clock.advance(world.policy.idle_seconds - 1)

    user = await who_is(world, signed.token)

    assert user == signed.user


async def test_activity_postpones_the_idle_timeout(world: World) -> None:
    signed = await signed_up(world)
    world.clock.advance(world.policy.idle_seconds - 1)
    await who_is(world, signed.token)
    world.clock.advance(world.policy.idle_seconds - 1)

    user = await who_is(world, signed.token)

    assert user == signed.user


async def test_session_ends_at_its_lifetime_however_active(world: World) -> None:
    signed = await signed_up(world)
    step = world.policy.idle_seconds // 2
    for _ in range(world.policy.lifetime_seconds // step - 1):
        world.clock.advance(step)
        assert await who_is(world, signed.token) is not None
    world.clock.advance(step)

    user = await who_is(world, signed.token)

    assert user is None


async def test_expired_session_is_deleted(world: World) -> None:
    signed = await signed_up(world)
    world.clock.advance(world.policy.lifetime_seconds)

    await who_is(world, signed.token)

    assert hash_token(signed.token) not in world.store.tables.sessions


async def test_activity_is_recorded_at_most_once_a_minute(world: World) -> None:
    signed = await signed_up(world)
    started = world.clock.now()
    world.clock.advance(world.policy.touch_every_seconds - 1)

    await who_is(world, signed.token)

    assert world.store.tables.sessions[hash_token(signed.token)].last_seen_at == started


async def test_activity_after_a_minute_is_recorded(world: World) -> None:
    signed = await signed_up(world)
    now = world.clock.advance(world.policy.touch_every_seconds)

    await who_is(world, signed.token)

    assert world.store.tables.sessions[hash_token(signed.token)].last_seen_at == now


async def test_me_lists_the_ideas_i_watch_newest_first(world: World) -> None:
    me = await world.user()
    forum = await world.forum()
    older = await world.idea(forum, me, created_at=world.clock.now())
    newer = await world.idea(forum, me, created_at=world.clock.advance(60))
    async with world.uow as uow:
        await uow.watches.start(older.id, me.id)
        await uow.watches.start(newer.id, me.id)
        await uow.commit()

    mine = await get_me(me.id, uow=world.uow)

    assert [idea.id for idea in mine.watching] == [newer.id, older.id]


async def test_me_of_an_unknown_user_is_bad_credentials(world: World) -> None:
    with pytest.raises(BadCredentials):
        await get_me(UserId("nobody"), uow=world.uow)


async def test_display_name_is_the_users_name_and_not_their_email(world: World) -> None:
    user = await world.user(name="Ada Lovelace", email="ada@example.org")

    name = await display_name(user.id, uow=world.uow)

    assert name == "Ada Lovelace"


async def test_display_name_of_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await display_name(UserId("nobody"), uow=world.uow)


# ---------------------------------------------------------------- with the session cache


class CountingUnitOfWork(InMemoryUnitOfWork):
    """Counts the transactions opened: each is a database round trip in the real one."""

    opened = 0

    async def __aenter__(self) -> Self:
        self.opened += 1
        return await super().__aenter__()


@pytest.fixture
def ticking() -> Ticking:
    return Ticking()


@pytest.fixture
def cache(ticking: Ticking) -> LocalSessionCache:
    return LocalSessionCache(2.0, clock=ticking)


async def who_is_kept(world: World, cache: LocalSessionCache, token: str) -> User | None:
    return await authenticate(
        token, uow=world.uow, clock=world.clock, policy=world.policy, session_cache=cache
    )


async def test_a_kept_session_answers_without_the_database(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    world.uow = CountingUnitOfWork(world.store)
    await who_is_kept(world, cache, signed.token)

    user = await who_is_kept(world, cache, signed.token)

    assert user == signed.user
    assert world.uow.opened == 1


async def test_a_session_ended_elsewhere_is_honoured_once_the_kept_one_expires(
    world: World, cache: LocalSessionCache, ticking: Ticking
) -> None:
    signed = await signed_up(world)
    await who_is_kept(world, cache, signed.token)
    # Another process signs the session out: this one's memory does not hear of it.
    await sign_out(signed.token, uow=world.uow)
    within = await who_is_kept(world, cache, signed.token)
    ticking.now += 2.0

    after = await who_is_kept(world, cache, signed.token)

    assert (within, after) == (signed.user, None)


async def test_a_kept_session_still_ends_at_the_idle_timeout(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    await who_is_kept(world, cache, signed.token)
    world.clock.advance(world.policy.idle_seconds)

    user = await who_is_kept(world, cache, signed.token)

    assert user is None
    assert hash_token(signed.token) not in world.store.tables.sessions


async def test_a_kept_session_still_ends_at_its_lifetime(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    step = world.policy.idle_seconds // 2
    for _ in range(world.policy.lifetime_seconds // step - 1):
        world.clock.advance(step)
        assert await who_is_kept(world, cache, signed.token) is not None
    world.clock.advance(step - 1)
    # Touched and kept a second before its end: no touch is due when the end comes.
    assert await who_is_kept(world, cache, signed.token) is not None
    world.clock.advance(1)

    user = await who_is_kept(world, cache, signed.token)

    assert user is None


async def test_a_due_touch_is_written_though_the_session_is_kept(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    await who_is_kept(world, cache, signed.token)
    now = world.clock.advance(world.policy.touch_every_seconds)

    await who_is_kept(world, cache, signed.token)

    assert world.store.tables.sessions[hash_token(signed.token)].last_seen_at == now


async def test_a_touch_keeps_the_session_answering_from_memory(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    world.uow = CountingUnitOfWork(world.store)
    world.clock.advance(world.policy.touch_every_seconds)
    await who_is_kept(world, cache, signed.token)
    opened = world.uow.opened

    await who_is_kept(world, cache, signed.token)

    assert world.uow.opened == opened


async def test_sign_out_forgets_the_kept_session_at_once(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    await who_is_kept(world, cache, signed.token)

    await sign_out(signed.token, uow=world.uow, session_cache=cache)

    assert await who_is_kept(world, cache, signed.token) is None


async def test_sign_in_forgets_the_kept_session_it_replaces(
    world: World, cache: LocalSessionCache
) -> None:
    first = await signed_up(world)
    await who_is_kept(world, cache, first.token)

    await sign_in(
        SignIn("ada@example.org", PASSWORD, first.token),
        uow=world.uow,
        hasher=world.hasher,
        clock=world.clock,
        ids=world.ids,
        session_cache=cache,
    )

    assert await who_is_kept(world, cache, first.token) is None


async def test_a_password_reset_forgets_every_kept_session_of_the_user(
    world: World, cache: LocalSessionCache
) -> None:
    first, second = await signed_up(world), await signed_in(world)
    await who_is_kept(world, cache, first.token)
    await who_is_kept(world, cache, second.token)
    async with world.uow as uow:
        reset = OneTimeToken.issue(
            "reset-token", TokenPurpose.PASSWORD_RESET, first.user.id, world.clock.now()
        )
        await uow.tokens.add(reset)
        await uow.commit()

    await reset_password(
        ResetPassword("reset-token", "a new long passphrase"),
        uow=world.uow,
        hasher=world.hasher,
        clock=world.clock,
        session_cache=cache,
    )

    assert await who_is_kept(world, cache, first.token) is None
    assert await who_is_kept(world, cache, second.token) is None


async def test_deleting_the_account_forgets_its_kept_sessions(
    world: World, cache: LocalSessionCache
) -> None:
    signed = await signed_up(world)
    await who_is_kept(world, cache, signed.token)

    await delete_account(signed.user.id, uow=world.uow, session_cache=cache)

    assert await who_is_kept(world, cache, signed.token) is None
