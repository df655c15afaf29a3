"""Sign-up, sign-in, sign-out and the signed-in user's own account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie

from customercase.domain.errors import NotSignedIn
from customercase.domain.ports import (
    Clock,
    Ids,
    PasswordHasher,
    SessionCache,
    UnitOfWork,
)
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import (
    Me,
    MyData,
    PasswordResetBody,
    PasswordResetConfirmBody,
    Presenter,
    SignInBody,
    SignUpBody,
    User,
    VerifyEmailBody,
)
from customercase.services import identity

SESSION_COOKIE = "cc_session"


def session_cookie(token: str, *, secure: bool) -> Cookie:
    # No max_age or expires: the browser forgets it on close; the server ends it earlier.
    return Cookie(
        key=SESSION_COOKIE, value=token, path="/", httponly=True, samesite="lax", secure=secure
    )


def cleared_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=0,
    )


def client_address(request: Request[Any, Any, Any]) -> str:
    # The peer address; uvicorn puts the proxy's X-Forwarded-For there only for trusted proxies.
    return request.client.host if request.client else ""


async def my_data_download(
    user: DomainUser, uow: UnitOfWork, present: Presenter
) -> Response[MyData]:
    """The user's own data as a JSON file to keep; the profile page offers the same download."""
    data = present.my_data(await identity.export_my_data(user.id, uow=uow))
    return Response(
        data,
        headers={
            "Content-Disposition": 'attachment; filename="customercase-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


class IdentityController(Controller):
    path = "/api/v1"
    tags = ["identity"]

    @post("/auth/signup", status_code=201)
    async def sign_up(
        self,
        data: SignUpBody,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        present: Presenter,
        secure_cookies: bool,
    ) -> Response[User]:
        """Create an account with email and password; signs it in."""
        signed_in = await identity.sign_up(
            identity.SignUp(
                data.email,
                data.name,
                data.password,
                request.cookies.get(SESSION_COOKIE),
                client_address(request),
            ),
            uow=uow,
            hasher=hasher,
            clock=clock,
            ids=ids,
            session_cache=session_cache,
        )
        user = signed_in.user
        return Response(
            present.user(user.id, user.name),
            status_code=201,
            cookies=[session_cookie(signed_in.token, secure=secure_cookies)],
        )

    @post("/auth/signin", status_code=200)
    async def sign_in(
        self,
        data: SignInBody,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        present: Presenter,
        secure_cookies: bool,
    ) -> Response[User]:
        """Sign in with email and password; one answer for every failure."""
        signed_in = await identity.sign_in(
            identity.SignIn(
                data.email,
                data.password,
                request.cookies.get(SESSION_COOKIE),
                client_address(request),
            ),
            uow=uow,
            hasher=hasher,
            clock=clock,
            ids=ids,
            session_cache=session_cache,
        )
        user = signed_in.user
        return Response(
            present.user(user.id, user.name),
            cookies=[session_cookie(signed_in.token, secure=secure_cookies)],
        )

    @post("/auth/signout", status_code=204)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        session_cache: Injected[SessionCache],
        secure_cookies: bool,
    ) -> Response[None]:
        """End this session."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await identity.sign_out(token, uow=uow, session_cache=session_cache)
        return Response(None, status_code=204, cookies=[cleared_cookie(secure=secure_cookies)])

    @post("/auth/password-reset", status_code=202)
    async def request_password_reset(
        self,
        data: PasswordResetBody,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
    ) -> None:
        """Email a reset link if the account exists; 202 whether it does or not."""
        cmd = identity.RequestPasswordReset(data.email, client_address(request))
        await identity.request_password_reset(cmd, uow=uow, clock=clock, ids=ids)

    @post("/auth/password-reset/confirm", status_code=204)
    async def reset_password(
        self,
        data: PasswordResetConfirmBody,
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        session_cache: Injected[SessionCache],
    ) -> None:
        """Set a new password from a reset link; signs the account out everywhere."""
        cmd = identity.ResetPassword(data.token, data.password)
        await identity.reset_password(
            cmd, uow=uow, hasher=hasher, clock=clock, session_cache=session_cache
        )

    @post("/auth/verify-email", status_code=204)
    async def verify_email(
        self,
        data: VerifyEmailBody,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        secure_cookies: bool,
    ) -> Response[None]:
        """Confirm the email address from its link; rotates the owner's session."""
        cmd = identity.VerifyEmail(data.token, request.cookies.get(SESSION_COOKIE))
        new_token = await identity.verify_email(
            cmd, uow=uow, clock=clock, ids=ids, session_cache=session_cache
        )
        cookies = [session_cookie(new_token, secure=secure_cookies)] if new_token else []
        return Response(None, status_code=204, cookies=cookies)

    @get("/me")
    async def me(
        self, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Me:
        """The signed-in user's own account, email included, and what they watch."""
        if user is None:
            raise NotSignedIn()
        return present.me(await identity.get_me(user.id, uow=uow))

    @get("/me/export")
    async def export_my_data(
        self, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Response[MyData]:
        """All of the caller's own data, as JSON to keep."""
        if user is None:
            raise NotSignedIn()
        return await my_data_download(user, uow, present)

    @delete("/me", status_code=204)
    async def delete_me(
        self,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        session_cache: Injected[SessionCache],
        secure_cookies: bool,
    ) -> Response[None]:
        """Erase the account; its ideas and comments stay, by "deleted user"."""
        if user is None:
            raise NotSignedIn()
        await identity.delete_account(user.id, uow=uow, session_cache=session_cache)
        return Response(None, status_code=204, cookies=[cleared_cookie(secure=secure_cookies)])
