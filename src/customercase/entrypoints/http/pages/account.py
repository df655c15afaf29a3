"""Sign up, sign in, sign out and the signed-in user's own page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import BadCredentials, Conflict, InvalidField, NotSignedIn
from customercase.domain.ports import Clock, Ids, PasswordHasher, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.identity import (
    SESSION_COOKIE,
    cleared_cookie,
    client_address,
    session_cookie,
)
from customercase.entrypoints.http.pages.common import (
    Form,
    field_errors,
    local_path,
    page,
    see_other,
    viewer,
)
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import identity


class SignUpForm(msgspec.Struct):
    name: str = ""
    email: str = ""
    password: str = ""
    next: str = ""


class SignInForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


def _form_page(
    name: str,
    user: DomainUser | None,
    present: Presenter,
    next_path: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    next_path = local_path(next_path, "")
    context = {
        "viewer": viewer(user, present),
        "next": next_path,
        "next_query": f"?{urlencode({'next': next_path})}" if next_path else "",
        "values": values,
        "errors": errors,
    }
    return page(name, context, status_code)


class AccountPages(Controller):
    include_in_schema = False

    @get("/", cache=False)
    async def home(self, user: DomainUser | None, present: Presenter) -> Template:
        """The start page."""
        return page("home.html", {"viewer": viewer(user, present)})

    @get("/signup", cache=False)
    async def sign_up_form(
        self, user: DomainUser | None, present: Presenter, next: str = ""
    ) -> Template:
        """The sign-up form."""
        return _form_page("signup.html", user, present, next, {}, {})

    @post("/signup")
    async def sign_up(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[SignUpForm, Form],
        present: Presenter,
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        ids: Injected[Ids],
        secure_cookies: bool,
    ) -> Template | Redirect:
        """Create the account, sign it in and go on; a broken rule shows next to its field."""
        cmd = identity.SignUp(
            data.email,
            data.name,
            data.password,
            request.cookies.get(SESSION_COOKIE),
            address=client_address(request),
        )
        try:
            signed_in = await identity.sign_up(cmd, uow=uow, hasher=hasher, clock=clock, ids=ids)
        except (InvalidField, Conflict) as error:
            values = {"name": data.name, "email": data.email}
            return _form_page(
                "signup.html", None, present, data.next, values, field_errors(error), 422
            )
        cookie = session_cookie(signed_in.token, secure=secure_cookies)
        return see_other(local_path(data.next, "/me"), [cookie])

    @get("/signin", cache=False)
    async def sign_in_form(
        self, user: DomainUser | None, present: Presenter, next: str = ""
    ) -> Template:
        """The sign-in form."""
        return _form_page("signin.html", user, present, next, {}, {})

    @post("/signin")
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[SignInForm, Form],
        present: Presenter,
        uow: Injected[UnitOfWork],
        hasher: Injected[PasswordHasher],
        clock: Injected[Clock],
        ids: Injected[Ids],
        secure_cookies: bool,
    ) -> Template | Redirect:
        """Sign in and go back where the user came from; one message for any failure."""
        cmd = identity.SignIn(
            data.email,
            data.password,
            request.cookies.get(SESSION_COOKIE),
            address=client_address(request),
        )
        try:
            signed_in = await identity.sign_in(cmd, uow=uow, hasher=hasher, clock=clock, ids=ids)
        except BadCredentials as error:
            errors = {"form": error.message}
            return _form_page(
                "signin.html", None, present, data.next, {"email": data.email}, errors, 401
            )
        cookie = session_cookie(signed_in.token, secure=secure_cookies)
        return see_other(local_path(data.next, "/"), [cookie])

    @post("/signout")
    async def sign_out(
        self, request: Request[Any, Any, Any], uow: Injected[UnitOfWork], secure_cookies: bool
    ) -> Redirect:
        """End this session and go to the start page."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await identity.sign_out(token, uow=uow)
        return see_other("/", [cleared_cookie(secure=secure_cookies)])

    @get("/me", cache=False)
    async def me(
        self, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Template:
        """The user's own email and the ideas they watch."""
        if user is None:
            raise NotSignedIn()
        me = present.me(await identity.get_me(user.id, uow=uow))
        return page("me.html", {"viewer": viewer(user, present), "me": me})
