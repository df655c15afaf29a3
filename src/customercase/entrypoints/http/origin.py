"""What the spam filter is told about the request a post came in: ip, browser, referrer, page."""

from __future__ import annotations

from typing import Any

from litestar import Request

from customercase.domain.spam import Origin

# Headers are the sender's to fill; keep what we store of them small.
MAX_HEADER = 512


def origin_of(request: Request[Any, Any, Any], permalink: str) -> Origin:
    """The submitter's address (as the ASGI server saw it, after any trusted proxy headers)."""
    return Origin(
        ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", "")[:MAX_HEADER],
        referrer=request.headers.get("referer", "")[:MAX_HEADER],
        permalink=permalink[:MAX_HEADER],
    )
