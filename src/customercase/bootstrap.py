"""The composition root: settings read once, one container, the only place adapters are named."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import msgspec
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.akismet import DEFAULT_API_URL as AKISMET_API_URL
from customercase.adapters.akismet import AkismetSpamFilter
from customercase.adapters.google.oidc import GoogleIdentityProvider
from customercase.adapters.gravatar import DEFAULT_URL as GRAVATAR_URL
from customercase.adapters.gravatar import GravatarAvatars
from customercase.adapters.jira.tracker import DescriptionCache, JiraIssueTrackers
from customercase.adapters.jira.tracker import RetryPolicy as JiraRetryPolicy
from customercase.adapters.local.avatars import NoPictures
from customercase.adapters.local.lists import LocalListCache
from customercase.adapters.local.mailbox import LocalMailbox
from customercase.adapters.local.marks import CoalescedMarks
from customercase.adapters.local.recent import LocalRecentIdeas
from customercase.adapters.local.sessions import LocalSessionCache
from customercase.adapters.local.spam import AllowAllSpamFilter
from customercase.adapters.passwords import Argon2PasswordHasher
from customercase.adapters.postmark.mailer import PostmarkMailer
from customercase.adapters.secrets import FernetSecretBox
from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.migrate import AlembicSchema
from customercase.adapters.sql.uow import SqlUnitOfWork
from customercase.adapters.system import RandomIds, SystemClock
from customercase.adapters.templates import JinjaEmailComposer
from customercase.domain.mail import Addressing, Signer
from customercase.domain.notifications import EMAIL_KINDS, NotificationKind
from customercase.domain.ports import (
    Avatars,
    Clock,
    DevMailbox,
    EmailComposer,
    IdentityProvider,
    Ids,
    IssueTrackers,
    ListCache,
    Mailer,
    MarksReader,
    PasswordHasher,
    RecentIdeas,
    Schema,
    SecretBox,
    SessionCache,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.users import SessionPolicy
from customercase.services.dispatch import Handler, RetryPolicy
from customercase.services.notifications import EmailNotifications
from customercase.services.retention import RetentionPolicy
from customercase.services.tracker_jobs import TRACKER_KINDS, TrackerJobs

PREFIX = "CUSTOMERCASE_"
DEFAULT_DATABASE = Path("var") / "customercase.sqlite3"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every setting, from CUSTOMERCASE_* environment variables; none is needed locally."""

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATABASE}"
    database_pool_size: int = 20
    secret_key: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_seconds: int = 2 * 3600
    session_lifetime_seconds: int = 12 * 3600
    trending_half_life_days: float = 7.0
    # How long a public forum's first page, as anonymous visitors see it, is answered from this
    # process's memory (signed-in people get its order, with fresh counts and their own marks:
    # docs/performance.md); 0 turns the cache off.
    list_cache_seconds: float = 2.0
    # How long this process answers who is signed in from memory (docs/performance.md): a
    # sign-out or password reset made in another process takes effect here within it; this
    # process's own are at once. 0 turns the cache off (every request asks the database).
    session_cache_seconds: float = 2.0
    # How long this process keeps an idea it read, so that a vote on it needs no read of its
    # own (checked under the idea's lock that it is still as judged: docs/performance.md); a
    # vote's answer may show its summary and status as read that long ago, never its counts
    # or the voter's marks. 0 turns it off.
    idea_cache_seconds: float = 10.0
    # Measured on the 2-core box (benchmarks/bench_signin.py): t=2 took 19 ms per hash at
    # 19 MiB, t=3 29 ms, 46 MiB 53-81 ms. t=3 at 19 MiB is 1.5x OWASP's minimum for ~30 ms.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    google_client_id: str = ""
    google_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    log_level: str = "info"
    # A local run (`customercase run` sets it): the dev mailbox page, a fallback secret key.
    is_local: bool = False
    jira_webhook_secret: str = ""
    jira_timeout_seconds: float = 10.0
    jira_description_ttl_seconds: float = 60.0
    postmark_server_token: str = ""
    postmark_api_url: str = "https://api.postmarkapp.com"
    postmark_timeout_seconds: float = 10.0
    postmark_attempts: int = 4
    postmark_first_wait_seconds: float = 0.5
    mail_from: str = "Customer Case <notifications@customercase.localhost>"
    inbound_address: str = ""
    postmark_inbound_username: str = ""
    postmark_inbound_password: str = ""
    # `customercase run` sets this: the outbox worker runs inside the web process.
    worker_in_process: bool = False
    worker_batch_size: int = 100
    worker_poll_seconds: float = 1.0
    worker_lease_seconds: float = 300.0
    # A page form sent sooner than this after it was shown is taken for a robot's (0: no minimum).
    form_min_seconds: float = 3.0
    akismet_key: str = ""
    akismet_api_url: str = AKISMET_API_URL
    akismet_blog_lang: str = "en"
    # Seconds Akismet gets to answer before the post is published and queued for a re-check.
    akismet_timeout_seconds: float = 1.5
    # "off": no pictures, initials for everyone.
    gravatar_url: str = GRAVATAR_URL
    gravatar_timeout_seconds: float = 2.0
    # Retention (README "Retention"): a deleted vendor's data is purged after vendor_retention_days;
    # delivered outbox rows and inbound mail / Jira webhook ids are forgotten after theirs
    # (keep the ids well past Postmark's ~10.5 hours of inbound retries). The worker runs this
    # housekeeping, sweeps of expired sessions, tokens and rate limits included, every
    # housekeeping_seconds.
    vendor_retention_days: float = 60.0
    outbox_retention_days: float = 30.0
    message_id_retention_days: float = 30.0
    housekeeping_seconds: float = 900.0
    # A sync runner renews its hold on a forum with every page of issues; one that dies holds
    # the forum until this has passed (another runner then takes over).
    sync_lease_seconds: float = 300.0
    # Prometheus metrics at /metrics, for requests carrying "Bearer <metrics_token>" only.
    metrics: bool = False
    metrics_token: str = ""
    # Operator-trusted HTML (e.g. a privacy-friendly counter's <script>) put on public forum
    # pages only, never on staff or account pages; empty: none. Its <script src> origins and
    # the hashes of its inline scripts are allowed by those pages' security policy, and so are
    # the extra origins listed here (space-separated), say where the script sends its counts.
    analytics_snippet: str = ""
    analytics_origins: str = ""
    sentry_dsn: str = ""
    sentry_environment: str = "production"

    @property
    def base_url(self) -> str:
        """Where users reach us: the public URL, else the address we listen on."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(self.session_idle_seconds, self.session_lifetime_seconds)

    @property
    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            self.vendor_retention_days, self.outbox_retention_days, self.message_id_retention_days
        )


def read_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (and explicit overrides); a bad value names its variable."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {
        key[len(PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(PREFIX) and value != ""
    }
    raw.update(overrides)
    known = {f.name for f in msgspec.structs.fields(Settings)}
    try:
        return msgspec.convert({k: v for k, v in raw.items() if k in known}, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SystemExit(f"Configuration error: {error} (set via {PREFIX}<NAME>)") from None


def pick_uow(engine: AsyncEngine, settings: Settings) -> UnitOfWork:
    return SqlUnitOfWork(engine, settings.trending_half_life_days)


def pick_hasher(settings: Settings) -> PasswordHasher:
    return Argon2PasswordHasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def pick_identity_provider(
    settings: Settings, client: httpx.AsyncClient
) -> IdentityProvider | None:
    """Google sign-in when its client is configured; otherwise none (and the routes 404)."""
    if not (settings.google_client_id and settings.google_client_secret):
        return None
    return GoogleIdentityProvider(
        client,
        settings.google_client_id,
        settings.google_client_secret,
        settings.google_discovery_url,
    )


def pick_trackers(client: httpx.AsyncClient, settings: Settings) -> IssueTrackers:
    # Each vendor brings its own Jira site (PUT /api/v1/vendors/{id}/jira); this opens them.
    return JiraIssueTrackers(client, cache=DescriptionCache(settings.jira_description_ttl_seconds))


def pick_secret_box(settings: Settings) -> SecretBox:
    # `make run` generates and keeps a secret key; lacking one, a fixed key, and only locally.
    if not settings.secret_key and not settings.is_local:
        raise SystemExit("Configuration error: set CUSTOMERCASE_SECRET_KEY")
    return FernetSecretBox(settings.secret_key or "local development only")


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """One client for the outside services that have no client of their own."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.jira_timeout_seconds, connect=5.0), follow_redirects=False
    )


def build_postmark_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.postmark_api_url, timeout=settings.postmark_timeout_seconds
    )


def pick_mailer(
    settings: Settings, engine: AsyncEngine, postmark_client: httpx.AsyncClient
) -> Mailer:
    """Postmark when a server token is set, else the local dev mailbox."""
    if settings.postmark_server_token:
        return PostmarkMailer(
            postmark_client,
            settings.postmark_server_token,
            settings.mail_from,
            attempts=settings.postmark_attempts,
            first_wait=settings.postmark_first_wait_seconds,
        )
    return LocalMailbox(engine)


def pick_dev_mailbox(settings: Settings, mailer: Mailer) -> DevMailbox | None:
    """The mailbox /dev/mailbox shows: only the local one, and only on a local run."""
    return mailer if settings.is_local and isinstance(mailer, LocalMailbox) else None


def build_addressing(settings: Settings) -> Addressing:
    # Message-IDs in the sending domain (a name, where the base URL may be a bare IP).
    sender = parseaddr(settings.mail_from)[1]
    domain = sender.rsplit("@", 1)[1] if "@" in sender else ""
    return Addressing(
        settings.base_url,
        settings.inbound_address,
        domain or urlsplit(settings.base_url).hostname or "localhost",
        Signer(hashlib.sha256(b"mail\x00" + settings.secret_key.encode()).digest()),
    )


def build_handlers(
    uow: UnitOfWork,
    mailer: Mailer,
    composer: EmailComposer,
    addressing: Addressing,
    ids: Ids,
    trackers: IssueTrackers,
    secrets: SecretBox,
    clock: Clock,
    settings: Settings,
) -> dict[NotificationKind, Handler]:
    """The outbox dispatch table: which handler delivers which kind of notification."""
    email = EmailNotifications(
        uow=uow, mailer=mailer, composer=composer, addressing=addressing, ids=ids
    )
    jobs = TrackerJobs(
        uow=uow,
        trackers=trackers,
        secrets=secrets,
        ids=ids,
        clock=clock,
        base_url=settings.base_url,
        holder=f"{socket.gethostname()}:{os.getpid()}",
        sync_lease=timedelta(seconds=settings.sync_lease_seconds),
    )
    return dict.fromkeys(EMAIL_KINDS, email) | dict.fromkeys(TRACKER_KINDS, jobs)


def build_retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(lease_seconds=settings.worker_lease_seconds)


def pick_spam_filter(settings: Settings, http: httpx.AsyncClient, attempts: int = 2) -> SpamFilter:
    """Akismet when a key is set, else allow-all."""
    if not settings.akismet_key:
        return AllowAllSpamFilter()
    return AkismetSpamFilter(
        api_key=settings.akismet_key,
        blog=settings.base_url,
        client=http,
        timeout_seconds=settings.akismet_timeout_seconds,
        api_url=settings.akismet_api_url,
        blog_lang=settings.akismet_blog_lang,
        attempts=attempts,
    )


def pick_avatars(settings: Settings, http: httpx.AsyncClient) -> Avatars:
    """Gravatar, fetched server-side, unless switched off."""
    if settings.gravatar_url == "off":
        return NoPictures()
    return GravatarAvatars(
        client=http,
        base_url=settings.gravatar_url,
        timeout_seconds=settings.gravatar_timeout_seconds,
    )


def build_list_cache(settings: Settings) -> ListCache:
    return LocalListCache(settings.list_cache_seconds)


def build_session_cache(settings: Settings) -> SessionCache:
    return LocalSessionCache(settings.session_cache_seconds)


def build_recent_ideas(settings: Settings) -> RecentIdeas:
    return LocalRecentIdeas(settings.idea_cache_seconds)


def build_engine(settings: Settings) -> AsyncEngine:
    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url, pool_size=settings.database_pool_size)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    engine = providers.Singleton(build_engine, settings)
    uow = providers.Factory(pick_uow, engine, settings)
    clock: providers.Provider[Clock] = providers.Singleton(SystemClock)
    ids: providers.Provider[Ids] = providers.Singleton(RandomIds)
    hasher = providers.Singleton(pick_hasher, settings)
    http_client = providers.Singleton(build_http_client, settings)
    trackers = providers.Singleton(pick_trackers, http_client, settings)
    secrets = providers.Singleton(pick_secret_box, settings)
    postmark_client = providers.Singleton(build_postmark_client, settings)
    mailer = providers.Singleton(pick_mailer, settings, engine, postmark_client)
    dev_mailbox = providers.Singleton(pick_dev_mailbox, settings, mailer)
    composer: providers.Provider[EmailComposer] = providers.Singleton(JinjaEmailComposer)
    addressing = providers.Singleton(build_addressing, settings)
    # A Factory: each dispatch loop gets handlers with a unit of work of its own.
    handlers = providers.Factory(
        build_handlers,
        uow,
        mailer,
        composer,
        addressing,
        ids,
        trackers,
        secrets,
        clock,
        settings,
    )
    retry_policy = providers.Singleton(build_retry_policy, settings)
    identity_provider = providers.Singleton(pick_identity_provider, settings, http_client)
    spam: providers.Provider[SpamFilter] = providers.Singleton(
        pick_spam_filter, settings, http_client
    )
    avatars: providers.Provider[Avatars] = providers.Singleton(pick_avatars, settings, http_client)
    schema: providers.Provider[Schema] = providers.Singleton(AlembicSchema, engine)
    lists: providers.Provider[ListCache] = providers.Singleton(build_list_cache, settings)
    # Signed-in first pages' marks, read for the viewers who ask at once together.
    marks: providers.Provider[MarksReader] = providers.Singleton(CoalescedMarks, uow.provider)
    session_cache: providers.Provider[SessionCache] = providers.Singleton(
        build_session_cache, settings
    )
    recent_ideas: providers.Provider[RecentIdeas] = providers.Singleton(
        build_recent_ideas, settings
    )


def build_container(settings: Settings | None = None) -> Container:
    return Container(settings=settings or read_settings())


# `customercase doctor` asks each outside service once and waits this long at most.
DOCTOR_TIMEOUT_SECONDS = 5.0


def build_doctor_container(settings: Settings) -> Container:
    """The container with one short try per outside call: the doctor asks, it does not wait."""
    quick = msgspec.structs.replace(
        settings,
        jira_timeout_seconds=DOCTOR_TIMEOUT_SECONDS,
        postmark_timeout_seconds=DOCTOR_TIMEOUT_SECONDS,
        akismet_timeout_seconds=DOCTOR_TIMEOUT_SECONDS,
    )
    container = build_container(quick)
    once = JiraRetryPolicy(attempts=1)
    container.trackers.override(providers.Singleton(JiraIssueTrackers, container.http_client, once))
    container.spam.override(providers.Singleton(pick_spam_filter, quick, container.http_client, 1))
    return container


def doctor_secret_box(container: Container) -> SecretBox | None:
    """The box that opens stored Jira tokens, or None where there is no key to open them with."""
    settings = container.settings()
    return container.secrets() if settings.secret_key or settings.is_local else None


async def shutdown(container: Container) -> None:
    """Close what the container opened."""
    await container.postmark_client().aclose()
    engine = container.engine()
    await engine.dispose()
    await container.http_client().aclose()
