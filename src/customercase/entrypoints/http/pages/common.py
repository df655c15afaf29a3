"""What every page shares: the template engine, static files, redirects and small helpers."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from customercase.domain.errors import Conflict, InvalidField
from customercase.domain.ideas import Status
from customercase.domain.ids import UserId
from customercase.domain.ports import UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.domain.vendors import Forum, Visibility
from customercase.entrypoints.http.schemas import Presenter, User
from customercase.services import vendors
from customercase.services.spam import HONEYPOT_FIELD, form_looks_human, issue_form_token

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTMX = "htmx-2.0.11.min.js"

STATUS_LABELS = {
    Status.OPEN.value: "Open",
    Status.UNDER_REVIEW.value: "Under review",
    Status.PLANNED.value: "Planned",
    Status.IN_PROGRESS.value: "In progress",
    Status.DONE.value: "Done",
    Status.DECLINED.value: "Declined",
}
FormErrors = dict[str, str]
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def _date(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping on for every template, and undefined names as errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    env.globals.update(STATUS_LABELS=STATUS_LABELS, HTMX=HTMX)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def static_files() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """An in-place update asked for by htmx, rather than a page the browser navigates to."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def local_path(raw: str | None, default: str = "/") -> str:
    """A path on this site to go back to; anything else (another host, //x) is the default."""
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//"):
        return default
    if "\\" in raw:
        return default
    return raw


def back_to(request: Request[Any, Any, Any], given: str | None, default: str) -> str:
    """Where a form should send the browser afterwards: its `next` field, else where it was."""
    if given:
        return local_path(given, default)
    referer = urlsplit(request.headers.get("referer", ""))
    here = urlsplit(str(request.base_url))
    if referer.netloc == here.netloc and referer.path:
        return local_path(referer.path + (f"?{referer.query}" if referer.query else ""), default)
    return default


def see_other(path: str, cookies: list[Cookie] | None = None) -> Redirect:
    """After a form POST: the browser GETs the next page (so reload does not post again)."""
    return Redirect(path=path, status_code=303, cookies=cookies or [])


def sign_in_path(next_path: str) -> str:
    return "/signin?" + urlencode({"next": next_path})


# Defence in depth behind autoescaping: scripts and styles only from our own origin, no
# framing (the vote button must not be clickjacked). Avatars may come from an avatar service.
PAGE_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data: https:",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "; ".join(f"{k} {v}" for k, v in PAGE_POLICY.items()),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script", re.IGNORECASE | re.DOTALL)
SCRIPT_SRC = re.compile(r"""(?:^|\s)src\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
ORIGIN = re.compile(r"https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class Analytics:
    """The operator's analytics snippet, and the security policy of the pages that carry it.

    Only those pages widen their policy, and only as far as the snippet needs: the origins of
    its `<script src>`, the hashes of its inline scripts, and the origins the operator names
    (where the script sends its counts). Staff and account pages keep the strict policy."""

    snippet: Markup
    policy: str

    @classmethod
    def of(cls, snippet: str, origins: str) -> Analytics | None:
        if not snippet.strip():
            return None
        allowed = origins.split()
        hashes: list[str] = []
        for attributes, body in SCRIPT_TAG.findall(snippet):
            src = SCRIPT_SRC.search(attributes)
            if src:
                parts = urlsplit(src.group(1))
                if parts.netloc:  # a path on our own site is 'self' already
                    allowed.append(f"{parts.scheme or 'https'}://{parts.netloc}")
            elif body.strip():
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                hashes.append(f"'sha256-{digest}'")
        bad = [origin for origin in allowed if not ORIGIN.fullmatch(origin)]
        if bad:
            raise ValueError(
                f"CUSTOMERCASE_ANALYTICS_ORIGINS (or a script in the snippet) names {bad[0]!r}; "
                "give origins like https://stats.example.com"
            )
        unique = list(dict.fromkeys(allowed))
        policy = {
            **PAGE_POLICY,
            "script-src": " ".join(["'self'", *unique, *hashes]),
            "connect-src": " ".join(["'self'", *unique]),
        }
        trusted = Markup(snippet)  # noqa: S704 - the operator's own setting, meant as HTML
        return cls(trusted, "; ".join(f"{k} {v}" for k, v in policy.items()))

    def on(self, forum: Forum) -> Analytics | None:
        """Only a public forum's readers are counted; a private forum's are nobody's business."""
        return self if forum.visibility is Visibility.PUBLIC else None


@dataclass(frozen=True, slots=True)
class FormGuard:
    """The honeypot-and-timing guard of the submit-idea and comment forms (services/spam.py)."""

    key: str
    min_seconds: float

    @classmethod
    def of(cls, secret_key: str, min_seconds: float) -> FormGuard:
        # Its own key, derived: a form token is no use as any other signature.
        key = hashlib.sha256(b"form\x00" + secret_key.encode()).hexdigest()
        return cls(key, min_seconds)

    def context(self, now: datetime, given: str = "") -> dict[str, str]:
        """What the form template needs; a form shown again keeps the time it was first shown."""
        token = given if given and form_looks_human(given, "", self.key, now, min_seconds=0) else ""
        return {"form_token": token or issue_form_token(self.key, now), "honeypot": HONEYPOT_FIELD}

    def looks_human(self, token: str, honeypot: str, now: datetime) -> bool:
        return form_looks_human(token, honeypot, self.key, now, min_seconds=self.min_seconds)


def held_page(user: DomainUser | None, present: Presenter, what: str, back: str) -> Template:
    """What a held post's sender sees; also the answer to a robot, so it learns nothing."""
    context = {"viewer": viewer(user, present), "what": what, "back": back}
    return page("held.html", context, 202)


def page(
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    vary: bool = False,
    analytics: Analytics | None = None,
) -> Template:
    """A full page or a fragment. Only a caller that passes `analytics` (a public forum's page)
    gets the snippet, which base.html renders in its one `analytics` block."""
    headers = {**PAGE_HEADERS, "Vary": "HX-Request"} if vary else dict(PAGE_HEADERS)
    if analytics is not None:
        context = {**context, "analytics": analytics.snippet}
        headers["Content-Security-Policy"] = analytics.policy
    return Template(template_name=name, context=context, status_code=status_code, headers=headers)


def field_errors(error: InvalidField | Conflict) -> FormErrors:
    """A domain error as the message to show next to the field it names."""
    return {error.field: error.message}


def uid(user: DomainUser | None) -> UserId | None:
    return user.id if user else None


def viewer(user: DomainUser | None, present: Presenter) -> User | None:
    """The signed-in user as the page header shows them."""
    return present.user(user.id, user.name) if user else None


async def is_staff(forum: Forum, user: DomainUser | None, uow: UnitOfWork) -> bool:
    """Whether the user is staff of the forum's vendor (they see the staff controls)."""
    if user is None:
        return False
    view = await vendors.get_vendor(forum.vendor_id, user.id, uow=uow)
    return view.my_role is not None
