"""How often an address or an account may try the doors that guess-work attacks (issue 3)."""

from __future__ import annotations

from dataclasses import dataclass

from customercase.domain.users import hash_token


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_hits` attempts per fixed window of `window_seconds`, per subject."""

    name: str
    max_hits: int
    window_seconds: int

    def key(self, subject: str) -> str:
        """The stored key: hashed, so the counters table holds no emails or addresses."""
        return hash_token(f"{self.name}:{subject}")


# Per account the limits are tight (guessing one password); per address looser, since an
# office or a mobile carrier puts many people behind one address.
SIGN_IN_PER_ACCOUNT = Limit("sign-in/account", 10, 15 * 60)
SIGN_IN_PER_ADDRESS = Limit("sign-in/address", 60, 15 * 60)
SIGN_UP_PER_ACCOUNT = Limit("sign-up/account", 5, 60 * 60)
SIGN_UP_PER_ADDRESS = Limit("sign-up/address", 20, 60 * 60)
RESET_PER_ACCOUNT = Limit("password-reset/account", 5, 60 * 60)
RESET_PER_ADDRESS = Limit("password-reset/address", 20, 60 * 60)
# Counters older than this are of no use to any limit and are swept.
LONGEST_WINDOW_SECONDS = 60 * 60
