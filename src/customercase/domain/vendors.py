"""Vendors, their staff and their forums, with the rules of who may see what."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from customercase.domain.errors import InvalidField
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.search import SEARCH_LANGUAGES
from customercase.domain.text import clean_line
from customercase.domain.tracker import StatusMap
from customercase.domain.users import User, email_domain

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?")
DOMAIN_PATTERN = re.compile(r"(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+")
MAX_ALLOWED_DOMAINS = 50


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


def check_slug(raw: str) -> str:
    """Raise InvalidField unless the slug is 1–50 of a-z, 0-9 and inner hyphens."""
    if not SLUG_PATTERN.fullmatch(raw):
        raise InvalidField(
            "slug", "Use 1 to 50 lower-case letters, digits and hyphens, not at either end."
        )
    return raw


def check_title(raw: str, field_name: str = "name") -> str:
    title = clean_line(raw)
    if not 1 <= len(title) <= 100:
        raise InvalidField(field_name, "Enter a name of 1 to 100 characters.")
    return title


def check_domains(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Normalise allowed email domains; raise InvalidField for one that is not a domain."""
    domains = tuple(dict.fromkeys(d.strip().lower().lstrip("@") for d in raw))
    if len(domains) > MAX_ALLOWED_DOMAINS:
        raise InvalidField("allowed_domains", f"At most {MAX_ALLOWED_DOMAINS} domains.")
    for domain in domains:
        if not DOMAIN_PATTERN.fullmatch(domain):
            raise InvalidField("allowed_domains", f"'{domain}' is not an email domain.")
    return domains


@dataclass(frozen=True, slots=True)
class Vendor:
    id: VendorId
    name: str
    slug: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JiraBinding:
    project_key: str
    issue_type: str = "Task"
    status_map: StatusMap = field(default_factory=StatusMap)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a forum, with the facts that decide what they may see."""

    user: User | None
    role: Role | None = None
    is_invited: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role is not None


def check_search_language(language: str) -> str:
    """One of the text search configurations the database knows (SEARCH_LANGUAGES)."""
    if language not in SEARCH_LANGUAGES:
        raise InvalidField("search_language", "Not a language search knows.")
    return language


@dataclass(frozen=True, slots=True)
class Forum:
    id: ForumId
    vendor_id: VendorId
    name: str
    slug: str
    visibility: Visibility
    mailbox_hash: str
    created_at: datetime
    allowed_domains: tuple[str, ...] = field(default=())
    jira: JiraBinding | None = None
    # Hold a poster's first idea or comment here for staff to approve (spam defence).
    holds_first_posts: bool = False
    # PostgreSQL's text search configuration for the forum's ideas (stemming, stop words).
    search_language: str = "english"

    @property
    def is_private(self) -> bool:
        return self.visibility is Visibility.PRIVATE

    def admits(self, viewer: Viewer) -> bool:
        """Public: anyone. Private: staff, and verified emails invited or of an allowed domain."""
        if not self.is_private or viewer.is_staff:
            return True
        user = viewer.user
        # An invitation or a domain names an email; only a verified one proves it is theirs.
        if user is None or not user.email_verified:
            return False
        return viewer.is_invited or email_domain(user.email) in self.allowed_domains

    def changed(
        self,
        *,
        name: str | None = None,
        slug: str | None = None,
        visibility: Visibility | None = None,
        allowed_domains: tuple[str, ...] | None = None,
        jira: JiraBinding | None = None,
        holds_first_posts: bool | None = None,
        search_language: str | None = None,
    ) -> Forum:
        return replace(
            self,
            name=self.name if name is None else check_title(name),
            slug=self.slug if slug is None else check_slug(slug),
            visibility=self.visibility if visibility is None else visibility,
            allowed_domains=(
                self.allowed_domains if allowed_domains is None else check_domains(allowed_domains)
            ),
            jira=self.jira if jira is None else jira,
            holds_first_posts=(
                self.holds_first_posts if holds_first_posts is None else holds_first_posts
            ),
            search_language=(
                self.search_language
                if search_language is None
                else check_search_language(search_language)
            ),
        )
