"""Signing up, in and out, and knowing who is behind a session cookie."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from customercase.domain.errors import (
    BadCredentials,
    EmailTaken,
    ExternalSignInFailed,
    InvalidField,
    InvalidToken,
    LastAdmin,
    NotFound,
)
from customercase.domain.ideas import Idea
from customercase.domain.ids import UserId
from customercase.domain.limits import (
    LONGEST_WINDOW_SECONDS,
    RESET_PER_ACCOUNT,
    RESET_PER_ADDRESS,
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ADDRESS,
    SIGN_UP_PER_ACCOUNT,
    SIGN_UP_PER_ADDRESS,
)
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.ports import (
    Clock,
    IdentityProvider,
    Ids,
    PasswordHasher,
    SessionCache,
    UnitOfWork,
)
from customercase.domain.privacy import PersonalData
from customercase.domain.users import (
    SIGN_IN_FLOW_LIFETIME,
    OneTimeToken,
    Session,
    SessionPolicy,
    SignInFlow,
    TokenPurpose,
    User,
    check_name,
    check_password,
    hash_token,
    normalise_email,
    pkce_challenge,
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


def _forget(session_cache: SessionCache | None, token: str | None) -> None:
    """After a commit that ended this session: this process stops answering it from memory."""
    if session_cache is not None and token:
        session_cache.drop(hash_token(token))


def _forget_user(session_cache: SessionCache | None, user_id: UserId) -> None:
    """After a commit that ended the user's sessions or changed what a session's User carries."""
    if session_cache is not None:
        session_cache.drop_user(user_id)


_LINK_KINDS = {
    TokenPurpose.PASSWORD_RESET: NotificationKind.ACCOUNT_RECOVERY,
    TokenPurpose.EMAIL_VERIFICATION: NotificationKind.EMAIL_VERIFICATION,
}


async def _send_link(
    uow: UnitOfWork, user: User, purpose: TokenPurpose, *, clock: Clock, ids: Ids
) -> None:
    """Queue an email whose link carries a fresh one-time token; only its hash is kept."""
    token = ids.new_token()
    now = clock.now()
    await uow.tokens.add(OneTimeToken.issue(token, purpose, user.id, now))
    # The mailer builds `<base_url>/reset-password?token=…` (or /verify-email?token=…) from the
    # token in the payload. The worker must erase the token from the outbox row once the email
    # is sent, so the database never keeps a usable secret (see Notification).
    await uow.outbox.add(
        Notification(
            ids.new_id(), _LINK_KINDS[purpose], now, recipient_id=user.id, payload={"token": token}
        )
    )


async def sign_up(
    cmd: SignUp,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    clock: Clock,
    ids: Ids,
    session_cache: SessionCache | None = None,
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
        await _send_link(uow, user, TokenPurpose.EMAIL_VERIFICATION, clock=clock, ids=ids)
        token = await _start_session(uow, user, cmd.previous_token, clock=clock, ids=ids)
        await uow.commit()
    _forget(session_cache, cmd.previous_token)
    return SignedIn(user, token)


async def sign_in(
    cmd: SignIn,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    clock: Clock,
    ids: Ids,
    session_cache: SessionCache | None = None,
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
        rehashed = hasher.needs_rehash(stored)
        if rehashed:
            await uow.users.set_password_hash(user.id, await hasher.hash(cmd.password))
        token = await _start_session(uow, user, cmd.previous_token, clock=clock, ids=ids)
        await uow.commit()
    _forget(session_cache, cmd.previous_token)
    if rehashed:
        _forget_user(session_cache, user.id)
    return SignedIn(user, token)


async def sign_out(
    token: str, *, uow: UnitOfWork, session_cache: SessionCache | None = None
) -> None:
    """End the session behind this token."""
    async with uow:
        await uow.sessions.delete(hash_token(token))
        await uow.commit()
    _forget(session_cache, token)


async def authenticate(
    token: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: SessionPolicy,
    session_cache: SessionCache | None = None,
) -> User | None:
    """The user signed in with this token, or None when it is unknown, idle or too old."""
    token_hash = hash_token(token)
    now = clock.now()
    # Every signed-in request comes through here. A session kept in memory answers alone while
    # it is alive by its own timestamps and no touch is due; otherwise the database decides.
    kept = session_cache.get(token_hash) if session_cache is not None else None
    if kept is not None:
        session, user = kept
        if _is_alive(session, now, policy) and not _touch_due(session, now, policy):
            return user
    version = session_cache.version() if session_cache is not None else 0
    # One read, and a write only when one is due.
    async with uow.read_only():
        found = await uow.sessions.with_user(token_hash)
    if found is None:
        return None
    session, user = found
    if not _is_alive(session, now, policy):
        async with uow:
            await uow.sessions.delete(token_hash)
            await uow.commit()
        _forget(session_cache, token)
        return None
    if _touch_due(session, now, policy):
        async with uow:
            await uow.sessions.touch(token_hash, now)
            await uow.commit()
        session = replace(session, last_seen_at=now)
    if session_cache is not None:
        session_cache.put(session, user, version)
    return user


def _is_alive(session: Session, now: datetime, policy: SessionPolicy) -> bool:
    return session.is_alive(now, policy.idle_seconds, policy.lifetime_seconds)


def _touch_due(session: Session, now: datetime, policy: SessionPolicy) -> bool:
    return (now - session.last_seen_at).total_seconds() >= policy.touch_every_seconds


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


@dataclass(frozen=True, slots=True)
class RequestPasswordReset:
    email: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class ResetPassword:
    token: str
    password: str


@dataclass(frozen=True, slots=True)
class VerifyEmail:
    token: str
    session_token: str | None = None


async def request_password_reset(
    cmd: RequestPasswordReset, *, uow: UnitOfWork, clock: Clock, ids: Ids
) -> None:
    """Email a single-use reset link when the account exists; the caller learns nothing either way.

    This is also how an account made without a password (by email-in or a Jira import) is claimed.
    """
    try:
        email = normalise_email(cmd.email)
    except InvalidField:
        email = cmd.email[:254]
    await count_attempt(
        [(RESET_PER_ADDRESS, cmd.address), (RESET_PER_ACCOUNT, email)], uow=uow, clock=clock
    )
    async with uow:
        user = await uow.users.by_email(email)
        if user is None:
            return
        await _send_link(uow, user, TokenPurpose.PASSWORD_RESET, clock=clock, ids=ids)
        await uow.commit()


async def reset_password(
    cmd: ResetPassword,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    clock: Clock,
    session_cache: SessionCache | None = None,
) -> None:
    """Set a new password from a reset link; the link dies and every session of the user ends."""
    check_password(cmd.password)
    async with uow:
        # The token is spent first, so a stranger's bad tokens never cost us a hash.
        user_id = await uow.tokens.use(
            hash_token(cmd.token), TokenPurpose.PASSWORD_RESET, clock.now()
        )
        if user_id is None:
            raise InvalidToken()
        await uow.users.set_password_hash(user_id, await hasher.hash(cmd.password))
        # The link reached the mailbox: that proves the address as well as a verification would.
        await uow.users.mark_email_verified(user_id)
        await uow.sessions.delete_all_of(user_id)
        await uow.commit()
    _forget_user(session_cache, user_id)


async def verify_email(
    cmd: VerifyEmail,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    session_cache: SessionCache | None = None,
) -> str | None:
    """Mark the email verified from its link; a new session token if the caller was its owner.

    Verification can open private forums to the user (their domain now counts), a change of
    privilege, so the session that carries it is rotated.
    """
    async with uow:
        user_id = await uow.tokens.use(
            hash_token(cmd.token), TokenPurpose.EMAIL_VERIFICATION, clock.now()
        )
        if user_id is None:
            raise InvalidToken()
        await uow.users.mark_email_verified(user_id)
        new_token = await _rotate(uow, user_id, cmd.session_token, clock=clock, ids=ids)
        await uow.commit()
    # A verified email can open private forums: every session of the user must see it now.
    _forget_user(session_cache, user_id)
    return new_token


async def rotate_session(
    token: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ids: Ids,
    session_cache: SessionCache | None = None,
) -> str | None:
    """Swap the session's token for a new one after its privileges changed; None if it is gone."""
    async with uow:
        session = await uow.sessions.get(hash_token(token))
        if session is None:
            return None
        new_token = await _rotate(uow, session.user_id, token, clock=clock, ids=ids)
        await uow.commit()
    if new_token is not None:
        _forget(session_cache, token)
    return new_token


async def _rotate(
    uow: UnitOfWork, user_id: UserId, token: str | None, *, clock: Clock, ids: Ids
) -> str | None:
    if not token:
        return None
    session = await uow.sessions.get(hash_token(token))
    if session is None or session.user_id != user_id:
        return None
    await uow.sessions.delete(session.token_hash)
    new_token = ids.new_token()
    # The new token keeps the old session's start, so rotation never extends its lifetime.
    await uow.sessions.add(Session(hash_token(new_token), user_id, session.created_at, clock.now()))
    return new_token


@dataclass(frozen=True, slots=True)
class Swept:
    sessions: int
    tokens: int
    rate_limits: int


async def sweep_expired(*, uow: UnitOfWork, clock: Clock, policy: SessionPolicy) -> Swept:
    """Delete dead sessions, used or expired one-time tokens and stale rate-limit windows.

    The worker calls this on a schedule; it is safe to run from several processes at once.
    """
    now = clock.now()
    async with uow:
        sessions = await uow.sessions.sweep(
            now - timedelta(seconds=policy.idle_seconds),
            now - timedelta(seconds=policy.lifetime_seconds),
        )
        tokens = await uow.tokens.sweep(now) + await uow.sign_in_flows.sweep(now)
        windows = await uow.rate_limits.sweep(now - timedelta(seconds=LONGEST_WINDOW_SECONDS))
        await uow.commit()
    return Swept(sessions, tokens, windows)


async def export_my_data(user_id: UserId, *, uow: UnitOfWork) -> PersonalData:
    """All of the caller's own data: account, ideas, comments, votes, watches and roles."""
    async with uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise BadCredentials()
        return await uow.users.personal_data(user)


async def delete_account(
    user_id: UserId, *, uow: UnitOfWork, session_cache: SessionCache | None = None
) -> None:
    """Erase the account's personal data and sign it out everywhere; its posts stay, unnamed."""
    async with uow:
        if await uow.vendors.solely_administered_by(user_id):
            raise LastAdmin()
        await uow.users.erase(user_id)
        await uow.commit()
    _forget_user(session_cache, user_id)


@dataclass(frozen=True, slots=True)
class StartedSignIn:
    url: str
    state: str


@dataclass(frozen=True, slots=True)
class FinishGoogleSignIn:
    state: str
    browser_state: str | None
    code: str
    redirect_uri: str
    previous_token: str | None = None


async def start_google_sign_in(
    redirect_uri: str, *, uow: UnitOfWork, provider: IdentityProvider, clock: Clock, ids: Ids
) -> StartedSignIn:
    """Begin the authorization-code flow: a fresh state, nonce and PKCE verifier, kept here."""
    state, nonce, verifier = ids.new_token(), ids.new_token(), ids.new_token() + ids.new_token()
    url = await provider.authorization_url(redirect_uri, state, nonce, pkce_challenge(verifier))
    async with uow:
        expires = clock.now() + SIGN_IN_FLOW_LIFETIME
        await uow.sign_in_flows.add(SignInFlow(hash_token(state), nonce, verifier, expires))
        await uow.commit()
    return StartedSignIn(url, state)


async def finish_google_sign_in(
    cmd: FinishGoogleSignIn,
    *,
    uow: UnitOfWork,
    provider: IdentityProvider,
    clock: Clock,
    ids: Ids,
    session_cache: SessionCache | None = None,
) -> SignedIn:
    """Complete the flow: the account of that Google identity, linked or created, signed in.

    An account with the same email is linked only because Google vouches the email verified.
    """
    # The state must come back to the browser that started the flow (no login CSRF), once.
    if not cmd.browser_state or not hmac.compare_digest(cmd.state, cmd.browser_state):
        raise ExternalSignInFailed()
    async with uow:
        flow = await uow.sign_in_flows.take(hash_token(cmd.state), clock.now())
        await uow.commit()
    if flow is None:
        raise ExternalSignInFailed()
    found = await provider.identify(cmd.code, flow.code_verifier, cmd.redirect_uri, flow.nonce)
    async with uow:
        user = await uow.users.by_google_subject(found.subject)
        linked = False
        if user is None:
            user = await uow.users.by_email(normalise_email(found.email))
            if user is not None:
                await uow.users.link_google(user.id, found.subject)
                linked = True
        if user is None:
            user = User(
                UserId(ids.new_id()),
                normalise_email(found.email),
                check_name(found.name or found.email.split("@", 1)[0]),
                clock.now(),
                email_verified=True,
                google_subject=found.subject,
            )
            await uow.users.add(user)
        token = await _start_session(uow, user, cmd.previous_token, clock=clock, ids=ids)
        await uow.commit()
    _forget(session_cache, cmd.previous_token)
    if linked:
        _forget_user(session_cache, user.id)
    return SignedIn(user, token)
