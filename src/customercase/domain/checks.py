"""What an outside service answered when asked whether our configuration for it works."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reach(StrEnum):
    OK = "ok"  # it answered and accepted our credentials
    REFUSED = "refused"  # it answered and refused them (or the request they allow)
    UNREACHABLE = "unreachable"  # no usable answer: no connection, a timeout, a 5xx, garbage
    OFF = "off"  # not configured: the feature it serves is off
    UNTESTED = "untested"  # configured, but checking it needs something we were not given


@dataclass(frozen=True, slots=True)
class Verification:
    """One service's answer to the doctor; `detail` says what it said, in words."""

    reach: Reach
    detail: str = ""
