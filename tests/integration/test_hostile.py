"""Hostile requests, on SQLite and PostgreSQL: each is served or refused cleanly, never a 500.

Some requests here cannot be made with an HTTP client (bodies counted chunk by chunk, URLs
longer than httpx allows, paths with `..` left in), so they are sent to the ASGI app raw.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar.types import ASGIApp, Message

from customercase.bootstrap import Container
from customercase.entrypoints.http.app import MAX_BODY_BYTES, create_app, create_asgi
from tests.integration.conftest import Browser
from tests.integration.walk import open_forum, sign_up, submit, unique

PROBLEM = "application/problem+json"
CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    chunks_read: int = 0
    bytes_read: int = 0
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawRequest:
    method: str
    path: str
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: Iterable[bytes] = ()
    raw_path: bytes | None = None


async def send_raw(app: ASGIApp, request: RawRequest) -> Answer:
    """One request straight into the ASGI app, counting the body chunks the app asks for."""
    chunks = iter(request.chunks)
    answer = Answer(0, {}, b"")
    pending = next(chunks, None)

    async def receive() -> Message:
        nonlocal pending
        if pending is None:
            return {"type": "http.disconnect"}
        body, pending = pending, next(chunks, None)
        answer.chunks_read += 1
        answer.bytes_read += len(body)
        return {"type": "http.request", "body": body, "more_body": pending is not None}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]
            }
            answer.cookies = [
                v.decode("latin-1") for k, v in message["headers"] if k == b"set-cookie"
            ]
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.raw_path or request.path.encode("latin-1"),
        "root_path": "",
        "query_string": request.query,
        "headers": [(b"host", b"testserver.local"), *request.headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return answer


async def csrf_pair(app: ASGIApp) -> list[tuple[bytes, bytes]]:
    """The CSRF cookie a GET hands out and its echo in the header; none when the app sets none."""
    answer = await send_raw(app, RawRequest("GET", "/healthz"))
    given = [c.split(";", 1)[0] for c in answer.cookies if c.startswith("csrftoken=")]
    if not given:
        return []
    token = given[0].split("=", 1)[1]
    return [(b"cookie", f"csrftoken={token}".encode()), (b"x-csrftoken", token.encode())]


def assert_problem(status: int, content_type: str, body: Any) -> None:
    assert content_type.startswith(PROBLEM), (status, content_type)
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status


def assert_clean(response: httpx.Response) -> None:
    """Served, or refused with a problem; never a server error."""
    assert response.status_code < 500, (response.status_code, response.text[:200])
    if response.status_code >= 400:
        assert_problem(response.status_code, response.headers["content-type"], response.json())


async def person(browser: Browser) -> httpx.AsyncClient:
    """A browser that echoes the CSRF cookie into its header, as the web pages do."""
    client = await browser()

    async def echo_csrf(request: httpx.Request) -> None:
        token = client.cookies.get("csrftoken")
        if token and "x-csrftoken" not in request.headers:
            request.headers["x-csrftoken"] = token

    client.event_hooks["request"].append(echo_csrf)
    await client.get("/api/v1/me")
    return client


@dataclass
class World:
    client: httpx.AsyncClient
    forum: dict[str, Any]
    idea: dict[str, Any]


async def a_world(browser: Browser) -> World:
    client = await person(browser)
    await sign_up(client)
    forum = await open_forum(client)
    idea = await submit(client, forum["id"], "An idea to poke at")
    return World(client, forum, idea)


# Bodies over the limit


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/vendors"])
async def test_a_streamed_body_over_the_limit_is_refused_before_it_is_read_whole(
    container: Container, path: str
) -> None:
    app = create_asgi(container)
    chunks = [b'{"name": "' + b"x" * CHUNK] + [b"x" * CHUNK] * (4 * MAX_BODY_BYTES // CHUNK)
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]

    answer = await send_raw(
        app, RawRequest("POST", path, headers=headers + await csrf_pair(app), chunks=chunks)
    )

    assert answer.status == 413
    assert_problem(413, answer.headers["content-type"], answer.json())
    assert answer.bytes_read <= MAX_BODY_BYTES + CHUNK + 16
    assert answer.chunks_read < len(chunks)


async def test_a_body_announced_over_the_limit_is_refused_without_reading_it(
    container: Container,
) -> None:
    app = create_asgi(container)
    size = MAX_BODY_BYTES + 1

    answer = await send_raw(
        app,
        RawRequest(
            "POST",
            "/api/v1/auth/signup",
            headers=[(b"content-type", b"application/json"), (b"content-length", b"%d" % size)],
            chunks=[b"x" * CHUNK] * (size // CHUNK + 1),
        ),
    )

    assert answer.status == 413 and answer.bytes_read == 0


async def test_a_body_just_under_the_limit_is_read(browser: Browser) -> None:
    client = await person(browser)
    padding = "p" * (MAX_BODY_BYTES - 200)

    response = await client.post(
        "/api/v1/auth/signup",
        json={"email": "not an email", "name": "N", "password": "x", "padding": padding},
    )

    assert response.status_code == 422


# Bodies that are not JSON we can read


NESTED = [
    b'{"summary": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"summary": "ok idea", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"[" * 200_000 + b"]" * 200_000,
]
NOT_UTF8 = [
    b'{"summary": "caf\xe9 au lait"}',
    b'{"summary": "ok \xed\xa0\x80 half"}',
    b"\xff\xfe{}",
]


async def test_deeply_nested_or_non_utf8_json_is_a_400_problem(browser: Browser) -> None:
    world = await a_world(browser)

    for body in NESTED + NOT_UTF8:
        response = await world.client.post(
            f"/api/v1/forums/{world.forum['id']}/ideas",
            content=body,
            headers={"content-type": "application/json"},
        )

        assert response.status_code == 400, body[:40]
        assert_problem(400, response.headers["content-type"], response.json())


# NUL bytes: PostgreSQL refuses them in text


def _text_field_requests(world: World, text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, body) putting `text` in each text field of each body the API takes."""
    forum, idea = world.forum["id"], world.idea["id"]
    vendor = world.forum["vendor_id"]
    email = f"{unique('n')}@example.org"
    password = "correct horse battery"
    return [
        ("POST", "/api/v1/auth/signup", {"email": text, "name": "N", "password": password}),
        ("POST", "/api/v1/auth/signup", {"email": email, "name": text, "password": password}),
        ("POST", "/api/v1/auth/signup", {"email": email, "name": "N", "password": text * 5}),
        ("POST", "/api/v1/auth/signin", {"email": text, "password": password}),
        ("POST", "/api/v1/auth/signin", {"email": email, "password": text}),
        ("POST", "/api/v1/vendors", {"name": text, "slug": unique("v")}),
        ("POST", "/api/v1/vendors", {"name": "V", "slug": text}),
        ("POST", f"/api/v1/vendors/{vendor}/forums", {"name": text, "slug": unique("f")}),
        ("POST", f"/api/v1/vendors/{vendor}/forums", {"name": "F", "slug": text}),
        (
            "POST",
            f"/api/v1/vendors/{vendor}/forums",
            {"name": "F", "slug": unique("f"), "allowed_domains": [text]},
        ),
        (
            "POST",
            f"/api/v1/vendors/{vendor}/forums",
            {"name": "F", "slug": unique("f"), "jira": {"project_key": "AB", "issue_type": text}},
        ),
        ("PATCH", f"/api/v1/forums/{forum}", {"name": text}),
        ("PATCH", f"/api/v1/forums/{forum}", {"slug": text}),
        ("PATCH", f"/api/v1/forums/{forum}", {"allowed_domains": [text]}),
        ("POST", f"/api/v1/forums/{forum}/invitations", {"emails": [text]}),
        ("POST", f"/api/v1/forums/{forum}/ideas", {"summary": text}),
        ("POST", f"/api/v1/forums/{forum}/ideas", {"summary": "Fine", "description": text}),
        ("POST", f"/api/v1/ideas/{idea}/comments", {"body": text}),
        ("PUT", f"/api/v1/ideas/{idea}/status", {"status": text}),
    ]


NUL_TEXT = "nul\x00inside"


async def test_a_nul_byte_in_any_text_field_is_never_a_500_nor_stored(browser: Browser) -> None:
    world = await a_world(browser)

    for method, path, body in _text_field_requests(world, NUL_TEXT):
        response = await world.client.request(method, path, json=body)

        assert_clean(response)
        assert "\\u0000" not in response.text or response.status_code >= 400, (path, body)


async def test_a_nul_byte_in_a_query_parameter_is_never_a_500(browser: Browser) -> None:
    world = await a_world(browser)

    for name in ("q", "cursor", "sort", "status", "limit"):
        response = await world.client.get(
            f"/api/v1/forums/{world.forum['id']}/ideas", params={name: NUL_TEXT}
        )

        assert_clean(response)


async def test_a_nul_byte_in_any_path_parameter_is_never_a_500(
    browser: Browser, container: Container
) -> None:
    world = await a_world(browser)

    for method, path in _routes_with_parameters(container):
        response = await world.client.request(method, _fill(path, "a%00b"))

        assert_clean(response)


def _routes_with_parameters(container: Container) -> list[tuple[str, str]]:
    """(method, path template) of every route that takes a path parameter.

    Litestar's own /schema/{path} answers unknown documents with an HTML 404 page of its own,
    so it is left out here; it reads no files either way.
    """
    app = create_app(container)
    return sorted(
        (method, route.path)
        for route in app.routes
        if "{" in route.path and not route.path.startswith("/schema/")
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"}
    )


def _fill(template: str, value: str) -> str:
    parts = [value if part.startswith("{") else part for part in template.split("/")]
    return "/".join(parts)


# Huge query strings and headers


HUGE = [
    (b"q=" + b"a" * 1_000_000, []),
    (b"&".join(b"x%d=1" % n for n in range(50_000)), []),
    (b"limit=" + b"9" * 10_000, []),
    (b"", [(b"x-junk", b"j" * 1_000_000)]),
    (b"", [(b"x-junk-%d" % n, b"j") for n in range(10_000)]),
    (b"", [(b"x-request-id", b"r" * 100_000)]),
    (b"", [(b"accept", b"*/*;" * 100_000)]),
]


async def test_huge_query_strings_and_headers_are_answered_without_a_500(
    browser: Browser, container: Container
) -> None:
    world = await a_world(browser)
    app = create_asgi(container)

    for query, headers in HUGE:
        answer = await send_raw(
            app, RawRequest("GET", f"/api/v1/forums/{world.forum['id']}/ideas", query, headers)
        )

        assert answer.status in {200, 400, 413, 422, 431}, answer.body[:200]
        assert len(answer.headers.get("x-request-id", "")) <= 64
        if answer.status >= 400:
            assert_problem(answer.status, answer.headers["content-type"], answer.json())


# Header and cookie tampering


TAMPERED_COOKIES = [
    b"cc_session=%%%garbage%%%",
    b"cc_session=" + b"a" * 100_000,
    b"cc_session=ab%00cd",
    b"cc_session=\xe9\xff\xfe",
    b"cc_session=",
    b"cc_session",
    b";;;=;=;cc_session=;;",
    b"; ".join(b"c%d=v" % n for n in range(5_000)),
]


async def test_a_tampered_session_cookie_is_treated_as_signed_out(container: Container) -> None:
    app = create_asgi(container)

    for cookie in TAMPERED_COOKIES:
        me = await send_raw(app, RawRequest("GET", "/api/v1/me", headers=[(b"cookie", cookie)]))
        vendor = await send_raw(
            app,
            RawRequest(
                "POST",
                "/api/v1/vendors",
                headers=[(b"cookie", cookie), (b"content-type", b"application/json")],
                chunks=[b'{"name": "V", "slug": "tampered"}'],
            ),
        )

        assert me.status == 401, cookie[:40]
        assert_problem(401, me.headers["content-type"], me.json())
        assert vendor.status in {401, 403}, cookie[:40]
        assert_problem(vendor.status, vendor.headers["content-type"], vendor.json())


async def test_a_session_token_with_one_character_changed_is_signed_out(browser: Browser) -> None:
    client = await person(browser)
    await sign_up(client)
    token = client.cookies["cc_session"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")

    client.cookies.set("cc_session", forged)
    response = await client.get("/api/v1/me")

    assert response.status_code == 401


async def test_two_session_cookies_never_mix_two_people(browser: Browser) -> None:
    ada, bob = await person(browser), await person(browser)
    await sign_up(ada, "Ada Lovelace")
    await sign_up(bob, "Bob Babbage")
    both = f"cc_session={ada.cookies['cc_session']}; cc_session={bob.cookies['cc_session']}"
    anonymous = await person(browser)

    response = await anonymous.get("/api/v1/me", headers={"cookie": both})

    assert response.status_code in {200, 401}
    if response.status_code == 200:
        assert response.json()["name"] in {"Ada Lovelace", "Bob Babbage"}


# HTML and script: JSON carries them verbatim; escaping is the pages' job

HTML = "<script>alert('x')</script><img src=x onerror=\"alert(1)\"> &amp; </textarea>"


async def test_html_and_script_in_every_text_field_come_back_verbatim_in_json(
    browser: Browser,
) -> None:
    client = await person(browser)
    user = await sign_up(client, HTML)
    vendor = await client.post("/api/v1/vendors", json={"name": HTML, "slug": unique("h")})
    forum = await client.post(
        f"/api/v1/vendors/{vendor.json()['id']}/forums", json={"name": HTML, "slug": "h"}
    )
    idea = await client.post(
        f"/api/v1/forums/{forum.json()['id']}/ideas", json={"summary": HTML, "description": HTML}
    )
    comment = await client.post(f"/api/v1/ideas/{idea.json()['id']}/comments", json={"body": HTML})

    shown = await client.get(f"/api/v1/ideas/{idea.json()['id']}")
    comments = await client.get(f"/api/v1/ideas/{idea.json()['id']}/comments")

    assert user["name"] == vendor.json()["name"] == forum.json()["name"] == HTML
    assert shown.json()["summary"] == shown.json()["description"] == HTML
    assert shown.json()["author"]["name"] == HTML
    assert comment.json()["body"] == comments.json()["items"][0]["body"] == HTML
    assert shown.headers["content-type"].startswith("application/json")


# CR/LF: names and summaries are one line (they reach email subjects and headers)


async def test_cr_and_lf_in_names_and_summaries_are_stored_as_one_line(browser: Browser) -> None:
    injected = "Hello\r\nBcc: victim@example.org\r\n\r\nbody\rmore\nend"
    one_line = "Hello Bcc: victim@example.org body more end"
    client = await person(browser)
    await sign_up(client, injected)
    vendor = await client.post("/api/v1/vendors", json={"name": injected, "slug": unique("c")})
    forum = await client.post(
        f"/api/v1/vendors/{vendor.json()['id']}/forums", json={"name": injected, "slug": "c"}
    )
    idea = await client.post(
        f"/api/v1/forums/{forum.json()['id']}/ideas", json={"summary": injected}
    )

    me = (await client.get("/api/v1/me")).json()
    shown_vendor = (await client.get(f"/api/v1/vendors/{vendor.json()['id']}")).json()
    shown_forum = (await client.get(f"/api/v1/forums/{forum.json()['id']}")).json()
    shown_idea = (await client.get(f"/api/v1/ideas/{idea.json()['id']}")).json()

    assert me["name"] == shown_vendor["name"] == shown_forum["name"] == one_line
    assert shown_idea["summary"] == one_line


# Path traversal

TRAVERSALS = [
    ("../../../../etc/passwd", b"../../../../etc/passwd"),
    ("../../../../etc/passwd", b"..%2F..%2F..%2F..%2Fetc%2Fpasswd"),
    ("..%2f..%2fetc%2fpasswd", b"..%252f..%252fetc%252fpasswd"),
    ("....//....//etc/passwd", b"....//....//etc/passwd"),
    ("..\\..\\..\\windows\\win.ini", b"..%5C..%5C..%5Cwindows%5Cwin.ini"),
    ("/etc/passwd", b"%2Fetc%2Fpasswd"),
    ("..", b".."),
]


async def test_path_traversal_in_any_path_parameter_never_escapes(
    container: Container, browser: Browser
) -> None:
    await a_world(browser)
    app = create_asgi(container)

    for method, template in _routes_with_parameters(container):
        if method != "GET":
            continue
        for decoded, raw in TRAVERSALS:
            path = _fill(template, decoded)
            raw_path = _fill(template, raw.decode()).encode()

            answer = await send_raw(app, RawRequest(method, path, raw_path=raw_path))

            assert answer.status < 500, (template, raw)
            assert b"root:" not in answer.body and b"[fonts]" not in answer.body
            if answer.status >= 400:
                assert_problem(answer.status, answer.headers["content-type"], answer.json())
