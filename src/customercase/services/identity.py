"""Signing up, in and out, and knowing who is behind a session cookie."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.errors import BadCredentials, EmailTaken, InvalidField, NotFound
from customercase.domain.ideas import Idea
from customercase.domain.ids import UserId
from customercase.domain.limits import (
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ADDRESS,
    SIGN_UP_PER_ACCOUNT,
    SIGN_UP_PER_ADDRESS,
)
from customercase.domain.ports import Clock, Ids, PasswordHasher, UnitOfWork
from customercase.domain.users import (
    Session,
    SessionPolicy,
    User,
    check_name,
    check_password,
    hash_token,
    normalise_email,
)
from customercase.services.limits import count_attempt


@dataclass(frozen=True, slots=True)
class SignUp:
    email: str
    name: str
    password: str
    previous_token: str | None = None
    address: str = ""


@dataclass(frozen=True, slots=True)
class SignIn:
    email: str
    password: str
    previous_token: str | None = None
    address: str = ""


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    token: str


@dataclass(frozen=True, slots=True)
class Me:
    user: User
    watching: list[Idea]


async def _start_session(
    uow: UnitOfWork, user: User, previous_token: str | None, *, clock: Clock, ids: Ids
) -> str:
    # A new token on every sign-in: a session fixed before sign-in is worthless after it.
    if previous_token:
        await uow.sessions.delete(hash_token(previous_token))
    token = ids.new_token()
    now = clock.now()
    await uow.sessions.add(Session(hash_token(token), user.id, now, now))
    return token


async def sign_up(
    cmd: SignUp, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, ids: Ids
) -> SignedIn:
    """Create an account with a password and sign it in."""
    email = normalise_email(cmd.email)
    name = check_name(cmd.name)
    check_password(cmd.password)
    await count_attempt(
        [(SIGN_UP_PER_ADDRESS, cmd.address), (SIGN_UP_PER_ACCOUNT, email)], uow=uow, clock=clock
    )
    password_hash = await hasher.hash(cmd.password)
    async with uow:
        if await uow.users.by_email(email) is not None:
            raise EmailTaken()
        user = User(UserId(ids.new_id()), email, name, clock.now(), password_hash)
        await uow.users.add(user)
        token = await _start_session(uow, user, cmd.previous_token, clock=clock, ids=ids)
        await uow.commit()
    return SignedIn(user, token)


async def sign_in(
    cmd: SignIn, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, ids: Ids
) -> SignedIn:
    """Check the password and start a fresh session; one error for every failure."""
    try:
        email = normalise_email(cmd.email)
    except InvalidField:
        email = None
    await count_attempt(
        [(SIGN_IN_PER_ADDRESS, cmd.address), (SIGN_IN_PER_ACCOUNT, email or cmd.email[:254])],
        uow=uow,
        clock=clock,
    )
    async with uow:
        user = await uow.users.by_email(email) if email else None
        # An unknown email still costs one verify, so timing tells nothing.
        stored = user.password_hash if user else None
        if not await hasher.verify(stored, cmd.password) or user is None or stored is None:
            raise BadCredentials()
        if hasher.needs_rehash(stored):
            await uow.users.set_password_hash(user.id, await hasher.hash(cmd.password))
        token = await _start_session(uow, user, cmd.previous_token, clock=clock, ids=ids)
        await uow.commit()
    return SignedIn(user, token)


async def sign_out(token: str, *, uow: UnitOfWork) -> None:
    """End the session behind this token."""
    async with uow:
        await uow.sessions.delete(hash_token(token))
        await uow.commit()


async def authenticate(
    token: str, *, uow: UnitOfWork, clock: Clock, policy: SessionPolicy
) -> User | None:
    """The user signed in with this token, or None when it is unknown, idle or too old."""
    token_hash = hash_token(token)
    now = clock.now()
    async with uow:
        session = await uow.sessions.get(token_hash)
        if session is None:
            return None
        if not session.is_alive(now, policy.idle_seconds, policy.lifetime_seconds):
            await uow.sessions.delete(token_hash)
            await uow.commit()
            return None
        user = await uow.users.get(session.user_id)
        if (now - session.last_seen_at).total_seconds() >= policy.touch_every_seconds:
            await uow.sessions.touch(token_hash, now)
        await uow.commit()
    return user


async def get_me(user_id: UserId, *, uow: UnitOfWork) -> Me:
    """The signed-in user's own account, with the ideas they watch."""
    async with uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise BadCredentials()
        watching = await uow.watches.watched_by(user_id)
    return Me(user, watching)


async def display_name(user_id: UserId, *, uow: UnitOfWork) -> str:
    """The name other users may see for this user; raise NotFound for an unknown one."""
    async with uow:
        user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    return user.name
