"""Sign up, sign in, sign out and the signed-in user's own page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from customercase.domain.errors import (
    BadCredentials,
    Conflict,
    InvalidField,
    LastAdmin,
    NotSignedIn,
)
from customercase.domain.ports import (
    Clock,
    IdentityProvider,
    Ids,
    PasswordHasher,
    SessionCache,
    UnitOfWork,
)
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.google import STATE_PATH
from customercase.entrypoints.http.identity import (
    SESSION_COOKIE,
    cleared_cookie,
    client_address,
    my_data_download,
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
from customercase.entrypoints.http.schemas import MyData, Presenter
from customercase.services import identity


class SignUpForm(msgspec.Struct):
    name: str = ""
    email: str = ""
    password: str = ""
    next: str = ""


class DeleteAccountForm(msgspec.Struct):
    confirm_email: str = ""


class SignInForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


NEW_PASSWORD_NOTICE = "Your new password is set. Sign in with it."  # noqa: S105 (a message)


def _form_page(
    name: str,
    user: DomainUser | None,
    present: Presenter,
    google: IdentityProvider | None,
    next_path: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    notice: str = "",
) -> Template:
    """The sign-up or sign-in form; it offers Google only when Google sign-in is configured."""
    next_path = local_path(next_path, "")
    context = {
        "viewer": viewer(user, present),
        "next": next_path,
        "next_query": f"?{urlencode({'next': next_path})}" if next_path else "",
        "values": values,
        "errors": errors,
        "google_start": f"{STATE_PATH}/start" if google is not None else "",
        "notice": notice,
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
        self,
        user: DomainUser | None,
        present: Presenter,
        identity_provider: Injected[IdentityProvider | None],
        next: str = "",
    ) -> Template:
        """The sign-up form."""
        return _form_page("signup.html", user, present, identity_provider, next, {}, {})

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
        session_cache: Injected[SessionCache],
        identity_provider: Injected[IdentityProvider | None],
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
            signed_in = await identity.sign_up(
                cmd, uow=uow, hasher=hasher, clock=clock, ids=ids, session_cache=session_cache
            )
        except (InvalidField, Conflict) as error:
            values = {"name": data.name, "email": data.email}
            errors = field_errors(error)
            return _form_page(
                "signup.html", None, present, identity_provider, data.next, values, errors, 422
            )
        cookie = session_cookie(signed_in.token, secure=secure_cookies)
        return see_other(local_path(data.next, "/me"), [cookie])

    @get("/signin", cache=False)
    async def sign_in_form(
        self,
        user: DomainUser | None,
        present: Presenter,
        identity_provider: Injected[IdentityProvider | None],
        next: str = "",
        done: str = "",
    ) -> Template:
        """The sign-in form; after a password reset it says the new password is set."""
        notice = NEW_PASSWORD_NOTICE if done == "password" else ""
        return _form_page(
            "signin.html", user, present, identity_provider, next, {}, {}, notice=notice
        )

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
        session_cache: Injected[SessionCache],
        identity_provider: Injected[IdentityProvider | None],
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
            signed_in = await identity.sign_in(
                cmd, uow=uow, hasher=hasher, clock=clock, ids=ids, session_cache=session_cache
            )
        except BadCredentials as error:
            errors = {"form": error.message}
            values = {"email": data.email}
            return _form_page(
                "signin.html", None, present, identity_provider, data.next, values, errors, 401
            )
        cookie = session_cookie(signed_in.token, secure=secure_cookies)
        return see_other(local_path(data.next, "/"), [cookie])

    @post("/signout")
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        session_cache: Injected[SessionCache],
        secure_cookies: bool,
    ) -> Redirect:
        """End this session and go to the start page."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await identity.sign_out(token, uow=uow, session_cache=session_cache)
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

    @get("/me/export", cache=False)
    async def export_my_data(
        self, user: DomainUser | None, uow: Injected[UnitOfWork], present: Presenter
    ) -> Response[MyData]:
        """The profile page's download: the very file the API's export route gives."""
        if user is None:
            raise NotSignedIn()
        return await my_data_download(user, uow, present)

    @get("/me/delete", cache=False)
    async def delete_form(self, user: DomainUser | None, present: Presenter) -> Template:
        """What deleting the account does, and the form that confirms it."""
        if user is None:
            raise NotSignedIn()
        return _delete_page(user, present, {}, {})

    @post("/me/delete")
    async def delete_account(
        self,
        data: Annotated[DeleteAccountForm, Form],
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        session_cache: Injected[SessionCache],
        present: Presenter,
        secure_cookies: bool,
    ) -> Template | Redirect:
        """Erase the account once its email is typed (a slip of the mouse cannot do it), then
        leave the browser signed out on a page that says so."""
        if user is None:
            raise NotSignedIn()
        values = {"confirm_email": data.confirm_email}
        if data.confirm_email.strip().casefold() != user.email.casefold():
            errors = {"confirm_email": "Type your email address exactly as shown to confirm."}
            return _delete_page(user, present, values, errors, 422)
        try:
            await identity.delete_account(user.id, uow=uow, session_cache=session_cache)
        except LastAdmin as error:
            return _delete_page(user, present, values, {"form": error.message}, 409)
        return see_other("/account-deleted", [cleared_cookie(secure=secure_cookies)])

    @get("/account-deleted", cache=False)
    async def account_deleted(self, user: DomainUser | None, present: Presenter) -> Template:
        """Where a deleted account lands: signed out, told what happened and what stayed."""
        return page("account_deleted.html", {"viewer": viewer(user, present)})


def _delete_page(
    user: DomainUser,
    present: Presenter,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    context = {
        "viewer": viewer(user, present),
        "email": user.email,
        "values": values,
        "errors": errors,
    }
    return page("delete_account.html", context, status_code)
