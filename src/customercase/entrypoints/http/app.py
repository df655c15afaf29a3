"""The Litestar application factory: routes, dependencies from the container, error mapping."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp

from customercase.bootstrap import Container, shutdown
from customercase.domain.mail import Addressing
from customercase.domain.ports import (
    Avatars,
    Clock,
    DevMailbox,
    IdentityProvider,
    Ids,
    IssueTrackers,
    ListCache,
    MarksReader,
    PasswordHasher,
    RecentIdeas,
    SecretBox,
    SessionCache,
    SpamFilter,
    UnitOfWork,
)
from customercase.domain.users import User
from customercase.entrypoints.http.dependencies import resolve_in_turn
from customercase.entrypoints.http.google import GoogleController
from customercase.entrypoints.http.health import AvatarController, HealthController
from customercase.entrypoints.http.ideas import (
    FirstPages,
    ForumIdeasController,
    IdeaController,
    KeptBodies,
)
from customercase.entrypoints.http.identity import SESSION_COOKIE, IdentityController
from customercase.entrypoints.http.mail import (
    DeliveriesController,
    DevMailboxController,
    StopWatchingController,
)
from customercase.entrypoints.http.metrics import metrics_config, metrics_handler
from customercase.entrypoints.http.middleware import (
    csrf_config,
    csrf_cookie_middleware,
    request_id_middleware,
)
from customercase.entrypoints.http.moderation import ModerationController
from customercase.entrypoints.http.pages.account import AccountPages
from customercase.entrypoints.http.pages.common import (
    Analytics,
    FormGuard,
    static_files,
    template_config,
)
from customercase.entrypoints.http.pages.errors import negotiated
from customercase.entrypoints.http.pages.forums import ForumPages
from customercase.entrypoints.http.pages.ideas import IdeaPages
from customercase.entrypoints.http.pages.merge import MergePages
from customercase.entrypoints.http.pages.queues import QueuePages
from customercase.entrypoints.http.pages.recovery import RecoveryPages
from customercase.entrypoints.http.pages.staff import StaffPages
from customercase.entrypoints.http.participants import ParticipantController
from customercase.entrypoints.http.postmark_inbound import PostmarkWebhookController
from customercase.entrypoints.http.problems import EXCEPTION_HANDLERS, ProblemsDocumented
from customercase.entrypoints.http.schemas import Presenter
from customercase.entrypoints.http.vendors import ForumController, VendorController
from customercase.entrypoints.http.webhooks import WebhookController
from customercase.entrypoints.worker import InProcessWorker
from customercase.services.identity import authenticate
from customercase.services.retention import RetentionPolicy

MAX_BODY_BYTES = 1024 * 1024


def create_app(container: Container) -> Litestar:
    resolve_in_turn()
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

    def provide_trackers() -> IssueTrackers:
        return container.trackers()

    def provide_secrets() -> SecretBox:
        return container.secrets()

    def provide_jira_webhook_secret() -> str:
        return settings.jira_webhook_secret

    def provide_dev_mailbox() -> DevMailbox | None:
        return dev_mailbox

    def provide_addressing() -> Addressing:
        return container.addressing()

    def provide_identity_provider() -> IdentityProvider | None:
        return container.identity_provider()

    lists = container.lists()

    def provide_lists() -> ListCache:
        return lists

    marks = container.marks()

    def provide_marks() -> MarksReader:
        return marks

    session_cache = container.session_cache()
    recent_ideas = container.recent_ideas()

    def provide_recent_ideas() -> RecentIdeas:
        return recent_ideas

    def provide_session_cache() -> SessionCache:
        return session_cache

    def provide_spam() -> SpamFilter:
        return container.spam()

    def provide_avatars() -> Avatars:
        return container.avatars()

    inbound_credentials = (
        (settings.postmark_inbound_username, settings.postmark_inbound_password)
        if settings.postmark_inbound_username and settings.postmark_inbound_password
        else None
    )

    def provide_inbound_credentials() -> tuple[str, str] | None:
        return inbound_credentials

    form_guard = FormGuard.of(settings.secret_key, settings.form_min_seconds)

    def provide_form_guard() -> FormGuard:
        return form_guard

    analytics = Analytics.of(settings.analytics_snippet, settings.analytics_origins)

    def provide_analytics() -> Analytics | None:
        return analytics

    def provide_presenter() -> Presenter:
        return presenter

    def provide_secure_cookies() -> bool:
        return secure

    def provide_retention() -> RetentionPolicy:
        return settings.retention_policy

    session_policy = settings.session_policy

    async def user_of(token: str) -> User | None:
        if not token or len(token) > 128:
            return None
        return await authenticate(
            token,
            uow=container.uow(),
            clock=container.clock(),
            policy=session_policy,
            session_cache=session_cache,
        )

    async def provide_user(request: Request[Any, Any, Any]) -> User | None:
        return await user_of(request.cookies.get(SESSION_COOKIE, ""))

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
        GoogleController,
        VendorController,
        ForumController,
        ForumIdeasController,
        IdeaController,
        HealthController,
        AvatarController,
        DeliveriesController,
        StopWatchingController,
        ParticipantController,
        WebhookController,
        PostmarkWebhookController,
        ModerationController,
        AccountPages,
        RecoveryPages,
        ForumPages,
        IdeaPages,
        StaffPages,
        MergePages,
        QueuePages,
        static_files(),
    ]
    if dev_mailbox is not None:
        handlers.append(DevMailboxController)
    middleware: list[Any] = []
    if settings.metrics:
        handlers.append(
            metrics_handler(
                settings.metrics_token, container.engine(), container.uow, container.clock()
            )
        )
        middleware.append(metrics_config().middleware)
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "uow": sync(provide_uow),
            "clock": sync(provide_clock),
            "ids": sync(provide_ids),
            "hasher": sync(provide_hasher),
            "trackers": sync(provide_trackers),
            "secrets": sync(provide_secrets),
            "jira_webhook_secret": sync(provide_jira_webhook_secret),
            "dev_mailbox": sync(provide_dev_mailbox),
            "addressing": sync(provide_addressing),
            "identity_provider": sync(provide_identity_provider),
            "spam": sync(provide_spam),
            "lists": sync(provide_lists),
            "marks": sync(provide_marks),
            "session_cache": sync(provide_session_cache),
            "recent": sync(provide_recent_ideas),
            "avatars": sync(provide_avatars),
            "inbound_credentials": sync(provide_inbound_credentials),
            "present": sync(provide_presenter),
            "form_guard": sync(provide_form_guard),
            "analytics": sync(provide_analytics),
            "secure_cookies": sync(provide_secure_cookies),
            "retention": sync(provide_retention),
            "user": Provide(provide_user),
        },
        # Pages answer browsers with HTML error pages; everything else stays problem+json.
        exception_handlers=negotiated(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Customer Case",
            version="1",
            path="/schema",
            render_plugins=[ProblemsDocumented()],
        ),
        csrf_config=csrf_config(settings.secret_key, secure=secure),
        request_max_body_size=MAX_BODY_BYTES,
        middleware=middleware,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        response_cache_config=ResponseCacheConfig(),
        # For hooks that answer before dependencies are resolved (ideas.kept_list).
        state=State(
            {
                "first_pages": FirstPages(
                    KeptBodies(lists, presenter), user_of, container.uow, lists, marks
                )
            }
        ),
        debug=False,
    )


def create_asgi(container: Container) -> ASGIApp:
    """The app as servers run it: request ids, access logs and the CSRF cookie on every answer."""
    app = create_app(container)
    assert app.csrf_config is not None
    log_key = container.settings().secret_key.encode()
    return request_id_middleware(csrf_cookie_middleware(app, app.csrf_config), log_key)
