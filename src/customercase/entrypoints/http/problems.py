"""Every error answer is RFC 9457 problem+json, decided here and nowhere else (API.md, Errors)."""

from __future__ import annotations

import copy
import re
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.plugins import JsonRenderPlugin
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from customercase.domain import errors as e

log = structlog.get_logger("customercase.http")
MEDIA_TYPE = "application/problem+json"

# Domain error -> (status, problem type slug). Subclasses inherit their base's entry.
DOMAIN_ERRORS: dict[type[e.DomainError], tuple[int, str]] = {
    e.InvalidField: (422, "invalid-field"),
    e.NotFound: (404, "not-found"),
    e.NotSignedIn: (401, "not-signed-in"),
    e.BadCredentials: (401, "bad-credentials"),
    e.NotAllowed: (403, "not-allowed"),
    e.Conflict: (409, "conflict"),
    e.TooManyAttempts: (429, "too-many-requests"),
    e.InvalidToken: (400, "invalid-token"),
    e.ExternalSignInFailed: (401, "sign-in-failed"),
    e.IdentityProviderUnavailable: (503, "unavailable"),
}
# SQLSTATE classes of a database that is away for now: 08 connection exception, 53 insufficient
# resources (too many connections), 57 operator intervention (shutting down, starting up).
UNAVAILABLE_SQLSTATES = ("08", "53", "57")
MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def problem(
    status: int,
    slug: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    body = Problem(f"/problems/{slug}", HTTPStatus(status).phrase, status, detail, errors)
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: e.DomainError) -> Response[Problem]:
    for kind in type(exc).__mro__:
        if kind in DOMAIN_ERRORS:
            status, slug = DOMAIN_ERRORS[kind]
            break
    else:
        status, slug = 400, "bad-request"
    field = getattr(exc, "field", None)
    errors = [FieldError(field, exc.message)] if field else None
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return problem(status, slug, exc.message, errors, headers)


def _field_errors(extra: list[dict[str, Any]]) -> list[FieldError] | None:
    """Litestar's validation details as fields; None when the body is not an object at all."""
    found = []
    for item in extra:
        message = str(item.get("message", "Invalid value."))
        key = str(item.get("key", ""))
        if key == "data":
            missing = MISSING_FIELD.search(message)
            if not missing:
                return None
            key = missing.group(1)
            message = "This field is required."
        found.append(FieldError(key, message))
    return found


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        errors = _field_errors(exc.extra)
        if errors:
            return problem(422, "invalid-field", "Some fields are not valid.", errors)
        return problem(400, "malformed", "The request body is not the expected JSON object.")
    status = exc.status_code
    if status >= 500:
        log.error(
            "server error",
            path=request.url.path,
            error=repr(exc),
            cause=repr(exc.__cause__ or exc.__context__),
        )
        return problem(status, "server-error", "Something went wrong on our side.")
    slug = {
        400: "malformed",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        429: "too-many-requests",
    }.get(status, "http-error")
    detail = exc.detail if status != 400 else "The request is malformed: " + exc.detail
    return problem(status, slug, detail, headers=exc.headers)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.warning("database unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(
        503,
        "unavailable",
        "The service is briefly unavailable; try again.",
        headers={"Retry-After": "5"},
    )


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    if (
        exc.connection_invalidated
        or isinstance(exc, OperationalError | InterfaceError)
        or sqlstate.startswith(UNAVAILABLE_SQLSTATES)
    ):
        return _unavailable(request, exc)
    if sqlstate.startswith("22"):
        # SQLSTATE class 22, data exception: a value PostgreSQL cannot hold, such as text with
        # a NUL character in a path or query (SQLite stores those). Bad input, never a 500.
        log.warning("value refused by the database", sqlstate=sqlstate, path=request.url.path)
        return problem(400, "malformed", "The request holds a value that cannot be stored.")
    return _unexpected(request, exc)


def _unreadable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # The JSON decoder raises these itself, past Litestar's own DecodeError handling.
    reason = (
        "it is nested too deeply"
        if isinstance(exc, RecursionError)
        else "it is not JSON"
        if isinstance(exc, SerializationException)
        else "it is not UTF-8"
    )
    log.info("unreadable body", error=type(exc).__name__, path=request.url.path)
    return problem(400, "malformed", f"The request body cannot be read: {reason}.")


def _value_error(request: Request[Any, Any, Any], exc: ValueError) -> Response[Problem]:
    # The operating system refuses a NUL in a file name ("embedded null byte"): a static file
    # asked for with %00 in its path. Bad input, never a 500.
    if "null byte" in str(exc):
        return problem(400, "malformed", "The request holds a NUL character.")
    return _unexpected(request, exc)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled error", path=request.url.path)
    return problem(500, "server-error", "Something went wrong on our side.")


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    e.DomainError: _domain_error,
    HTTPException: _http_error,
    DBAPIError: _database_error,
    PoolTimeout: _unavailable,
    RecursionError: _unreadable_body,
    # A body that is not JSON, met where Litestar decodes it outside a handler's `data`.
    SerializationException: _unreadable_body,
    UnicodeDecodeError: _unreadable_body,
    ValueError: _value_error,
    ConnectionError: _unavailable,
    TimeoutError: _unavailable,
    Exception: _unexpected,
}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every error answer described as the problem+json it is.

    Litestar documents a 400 in its own validation shape, which this module never sends; any
    operation may answer any 4xx (401, 404, 413, 429...) and 503 when the database is away.
    """
    (schema,), components = msgspec.json.schema_components(
        [Problem], ref_template="#/components/schemas/{name}"
    )
    content = {MEDIA_TYPE: {"schema": schema}}
    documented = copy.deepcopy(document)
    documented.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for path_item in documented.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # A handler returning Response[None] is documented with a JSON null; 204 has no body.
            responses.get("204", {}).pop("content", None)
            for status in [s for s in responses if s.startswith("4")]:
                if MEDIA_TYPE not in (responses[status].get("content") or {}):
                    del responses[status]
            responses["4XX"] = {"description": "The request cannot be served.", "content": content}
            responses["503"] = {
                "description": "The database is briefly unavailable; try again.",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": content,
            }
    return documented


class ProblemsDocumented(JsonRenderPlugin):
    """Serves the OpenAPI document as JSON, its error answers made problem+json."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, document_problems(openapi_schema))
