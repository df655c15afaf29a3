"""The composition root: settings read once, one container, the only place adapters are named."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx
import msgspec
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.jira.tracker import DescriptionCache, JiraIssueTrackers
from customercase.adapters.passwords import Argon2PasswordHasher
from customercase.adapters.secrets import FernetSecretBox
from customercase.adapters.sql.engine import make_engine
from customercase.adapters.sql.uow import SqlUnitOfWork
from customercase.adapters.system import RandomIds, SystemClock
from customercase.domain.ports import (
    Clock,
    Ids,
    IssueTrackers,
    PasswordHasher,
    SecretBox,
    UnitOfWork,
)
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
    jira_webhook_secret: str = ""
    jira_timeout_seconds: float = 10.0
    jira_description_ttl_seconds: float = 60.0

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


def pick_trackers(client: httpx.AsyncClient, settings: Settings) -> IssueTrackers:
    # Each vendor brings its own Jira site (PUT /api/v1/vendors/{id}/jira); this opens them.
    return JiraIssueTrackers(client, cache=DescriptionCache(settings.jira_description_ttl_seconds))


def pick_secret_box(settings: Settings) -> SecretBox:
    # `make run` generates and keeps a secret key; lacking one, a fixed key, and only locally.
    if not settings.secret_key and not settings.is_local:
        raise SystemExit("Configuration error: set CUSTOMERCASE_SECRET_KEY")
    return FernetSecretBox(settings.secret_key or "local development only")


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(settings.jira_timeout_seconds))


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


def build_container(settings: Settings | None = None) -> Container:
    return Container(settings=settings or read_settings())


async def shutdown(container: Container) -> None:
    """Close what the container opened."""
    engine = container.engine()
    await engine.dispose()
    await container.http_client().aclose()
