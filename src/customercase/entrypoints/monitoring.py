"""Error reports to Sentry when CUSTOMERCASE_SENTRY_DSN is set, scrubbed of personal data.

What leaves the process: the exception type, a scrubbed message and stack (no local variables),
the route, the method and a few harmless headers (personal data collection stays at the SDK
default: off). What never leaves: request bodies and cookies, credentials in headers or query
strings, emails anywhere (messages, breadcrumbs, extra data), users but their id.
Domain errors (a 404, a refused password) are answers, not faults, and are not reported.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.litestar import LitestarIntegration

from customercase.domain.errors import DomainError

FILTERED = "[Filtered]"
EMAIL = re.compile(r"[^@\s\"'<>(),;:]+@[^@\s\"'<>(),;:]+\.[A-Za-z]{2,}")
# key=value or key: value, for keys that name a secret, wherever they occur in text.
SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|token|secret|api[_-]?key|authorization|cookie|session|"
    r"csrftoken|cc_session)\b(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
)
SECRET_KEY = re.compile(
    r"(?i)password|passwd|pwd|token|secret|api[_-]?key|auth|cookie|session|csrf|email|dsn"
)
SAFE_HEADERS = {
    "host",
    "user-agent",
    "accept",
    "accept-language",
    "content-type",
    "content-length",
    "x-request-id",
    "referer",
}


def _scrub_text(text: str) -> str:
    return EMAIL.sub("[email]", SECRET_PAIR.sub(lambda m: m.group(1) + m.group(2) + FILTERED, text))


def _scrub(value: Any) -> Any:
    """Every string scrubbed, every value under a secret-sounding key replaced."""
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {
            k: FILTERED if isinstance(k, str) and SECRET_KEY.search(k) else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _scrub_request(request: dict[str, Any]) -> dict[str, Any]:
    headers = request.get("headers") or {}
    kept = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
    return {
        "method": request.get("method"),
        # The path only: query strings can carry search text or tokens.
        "url": str(request.get("url", "")).split("?", 1)[0],
        "headers": kept,
    }


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """Drop answers that are not faults; strip personal data from the rest."""
    exc_info = hint.get("exc_info")
    if exc_info and isinstance(exc_info[1], DomainError):
        return None
    if "request" in event:
        event["request"] = _scrub_request(event["request"])
    if "user" in event:
        event["user"] = {"id": event["user"]["id"]} if "id" in event["user"] else {}
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed


def init_error_reports(dsn: str, *, environment: str = "production", release: str = "") -> bool:
    """Start reporting to Sentry if a DSN is given; call before the app is built."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=lambda crumb, _: _scrub(crumb),
        integrations=[LitestarIntegration()],
    )
    return True
