"""Text from users, cleaned the same way everywhere before any rule looks at it."""

from __future__ import annotations

import unicodedata

_DROPPED = ("Cc", "Cs")


def clean_text(text: str) -> str:
    """Drop control characters other than newlines and tabs, then NFC-normalise.

    A lone carriage return (old Mac line ends) is a line break too, not glue between words.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _DROPPED)
    return unicodedata.normalize("NFC", kept)


def clean_line(text: str) -> str:
    """One line: cleaned, every run of whitespace (newlines too) made a single space."""
    return " ".join(clean_text(text).split())
