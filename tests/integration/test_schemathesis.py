"""Property-based testing of the whole JSON API against the OpenAPI document it serves.

Schemathesis reads /schema/openapi.json and throws valid and invalid requests at every
operation, signed in, on both databases. Any 5xx, any error that is not problem+json, and any
answer the document does not describe is a failure.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings
from customercase.entrypoints.http.app import create_app, create_asgi

PASSWORD = "correct horse battery"
# Routes of the JSON API; pages (HTML) and webhooks (signed by their callers) are tested elsewhere.
API_PREFIXES = ("/api/v1/", "/healthz", "/readyz")
SESSION_COOKIE = "cc_session"
CSRF_COOKIE = "csrftoken"
EXAMPLES_PER_OPERATION = 20


def _operation_labels() -> list[str]:
    """Every API operation the app documents; building the app touches no database."""
    document = create_app(
        build_container(read_settings({}, secret_key="schema-only"))
    ).openapi_schema.to_schema()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        if path.startswith(API_PREFIXES)
        for method in operations
        if method in {"get", "put", "post", "patch", "delete"}
    )


@dataclass
class Seeded:
    """One signed-in person who runs a vendor with a public forum holding one idea."""

    schema: Any
    cookies: dict[str, str]
    ids: dict[str, str]


def csrf_headers(cookies: dict[str, str]) -> dict[str, str]:
    """Echo the CSRF cookie into its header, as the web pages do."""
    return {"x-csrftoken": cookies[CSRF_COOKIE]} if CSRF_COOKIE in cookies else {}


def _post(client: requests.Session, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=csrf_headers(client.cookies.get_dict()))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _seed(app: Any) -> tuple[dict[str, str], dict[str, str]]:
    with asgi.get_client(app) as client:
        client.get("/api/v1/me")  # as a browser would, which picks up a CSRF cookie if any
        email = f"fuzz-{uuid.uuid4().hex[:10]}@example.org"
        _post(
            client,
            "/api/v1/auth/signup",
            {"email": email, "name": "Fuzz Tester", "password": PASSWORD},
        )
        vendor = _post(client, "/api/v1/vendors", {"name": "Acme", "slug": uuid.uuid4().hex[:8]})
        forum = _post(
            client, f"/api/v1/vendors/{vendor['id']}/forums", {"name": "Ideas", "slug": "ideas"}
        )
        idea = _post(client, f"/api/v1/forums/{forum['id']}/ideas", {"summary": "Seeded idea"})
        ids = {"vendor_id": vendor["id"], "forum_id": forum["id"], "idea_id": idea["id"]}
        return client.cookies.get_dict(), ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> Iterator[Seeded]:
    """The app on a migrated database, run by schemathesis on an event loop of its own."""
    container = build_container(
        read_settings(
            {},
            database_url=database_urls[request.param],
            public_url="http://testserver",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            secret_key="test-secret-key-not-for-production",
        )
    )
    loop = asyncio.new_event_loop()
    loop.run_until_complete(upgrade(container.engine()))
    loop.run_until_complete(container.engine().dispose())
    loop.close()
    app = create_asgi(container)
    cookies, ids = _seed(app)
    yield Seeded(schemathesis.openapi.from_asgi("/schema/openapi.json", app), cookies, ids)
    # Runs the app's shutdown, which closes its connections on the loop that opened them.
    asgi.shutdown_lifespans()


def problem_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error answer is RFC 9457 problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return None
    media_type = response.headers.get("content-type", [""])[0]
    assert media_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {media_type!r}: {response.text[:200]}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"problem lacks {sorted(missing)}: {body}"
    assert body["status"] == response.status_code, body
    return None


CHECKS = [
    not_a_server_error,
    problem_json,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.mark.parametrize("label", _operation_labels())
def test_every_operation_answers_as_its_document_says(label: str, seeded: Seeded) -> None:
    operation = seeded.schema.find_operation_by_label(label)
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    cookies = dict(seeded.cookies)
    if operation.path.startswith("/api/v1/auth/"):
        # Signing in, up or out would end the session every other operation uses.
        cookies.pop(SESSION_COOKIE, None)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, real_ids=st.booleans())
    def call(case: Case, real_ids: bool) -> None:
        if real_ids:
            case.path_parameters = {
                name: seeded.ids.get(name, value)
                for name, value in (case.path_parameters or {}).items()
            }
        headers = {**(case.headers or {}), **csrf_headers(cookies)}
        case.call_and_validate(cookies=cookies, headers=headers, checks=CHECKS)

    call()
