"""Opaque keyset cursors: the sort key of the last item seen, base64-wrapped JSON."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from customercase.domain.errors import InvalidField

Key = list[str | int | float]
MAX_CURSOR = 400


def encode_cursor(key: Key) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> Key:
    """Decode a cursor whose values have the given types; raise InvalidField if it is not one."""
    if len(cursor) > MAX_CURSOR:
        raise InvalidField("cursor", "This cursor is not one this list gave out.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        key = None
    if not isinstance(key, list) or len(key) != len(shape):
        raise InvalidField("cursor", "This cursor is not one this list gave out.")
    for value, kind in zip(key, shape, strict=True):
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise InvalidField("cursor", "This cursor is not one this list gave out.")
    return key


def cursor_time(value: str | int | float) -> datetime:
    """A time read back from a cursor; raise InvalidField if it is not one."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidField("cursor", "This cursor is not one this list gave out.") from None
    if when.tzinfo is None:
        raise InvalidField("cursor", "This cursor is not one this list gave out.")
    return when
