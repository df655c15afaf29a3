"""The one module-level ASGI app, for ASGI servers (`customercase.entrypoints.http.asgi:app`)."""

from customercase.bootstrap import build_container
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.logs import configure_logging
from customercase.entrypoints.monitoring import init_error_reports

_container = build_container()
configure_logging(_container.settings().log_level)
init_error_reports(
    _container.settings().sentry_dsn, environment=_container.settings().sentry_environment
)
app = create_asgi(_container)
