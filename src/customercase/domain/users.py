"""Users, their emails and passwords: the rules, not the storage."""

from __future__ import annotations

import base64
import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from customercase.domain.errors import InvalidField
from customercase.domain.ids import UserId
from customercase.domain.text import clean_line

EMAIL_PATTERN = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
NAME_MAX = 100

# Passwords of ten characters or more that lead every public list of breached passwords.
# Shorter ones are refused by length already. Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    [
        "1234567890",
        "0123456789",
        "0987654321",
        "1111111111",
        "12345678910",
        "1234554321",
        "1234512345",
        "5555555555",
        "987654321a",
        "123456789a",
        "a123456789",
        "abc1234567",
        "abcd123456",
        "1234qwerty",
        "qwerty1234",
        "qwertyuiop",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "q1w2e3r4t5",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "123qweasdzxc",
        "qazwsxedc123",
        "asdfghjkl1",
        "abcdefghij",
        "aaaaaaaaaa",
        "password12",
        "password123",
        "password1234",
        "password!1",
        "password123!",
        "passw0rd123",
        "passwordpassword",
        "iloveyou123",
        "iloveyou1234",
        "administrator",
        "letmein123",
        "welcome123",
        "welcome2024",
        "welcome2025",
        "welcome2026",
        "changeme123",
        "football123",
        "baseball123",
        "monkey1234",
        "princess123",
        "sunshine123",
        "superman123",
        "trustno1234",
        "computer123",
        "internet123",
        "michael123",
        "dragon1234",
        "master1234",
        "shadow1234",
        "mustang123",
        "jordan2323",
        "password2024",
        "password2025",
        "password2026",
        "summer2024",
        "summer2025",
        "winter2024",
        "winter2025",
    ]
)


def normalise_email(raw: str) -> str:
    """Trim, NFC-normalise and lower-case an email; raise InvalidField if it is not one."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidField("email", "Enter a valid email address.")
    return email


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def check_name(raw: str) -> str:
    """Trim a display name; raise InvalidField unless it has 1–100 characters."""
    name = clean_line(raw)
    if not name or len(name) > NAME_MAX:
        raise InvalidField("name", f"Enter a name of 1 to {NAME_MAX} characters.")
    return name


def check_password(password: str) -> None:
    """Raise InvalidField for a password that is too short, too long or too common."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidField(
            "password", f"Choose a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters."
        )
    if password.lower() in COMMON_PASSWORDS:
        raise InvalidField("password", "This password is too common; choose another.")


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    email: str
    name: str
    created_at: datetime
    password_hash: str | None = None
    email_verified: bool = False
    google_subject: str | None = None

    def with_password_hash(self, password_hash: str) -> User:
        return replace(self, password_hash=password_hash)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser; stored under a hash of its token, never the token itself."""

    token_hash: str
    user_id: UserId
    created_at: datetime
    last_seen_at: datetime

    def is_alive(self, now: datetime, idle_seconds: int, lifetime_seconds: int) -> bool:
        idle = (now - self.last_seen_at).total_seconds()
        age = (now - self.created_at).total_seconds()
        return idle < idle_seconds and age < lifetime_seconds


def hash_token(token: str) -> str:
    """What is stored of a session or reset token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: idle timeout and absolute lifetime, in seconds."""

    idle_seconds: int = 2 * 3600
    lifetime_seconds: int = 12 * 3600
    # Record activity at most this often, so reads do not each become a write.
    touch_every_seconds: int = 60


class TokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a name, not a secret)
    EMAIL_VERIFICATION = "email_verification"


# How long a link sent by email stays good: a reset is urgent and powerful, a verification not.
TOKEN_LIFETIMES = {
    TokenPurpose.PASSWORD_RESET: timedelta(minutes=30),
    TokenPurpose.EMAIL_VERIFICATION: timedelta(days=7),
}


@dataclass(frozen=True, slots=True)
class OneTimeToken:
    """A secret sent by email that works once, before it expires; stored as its hash."""

    token_hash: str
    purpose: TokenPurpose
    user_id: UserId
    created_at: datetime
    expires_at: datetime

    @classmethod
    def issue(
        cls, token: str, purpose: TokenPurpose, user_id: UserId, now: datetime
    ) -> OneTimeToken:
        return cls(hash_token(token), purpose, user_id, now, now + TOKEN_LIFETIMES[purpose])


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who an identity provider vouches for, after every check of its ID token passed."""

    subject: str
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class SignInFlow:
    """An OpenID Connect sign-in between start and callback: what the callback must match."""

    state_hash: str
    nonce: str
    code_verifier: str
    expires_at: datetime


SIGN_IN_FLOW_LIFETIME = timedelta(minutes=10)


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636, section 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
