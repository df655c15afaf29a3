"""Request ids in and out, one access-log line per request, and the CSRF cookie."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import time

import structlog
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.csrf import generate_csrf_token
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

log = structlog.get_logger("customercase.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@functools.lru_cache(maxsize=4096)
def client_tag(key: bytes, address: str) -> str:
    """A short keyed hash of the client's address: one client's requests can be told apart in
    the logs, but the address itself (personal data) is not written down. Remembered for the
    last few thousand addresses (an HMAC per request was 3 % of a cached page's CPU)."""
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:12]


def request_id_middleware(app: ASGIApp, log_key: bytes) -> ASGIApp:
    """Take a sane X-Request-ID or make one; echo it; log the request when it ends."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        http: HTTPScope = scope
        given = dict(http["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else secrets.token_hex(16)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive, send_with_id)
        finally:
            # The path only: query strings can carry search text or tokens. The route is the
            # template the router matched ("/ideas/{idea_id}"), for grouping; absent on a 404.
            client = http.get("client")
            log.info(
                "request",
                method=http["method"],
                route=http.get("path_template"),
                path=http["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
                client=client_tag(log_key, client[0]) if client else None,
            )
            structlog.contextvars.unbind_contextvars("request_id")

    return middleware


# API.md, Identity: these answer without the CSRF header (nobody is signed in yet, or the
# caller is a webhook with credentials of its own); everything else unsafe needs it.
CSRF_EXEMPT = [
    r"^/api/v1/auth/(signup|signin|password-reset|password-reset/confirm)/?$",
    r"^/webhooks/",
]
CSRF_COOKIE = "csrftoken"
# The answers that hand out a CSRF cookie when the browser has none: every safe request, and
# sign-up and sign-in, which are exempt from the check and so skipped by Litestar's middleware.
CSRF_ISSUING_PATHS = re.compile(r"^/api/v1/auth/(signup|signin)/?$")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_config(secret: str, *, secure: bool) -> CSRFConfig:
    """Litestar's double-submit CSRF check with its default names (API.md, Identity)."""
    if not secret:
        raise SystemExit(
            "CUSTOMERCASE_SECRET_KEY is empty: set it (make run keeps one in var/secret-key)."
        )
    return CSRFConfig(secret=secret, exclude=CSRF_EXEMPT, cookie_secure=secure)


def csrf_cookie_middleware(app: ASGIApp, config: CSRFConfig) -> ASGIApp:
    """Set the CSRF cookie on every answer that should carry one and lacks it.

    Litestar's CSRF middleware runs only on matched, non-exempt routes: a GET that ends in a 404
    or the exempt sign-up and sign-in answers would leave the browser without a token.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        http: HTTPScope = scope
        issuing = http["method"] in SAFE_METHODS or bool(CSRF_ISSUING_PATHS.match(http["path"]))
        if not issuing or _has_cookie(http, config.cookie_name):
            await app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                prefix = f"{config.cookie_name}="
                if not any(v.startswith(prefix) for v in headers.getall("set-cookie", [])):
                    cookie = Cookie(
                        key=config.cookie_name,
                        value=generate_csrf_token(config.secret),
                        path=config.cookie_path,
                        secure=config.cookie_secure,
                        httponly=config.cookie_httponly,
                        samesite=config.cookie_samesite,
                    )
                    headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await app(scope, receive, send_with_cookie)

    return middleware


def _has_cookie(scope: HTTPScope, name: str) -> bool:
    wanted = name.encode()
    for key, value in scope["headers"]:
        if key == b"cookie":
            for pair in value.split(b";"):
                if pair.strip().partition(b"=")[0] == wanted:
                    return True
    return False
