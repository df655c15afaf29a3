"""structlog set up once per process: one JSON line per event, never a password or email."""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog

# msgspec's encoder: the access line of every request is rendered with it (the standard
# library's json.dumps cost about 4 % of a cached page's CPU). What it cannot encode is
# written as its repr(), as structlog's own renderer does.
_ENCODER = msgspec.json.Encoder(enc_hook=repr)


def _json_line(event: Any, **_: Any) -> bytes:
    return _ENCODER.encode(event)


def configure_logging(level: str = "info") -> None:
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(
        format="%(message)s",
        stream=sys.stderr,
        level=numeric if isinstance(numeric, int) else logging.INFO,
    )
    for noisy in ("httpx", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            numeric if isinstance(numeric, int) else logging.INFO
        ),
        logger_factory=structlog.BytesLoggerFactory(sys.stderr.buffer),
        cache_logger_on_first_use=True,
    )
