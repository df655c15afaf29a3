"""The composition root: settings read once, one container, the only place adapters are named."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx
import msgspec
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.akismet import DEFAULT_API_URL as AKISMET_API_URL
from customercase.adapters.akismet import AkismetSpamFilter
from customercase.adapters.gravatar import DEFAULT_URL as GRAVATAR_URL
from customercase.adapters.gravatar import GravatarAvatars
from customercase.adapters.local.avatars import NoPictures
from customercase.adapters.local.spam import AllowAllSpamFilter
from customercase.adapters.passwords import Argon2PasswordHasher
from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.uow import SqlUnitOfWork
from customercase.adapters.system import RandomIds, SystemClock
from customercase.domain.ports import Avatars, Clock, Ids, PasswordHasher, SpamFilter, UnitOfWork
from customercase.domain.users import SessionPolicy

PREFIX = "CUSTOMERCASE_"
DEFAULT_DATABASE = Path("var") / "customercase.sqlite3"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every setting, from CUSTOMERCASE_* environment variables; none is needed locally."""

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATABASE}"
    database_pool_size: int = 10
    secret_key: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_seconds: int = 2 * 3600
    session_lifetime_seconds: int = 12 * 3600
    trending_half_life_days: float = 7.0
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    log_level: str = "info"
    is_local: bool = True
    akismet_key: str = ""
    akismet_api_url: str = AKISMET_API_URL
    akismet_blog_lang: str = "en"
    # Seconds Akismet gets to answer before the post is published and queued for a re-check.
    akismet_timeout_seconds: float = 1.5
    # "off": no pictures, initials for everyone.
    gravatar_url: str = GRAVATAR_URL
    gravatar_timeout_seconds: float = 2.0
    sentry_dsn: str = ""
    sentry_environment: str = "production"

    @property
    def base_url(self) -> str:
        """Where users reach us: the public URL, else the address we listen on."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(self.session_idle_seconds, self.session_lifetime_seconds)


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


def pick_spam_filter(settings: Settings, http: httpx.AsyncClient) -> SpamFilter:
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
    # One client, one connection pool, for every outside service; each adapter sets its timeout.
    http = providers.Singleton(httpx.AsyncClient)
    spam: providers.Provider[SpamFilter] = providers.Singleton(pick_spam_filter, settings, http)
    avatars: providers.Provider[Avatars] = providers.Singleton(pick_avatars, settings, http)


def build_container(settings: Settings | None = None) -> Container:
    return Container(settings=settings or read_settings())


async def shutdown(container: Container) -> None:
    """Close what the container opened."""
    engine = container.engine()
    await engine.dispose()
    await container.http().aclose()
