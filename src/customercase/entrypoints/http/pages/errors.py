"""Errors on pages are pages: a browser gets HTML, the API keeps its problem+json.

The JSON handlers of problems.py stay the single source of status codes; this module only
decides, per request, whether the answer is read by a person in a browser. It is for any path
outside the API and webhooks whose request accepts HTML or comes from htmx.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Template

from customercase.domain.errors import NotSignedIn
from customercase.entrypoints.http.pages.common import (
    back_to,
    local_path,
    page,
    see_other,
    sign_in_path,
)

JSON_PREFIXES = ("/api/", "/webhooks/", "/schema", "/healthz", "/readyz", "/avatars/", "/static/")
TITLES = {
    400: "That request did not make sense",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "That clashes with something",
    413: "Too large",
    422: "Something is not right",
    429: "Too many requests",
}
MESSAGES = {
    404: "There is nothing here, or it is not visible to you.",
    500: "Something went wrong on our side. Please try again in a moment.",
    503: "The service is briefly unavailable. Please try again in a moment.",
}
Handler = Any


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A person's browser (or htmx on their behalf) outside the API."""
    if request.url.path.startswith(JSON_PREFIXES):
        return False
    headers = request.headers
    return "text/html" in headers.get("accept", "") or headers.get("hx-request") == "true"


def _sign_in_first(request: Request[Any, Any, Any]) -> Response[Any]:
    """Not signed in: go to sign in, then come back (to the page the form was on)."""
    if request.method == "GET":
        query = request.url.query
        here = local_path(request.url.path + (f"?{query}" if query else ""))
    else:
        here = back_to(request, None, "/")
    target = sign_in_path(here)
    if request.headers.get("hx-request") == "true":
        return Response(None, status_code=401, headers={"HX-Redirect": target})
    return see_other(target)


def _error_page(status: int, detail: str) -> Template:
    title = TITLES.get(status, "Something went wrong")
    message = MESSAGES.get(status, detail) if status in (404, 500, 503) else detail
    return page("error.html", {"viewer": None, "title": title, "message": message}, status)


def negotiated(handlers: dict[type[Exception], Handler]) -> dict[type[Exception], Handler]:
    """The same handlers, answering browsers on page paths with an HTML page instead."""

    def wrap(json_handler: Handler) -> Handler:
        def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            if isinstance(exc, NotSignedIn) and wants_html(request):
                return _sign_in_first(request)
            answer: Response[Any] = json_handler(request, exc)
            if not wants_html(request):
                return answer
            detail = getattr(answer.content, "detail", "")
            error_page = _error_page(answer.status_code or 500, str(detail))
            error_page.headers.update(
                {k: v for k, v in answer.headers.items() if k == "Retry-After"}
            )
            return error_page

        return handle

    return {kind: wrap(handler) for kind, handler in handlers.items()}
