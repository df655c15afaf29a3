"""The pages the account emails link to: forgot password, choose a new one, confirm an email."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import InvalidField, InvalidToken, TooManyAttempts
from customercase.domain.ports import (
    Clock,
    Ids,
    PasswordHasher,
    SessionCache,
    UnitOfWork,
)
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.identity import SESSION_COOKIE, client_address, session_cookie
from customercase.entrypoints.http.pages.common import (
    Form,
    field_errors,
    page,
    see_other,
    viewer,
)
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import identity


class EmailForm(msgspec.Struct):
    email: str = ""


class NewPasswordForm(msgspec.Struct):
    token: str = ""
    password: str = ""


class TokenForm(msgspec.Struct):
    token: str = ""


def _page(
    name: str,
    user: DomainUser | None,
    present: Presenter,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    **extra: Any,
) -> Template:
    context = {"viewer": viewer(user, present), "values": values, "errors": errors, **extra}
    return page(name, context, status_code)


class RecoveryPages(Controller):
    @get("/forgot-password", cache=False)
    async def forgot_form(self, user: DomainUser | None, present: Presenter) -> Template:
        """Ask for a link to choose a new password."""
        return _page("forgot_password.html", user, present, {}, {}, sent=False)

    @post("/forgot-password")
    async def forgot(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[EmailForm, Form],
        user: DomainUser | None,
        present: Presenter,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
    ) -> Template:
        """The same answer whether the email has an account or not."""
        cmd = identity.RequestPasswordReset(data.email, client_address(request))
        try:
            await identity.request_password_reset(cmd, uow=uow, clock=clock, ids=ids)
        except TooManyAttempts as error:
            errors = {"form": error.message}
            values = {"email": data.email}
            return _page("forgot_password.html", user, present, values, errors, 429, sent=False)
        return _page("forgot_password.html", user, present, {}, {}, 200, sent=True)

    @get("/reset-password", cache=False)
    async def reset_form(
        self, user: DomainUser | None, present: Presenter, token: str = ""
    ) -> Template:
        """The form the reset email links to."""
        return _page("reset_password.html", user, present, {"token": token[:200]}, {})

    @post("/reset-password")
    async def reset(
        self,
        data: Annotated[NewPasswordForm, Form],
        user: DomainUser | None,
        present: Presenter,
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        session_cache: Injected[SessionCache],
    ) -> Template | Redirect:
        """Set the password; every session ends, so the user signs in again."""
        cmd = identity.ResetPassword(data.token, data.password)
        try:
            await identity.reset_password(
                cmd, uow=uow, hasher=hasher, clock=clock, session_cache=session_cache
            )
        except InvalidField as error:
            values = {"token": data.token}
            return _page("reset_password.html", user, present, values, field_errors(error), 422)
        except InvalidToken as error:
            return _page("reset_password.html", user, present, {}, {"form": error.message}, 400)
        return see_other("/signin?done=password")

    @get("/verify-email", cache=False)
    async def verify_form(
        self, user: DomainUser | None, present: Presenter, token: str = ""
    ) -> Template:
        """The page the verification email links to: one button confirms."""
        return _page("verify_email.html", user, present, {"token": token[:200]}, {})

    @post("/verify-email")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[TokenForm, Form],
        user: DomainUser | None,
        present: Presenter,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        secure_cookies: bool,
    ) -> Template | Redirect:
        """Mark the email verified; the session is rotated when it was its owner's."""
        cmd = identity.VerifyEmail(data.token, request.cookies.get(SESSION_COOKIE))
        try:
            rotated = await identity.verify_email(
                cmd, uow=uow, clock=clock, ids=ids, session_cache=session_cache
            )
        except InvalidToken as error:
            return _page("verify_email.html", user, present, {}, {"form": error.message}, 400)
        cookies = [session_cookie(rotated, secure=secure_cookies)] if rotated else []
        return see_other("/me" if user else "/signin", cookies)
