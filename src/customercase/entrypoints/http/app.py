"""The Litestar application factory: routes, dependencies from the container, error mapping."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.config.response_cache import ResponseCacheConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ASGIApp

from customercase.bootstrap import Container, shutdown
from customercase.domain.mail import Addressing
from customercase.domain.ports import Clock, DevMailbox, Ids, PasswordHasher, UnitOfWork
from customercase.domain.users import User
from customercase.entrypoints.http.health import AvatarController, HealthController
from customercase.entrypoints.http.ideas import ForumIdeasController, IdeaController
from customercase.entrypoints.http.identity import SESSION_COOKIE, IdentityController
from customercase.entrypoints.http.mail import (
    DeliveriesController,
    DevMailboxController,
    StopWatchingController,
)
from customercase.entrypoints.http.middleware import request_id_middleware
from customercase.entrypoints.http.participants import ParticipantController
from customercase.entrypoints.http.problems import EXCEPTION_HANDLERS
from customercase.entrypoints.http.schemas import Presenter
from customercase.entrypoints.http.vendors import ForumController, VendorController
from customercase.entrypoints.http.webhooks import PostmarkWebhookController
from customercase.entrypoints.worker import InProcessWorker
from customercase.services.identity import authenticate

MAX_BODY_BYTES = 1024 * 1024


def create_app(container: Container) -> Litestar:
    settings = container.settings()
    presenter = Presenter(settings.base_url, settings.inbound_address)
    dev_mailbox = container.dev_mailbox()
    secure = settings.base_url.startswith("https://")

    def provide_uow() -> UnitOfWork:
        return container.uow()

    def provide_clock() -> Clock:
        return container.clock()

    def provide_ids() -> Ids:
        return container.ids()

    def provide_hasher() -> PasswordHasher:
        return container.hasher()

    def provide_dev_mailbox() -> DevMailbox | None:
        return dev_mailbox

    def provide_addressing() -> Addressing:
        return container.addressing()

    inbound_credentials = (
        (settings.postmark_inbound_username, settings.postmark_inbound_password)
        if settings.postmark_inbound_username and settings.postmark_inbound_password
        else None
    )

    def provide_inbound_credentials() -> tuple[str, str] | None:
        return inbound_credentials

    def provide_presenter() -> Presenter:
        return presenter

    def provide_secure_cookies() -> bool:
        return secure

    async def provide_user(request: Request[Any, Any, Any]) -> User | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 128:
            return None
        return await authenticate(
            token, uow=container.uow(), clock=container.clock(), policy=settings.session_policy
        )

    worker = InProcessWorker(container) if settings.worker_in_process else None

    async def on_startup() -> None:
        if worker is not None:
            await worker.start()

    async def on_shutdown() -> None:
        if worker is not None:
            await worker.stop()
        await shutdown(container)

    def sync(fn: Any) -> Provide:
        return Provide(fn, sync_to_thread=False)

    handlers: list[Any] = [
        IdentityController,
        VendorController,
        ForumController,
        ForumIdeasController,
        IdeaController,
        HealthController,
        AvatarController,
        DeliveriesController,
        StopWatchingController,
        ParticipantController,
        PostmarkWebhookController,
    ]
    if dev_mailbox is not None:
        handlers.append(DevMailboxController)
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "uow": sync(provide_uow),
            "clock": sync(provide_clock),
            "ids": sync(provide_ids),
            "hasher": sync(provide_hasher),
            "dev_mailbox": sync(provide_dev_mailbox),
            "addressing": sync(provide_addressing),
            "inbound_credentials": sync(provide_inbound_credentials),
            "present": sync(provide_presenter),
            "secure_cookies": sync(provide_secure_cookies),
            "user": Provide(provide_user),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Customer Case", version="1", path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        response_cache_config=ResponseCacheConfig(),
        debug=False,
    )


def create_asgi(container: Container) -> ASGIApp:
    """The app as servers run it: request ids and access logs wrap every answer, 404s too."""
    return request_id_middleware(create_app(container))
