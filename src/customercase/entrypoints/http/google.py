"""Google sign-in: the two redirects of the OpenID Connect code flow (API.md, Identity)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.response import Redirect

from customercase.domain.errors import ExternalSignInFailed, NotFound
from customercase.domain.ports import (
    Clock,
    IdentityProvider,
    Ids,
    SessionCache,
    UnitOfWork,
)
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.identity import SESSION_COOKIE, session_cookie
from customercase.entrypoints.http.pages.common import local_path
from customercase.entrypoints.http.schemas import Presenter
from customercase.services import identity

# Ties the callback to the browser that started the flow; lives only as long as the flow.
STATE_COOKIE = "cc_google_state"
# Where the browser was going when it chose Google (a path on this site), for the callback.
NEXT_COOKIE = "cc_google_next"
STATE_PATH = "/auth/google"


def _provider(provider: IdentityProvider | None) -> IdentityProvider:
    if provider is None:
        raise NotFound("Google sign-in is not configured.")
    return provider


def _state_cookie(value: str, *, secure: bool, max_age: int, key: str = STATE_COOKIE) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=STATE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=max_age,
    )


class GoogleController(Controller):
    path = STATE_PATH
    tags = ["identity"]

    @get("/start", cache=False)
    async def start(
        self,
        uow: Injected[UnitOfWork],
        identity_provider: Injected[IdentityProvider | None],
        clock: Injected[Clock],
        ids: Injected[Ids],
        present: Presenter,
        secure_cookies: bool,
        next: Annotated[str, Parameter(max_length=2048)] = "",
    ) -> Redirect:
        """Send the browser to Google to sign in; `next` (a path here) is where it lands."""
        started = await identity.start_google_sign_in(
            f"{present.base_url}{STATE_PATH}/callback",
            uow=uow,
            provider=_provider(identity_provider),
            clock=clock,
            ids=ids,
        )
        cookies = [_state_cookie(started.state, secure=secure_cookies, max_age=600)]
        if local_path(next, ""):
            cookies.append(_state_cookie(next, secure=secure_cookies, max_age=600, key=NEXT_COOKIE))
        return Redirect(started.url, status_code=302, cookies=cookies)

    @get("/callback", cache=False)
    async def callback(
        self,
        request: Request[Any, Any, Any],
        uow: Injected[UnitOfWork],
        identity_provider: Injected[IdentityProvider | None],
        clock: Injected[Clock],
        ids: Injected[Ids],
        session_cache: Injected[SessionCache],
        present: Presenter,
        secure_cookies: bool,
        code: str | None = None,
        # `state` is a name Litestar reserves for its own use; the query keeps its OAuth name.
        oauth_state: Annotated[str | None, Parameter(query="state")] = None,
    ) -> Response[Any]:
        """Google sends the browser back here; it lands signed in where it was going."""
        provider = _provider(identity_provider)
        state = oauth_state
        if not code or not state or len(code) > 2048 or len(state) > 128:
            raise ExternalSignInFailed()  # also `?error=access_denied`: the user said no
        cmd = identity.FinishGoogleSignIn(
            state,
            request.cookies.get(STATE_COOKIE),
            code,
            f"{present.base_url}{STATE_PATH}/callback",
            request.cookies.get(SESSION_COOKIE),
        )
        signed_in = await identity.finish_google_sign_in(
            cmd, uow=uow, provider=provider, clock=clock, ids=ids, session_cache=session_cache
        )
        cookies = [
            session_cookie(signed_in.token, secure=secure_cookies),
            _state_cookie("", secure=secure_cookies, max_age=0),
            _state_cookie("", secure=secure_cookies, max_age=0, key=NEXT_COOKIE),
        ]
        # Checked again: the cookie came back from the browser.
        landing = local_path(request.cookies.get(NEXT_COOKIE), "/")
        return Redirect(f"{present.base_url}{landing}", status_code=302, cookies=cookies)
