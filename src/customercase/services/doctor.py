"""`customercase doctor`: the configuration a deployment most often gets wrong, in plain words.

Every check gives one Finding and none raises: an operator wants the whole list, not the first
error. Outside services are asked once each, within a few seconds, so a dead one costs
little. A service that is not configured is a feature that is off, not a failure; the one
exception is email outside a local run, because mail that never leaves is the failure
self-hosted feedback tools are most often blamed for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from customercase.domain.checks import Reach, Verification
from customercase.domain.errors import TrackerRejected, TrackerUnavailable
from customercase.domain.ids import VendorId
from customercase.domain.mail import OutgoingEmail
from customercase.domain.ports import (
    IdentityProvider,
    IssueTrackers,
    Mailer,
    Schema,
    SecretBox,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.tracker import TrackerConnection
from customercase.domain.users import EMAIL_PATTERN
from customercase.domain.vendors import Forum

WITHIN_SECONDS = 5.0
# Shorter than this, or one of these, and anyone can forge sessions and read sealed tokens.
SECRET_KEY_MIN = 32
WEAK_SECRET_KEYS = frozenset(
    {
        "local development only",
        "changeme",
        "change-me",
        "secret",
        "secret-key",
        "dev",
        "development",
        "test",
        "password",
    }
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104
KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Status
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Deployment:
    """The settings judged here, as plain values: services do not read the environment."""

    secret_key: str
    public_url: str
    base_url: str
    is_local: bool


@dataclass(frozen=True, slots=True)
class Hints:
    """How to fix a service that refuses us or cannot be reached; `off`: how to turn it on
    (or, for one configured but not tested, how to test it)."""

    refused: str
    unreachable: str
    off: str = ""


async def examine(
    deployment: Deployment,
    *,
    uow: UnitOfWork,
    schema: Schema,
    mailer: Mailer,
    spam: SpamFilter,
    identity: IdentityProvider | None,
    trackers: IssueTrackers,
    secrets: SecretBox | None,
    test_address: str | None = None,
    within: float = WITHIN_SECONDS,
) -> list[Finding]:
    """Every check, in the order an operator fixes them: database, settings, services."""
    findings = [await _database(uow, within)]
    if findings[0].status is Status.OK:
        findings.append(await _schema(schema, within))
    # The Jira connections are read from the database: only from one in the shape we expect.
    readable = findings[-1].check == "Database schema" and findings[-1].status is Status.OK
    findings += [_secret_key(deployment), _base_url(deployment)]
    findings.append(await _email(mailer, deployment, test_address, within))
    findings.append(await _spam(spam, within))
    findings.append(await _google(identity, within))
    findings += await _jira(uow, trackers, secrets, readable, within)
    return findings


async def _asked(question: Awaitable[Verification], within: float) -> Verification:
    try:
        async with asyncio.timeout(within):
            return await question
    except TimeoutError:
        return Verification(Reach.UNREACHABLE, f"no answer within {within:g} s")


def _judged(check: str, answer: Verification, hints: Hints) -> Finding:
    detail = answer.detail
    if answer.reach is Reach.OK:
        return Finding(check, Status.OK, detail)
    if answer.reach is Reach.REFUSED:
        return Finding(check, Status.FAIL, f"credentials refused: {detail}", hints.refused)
    if answer.reach is Reach.UNREACHABLE:
        return Finding(check, Status.FAIL, f"cannot be reached: {detail}", hints.unreachable)
    if answer.reach is Reach.OFF:
        return Finding(check, Status.SKIP, f"not configured ({detail})", hints.off)
    return Finding(check, Status.SKIP, f"not tested ({detail})", hints.off)


async def _database(uow: UnitOfWork, within: float) -> Finding:
    hint = "check CUSTOMERCASE_DATABASE_URL, and that the server is up and reachable from here"
    try:
        async with asyncio.timeout(within):
            async with uow:
                await uow.ping()
    except TimeoutError:
        return Finding("Database", Status.FAIL, f"no answer within {within:g} s", hint)
    except Exception as error:  # every driver fails its own way: say which
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = f"cannot be reached: {type(error).__name__} {reason}".rstrip()
        return Finding("Database", Status.FAIL, message, hint)
    return Finding("Database", Status.OK, "reachable")


async def _schema(schema: Schema, within: float) -> Finding:
    try:
        async with asyncio.timeout(within):
            current, head = await schema.revisions()
    except Exception as error:  # report, never raise
        return Finding("Database schema", Status.FAIL, f"cannot be read: {error!r}")
    if current == head:
        return Finding("Database schema", Status.OK, f"migrated to the newest revision ({head})")
    fix = "run `customercase migrate` (once per release, before the new version serves)"
    if current is None:
        return Finding("Database schema", Status.FAIL, "never migrated (no tables)", fix)
    message = f"at revision {current}; this release needs {head}"
    return Finding("Database schema", Status.FAIL, message, fix)


def _secret_key(deployment: Deployment) -> Finding:
    key = deployment.secret_key
    fix = f"set CUSTOMERCASE_SECRET_KEY to a long random value, e.g. from: {KEY_COMMAND}"
    if not key:
        if deployment.is_local:
            return Finding("Secret key", Status.WARN, "not set; a fixed local key is in use", fix)
        return Finding("Secret key", Status.FAIL, "CUSTOMERCASE_SECRET_KEY is not set", fix)
    if key.strip().lower() in WEAK_SECRET_KEYS or len(set(key)) < 8:
        return Finding("Secret key", Status.FAIL, "a well-known or trivial value", fix)
    if len(key) < SECRET_KEY_MIN:
        message = f"only {len(key)} characters; use at least {SECRET_KEY_MIN}"
        return Finding("Secret key", Status.FAIL, message, fix)
    return Finding("Secret key", Status.OK, f"set ({len(key)} characters)")


def _base_url(deployment: Deployment) -> Finding:
    url = deployment.base_url
    fix = "set CUSTOMERCASE_PUBLIC_URL to the https address users reach, e.g. https://feedback.example.com"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return Finding("Base URL", Status.FAIL, f"{url!r} is not a web address", fix)
    local = host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127.")
    if not deployment.public_url and not deployment.is_local:
        message = f"CUSTOMERCASE_PUBLIC_URL is not set; links in emails point to {url}"
        return Finding("Base URL", Status.WARN, message, fix)
    if parts.scheme == "http" and not local:
        message = f"{url} is plain http: passwords and session cookies cross the network in clear"
        return Finding("Base URL", Status.FAIL, message, fix)
    if local and not deployment.is_local:
        message = f"{url} is a local address; links in emails will not work for anyone else"
        return Finding("Base URL", Status.WARN, message, fix)
    return Finding("Base URL", Status.OK, url)


def _probe(address: str) -> OutgoingEmail:
    return OutgoingEmail(
        to=address,
        subject="Customer Case: test email from `customercase doctor`",
        text="This test email shows that Customer Case can send mail. Nothing else to do.",
        html="<p>This test email shows that Customer Case can send mail. Nothing else to do.</p>",
        tag="doctor",
        auto_submitted=True,
    )


async def _email(
    mailer: Mailer, deployment: Deployment, address: str | None, within: float
) -> Finding:
    check = "Email (Postmark)"
    if address is not None and not EMAIL_PATTERN.fullmatch(address):
        return Finding(check, Status.FAIL, f"{address!r} is not an email address")
    answer = await _asked(mailer.verify(_probe(address) if address else None), within)
    hints = Hints(
        refused="check CUSTOMERCASE_POSTMARK_SERVER_TOKEN (a Server API token), and that "
        "CUSTOMERCASE_MAIL_FROM is a confirmed Sender Signature in Postmark",
        unreachable="check CUSTOMERCASE_POSTMARK_API_URL and outbound HTTPS from this machine",
        off="run `customercase doctor --email you@example.com` to send a test email",
    )
    if answer.reach is Reach.OFF:
        fix = "set CUSTOMERCASE_POSTMARK_SERVER_TOKEN and CUSTOMERCASE_MAIL_FROM"
        message = f"not configured ({answer.detail})"
        return Finding(check, Status.SKIP if deployment.is_local else Status.WARN, message, fix)
    return _judged(check, answer, hints)


async def _spam(spam: SpamFilter, within: float) -> Finding:
    hints = Hints(
        refused="check CUSTOMERCASE_AKISMET_KEY, and that the key is registered for the base URL",
        unreachable="check CUSTOMERCASE_AKISMET_API_URL and outbound HTTPS from this machine",
        off="set CUSTOMERCASE_AKISMET_KEY to check new posts for spam",
    )
    return _judged("Spam filter (Akismet)", await _asked(spam.verify(), within), hints)


async def _google(identity: IdentityProvider | None, within: float) -> Finding:
    check = "Google sign-in"
    if identity is None:
        return Finding(
            check,
            Status.SKIP,
            "not configured (Google sign-in is off)",
            "set CUSTOMERCASE_GOOGLE_CLIENT_ID and CUSTOMERCASE_GOOGLE_CLIENT_SECRET to offer it",
        )
    hints = Hints(
        refused="check CUSTOMERCASE_GOOGLE_CLIENT_ID and CUSTOMERCASE_GOOGLE_CLIENT_SECRET "
        "against the OAuth client in the Google Cloud console",
        unreachable="check CUSTOMERCASE_GOOGLE_DISCOVERY_URL and outbound HTTPS",
    )
    return _judged(check, await _asked(identity.verify(), within), hints)


async def _jira(
    uow: UnitOfWork,
    trackers: IssueTrackers,
    secrets: SecretBox | None,
    readable: bool,
    within: float,
) -> list[Finding]:
    """One finding per vendor whose forums are bound to Jira: its stored connection answers."""
    if not readable:
        message = "not checked: the bound forums are read from the database, fix that first"
        return [Finding("Jira", Status.SKIP, message)]
    async with uow:
        forums = await uow.tracker.bound_forums()
        by_vendor: dict[VendorId, list[Forum]] = {}
        for forum in forums:
            by_vendor.setdefault(forum.vendor_id, []).append(forum)
        connections = {v: await uow.tracker.connection(v) for v in by_vendor}
    if not by_vendor:
        return [Finding("Jira", Status.SKIP, "not configured (no forum is bound to Jira)")]
    return [
        await _jira_connection(forums, connections[vendor], trackers, secrets, within)
        for vendor, forums in by_vendor.items()
    ]


async def _jira_connection(
    forums: list[Forum],
    sealed: TrackerConnection | None,
    trackers: IssueTrackers,
    secrets: SecretBox | None,
    within: float,
) -> Finding:
    names = ", ".join(f.slug for f in forums)
    reconnect = f"connect Jira again: PUT /api/v1/vendors/{forums[0].vendor_id}/jira"
    if sealed is None:
        return Finding(f"Jira (forums {names})", Status.FAIL, "bound, but no connection", reconnect)
    check = f"Jira {sealed.site_url} (forums {names})"
    if secrets is None:
        message = "the stored API token cannot be opened without CUSTOMERCASE_SECRET_KEY"
        return Finding(check, Status.FAIL, message, "set the secret key it was saved with")
    try:
        token = secrets.open(sealed.api_token)
    except ValueError:
        message = "the stored API token was sealed with another secret key"
        return Finding(check, Status.FAIL, message, f"restore that key, or {reconnect}")
    tracker = trackers.open(TrackerConnection(sealed.site_url, sealed.email, token))
    try:
        async with asyncio.timeout(within):
            account = await tracker.myself()
    except TrackerRejected as error:
        message = f"credentials refused: Jira answered {error.status} for {sealed.email}"
        return Finding(check, Status.FAIL, message, f"make a new API token, then {reconnect}")
    except (TrackerUnavailable, TimeoutError) as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.message
        fix = "check that the site address is right and reachable from this machine"
        return Finding(check, Status.FAIL, f"cannot be reached: {reason}", fix)
    return Finding(check, Status.OK, f"signed in as {account.display_name or account.account_id}")
