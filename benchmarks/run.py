"""`make bench`: seed, serve as production does, load every hot route, print and save the figures.

Figures are per *server CPU-second* (the web process's utime+stime from /proc, before and after),
which other processes on the box barely move; req/s and latency are shown too but depend on the
load generator sharing the machine. The web server is pinned to one core and this process (the
load generator) to the other; PostgreSQL runs where the kernel puts it, and its CPU per request
is shown separately.

    python benchmarks/run.py --scale 0.01          # a quick look while developing
    python benchmarks/run.py                       # the full seed (built once, then reused)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import asyncpg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import load  # noqa: E402
import seed  # noqa: E402
from load import Identity, Request  # noqa: E402

from customercase.domain.trending import heat_of  # noqa: E402
from customercase.domain.users import hash_token  # noqa: E402

RESULTS = HERE / "results"
TICK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, LOAD_CPU = 0, 1

# The figures (issue 9), measured on a machine like ours, and its goals.
REFERENCE: dict[str, tuple[str, str]] = {
    "ceiling": ("≈15,500 (uvicorn); 26,000 granian", ""),
    "list_anon": ("≈1,200 ORM, ≈1,600 Core", "≥ 4,000"),
    "list_signed_in": ("", "≥ 2,500"),
    "idea": ("", ""),
    "comments": ("", ""),
    "vote_unvote": ("≈770 ORM", "≥ 1,500, exact"),
    "comment": ("", "≥ 1,000"),
    "sign_in": ("≈60 per core-s (argon2id 17 ms)", ""),
    "search": ("p50 ≈ 2 ms, p95 ≈ 50 ms (FTS)", "p95 < 20 ms"),
    "similar": ("", ""),
    "inbound": ("", ""),
    "search_1m": ("p50 ≈ 2 ms, p95 ≈ 50 ms (FTS)", "p95 < 20 ms"),
    "sqlite_list_anon": ("", ""),
    "sqlite_vote_unvote": ("p99 ≈ 820 ms at 50 conns", "p99 < 100 ms"),
}
QUERY_REFERENCE = {
    "service_as_served": "745 µs ORM, 558 µs Core",
    "service_with_pre_ping": "",
    "service_autocommit": "",
    "repository_list_only": "",
    "sqlalchemy_core_bare": "558 µs (Core)",
    "asyncpg_raw": "136 µs",
    "asyncpg_mapped": "",
}


# ---------------------------------------------------------------- processes and their CPU


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (their titles name it), so that
    other databases on the same server (test suites running alongside) are not counted."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if title.startswith("postgres: ") and f" {database} " in title:
                    found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def postgres_cpu_since(database: str, before: dict[int, float]) -> float:
    """CPU the backends spent since `before`; a backend that exited in between is not counted
    (the pool closes overflow connections), so this is a lower bound."""
    now = postgres_cpu(database)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pin(pid: int, cpu: int) -> None:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu})


class Server:
    """A web server in a subprocess on loopback, pinned to one core."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.log = Path(tempfile.gettempdir()) / f"customercase-bench-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, ready_path: str) -> None:
        with self.log.open("wb") as log:
            # Popen returns at once; the wait for readiness below is asynchronous.
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log)  # noqa: ASYNC220
        pin(self.proc.pid, SERVER_CPU)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                conn = load.Connection("127.0.0.1", self.port)
                status, _ = await conn.send(Request("GET", ready_path), Identity())
                await conn.close()
                if status == 200:
                    return
            await asyncio.sleep(0.2)
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def app_server(name: str, database_url: str, env_extra: dict[str, str] | None = None) -> Server:
    """`customercase serve`, exactly as an operator starts it (one worker)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE.parent / "src"),
        "CUSTOMERCASE_DATABASE_URL": database_url,
        "CUSTOMERCASE_SECRET_KEY": secrets.token_urlsafe(48),
        "CUSTOMERCASE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(env_extra or {}),
    }
    argv = [seed.customercase_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(name, argv, env, port)


def ceiling_server() -> Server:
    """A bare Litestar JSON route under uvicorn with the options `customercase serve` uses."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "ceiling:app",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return Server("ceiling", argv, dict(os.environ), port)


# ---------------------------------------------------------------- one route under load


@dataclass(slots=True)
class Bounds:
    requests: int
    seconds: float
    concurrency: int
    # Runs of the route, one after another; the figures are the median run's by requests per
    # CPU-second (the box's speed drifts by ±25 % within minutes: see docs/performance.md).
    rounds: int = 1


@dataclass(slots=True)
class RouteResult:
    route: str
    server: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    statuses: dict[str, int]
    server_cpu_s: float
    req_per_cpu_s: float
    pg_cpu_us_per_req: float | None
    load_average: tuple[float, float] = (0.0, 0.0)
    rss_after_mb: float = 0.0
    vs_ceiling: float | None = None
    reference: str = ""
    goal: str = ""
    notes: list[str] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # req per CPU-s of each run, in order


ScriptMaker = Callable[[int], tuple[Identity, load.Script]]


async def measure(
    route: str, server: Server, scripts: ScriptMaker, bounds: Bounds, *, database: str | None = None
) -> RouteResult:
    warm = load.drive(
        "127.0.0.1", server.port, scripts, concurrency=bounds.concurrency,
        max_requests=min(300, bounds.requests // 5 + 2), max_seconds=3,
    )  # fmt: skip
    await warm
    load_before = load_average()
    runs = []
    for _ in range(max(1, bounds.rounds)):
        cpu0, pg0 = cpu_seconds(server.pid), postgres_cpu(database) if database else {}
        tally = await load.drive(
            "127.0.0.1", server.port, scripts, concurrency=bounds.concurrency,
            max_requests=bounds.requests, max_seconds=bounds.seconds,
        )  # fmt: skip
        cpu = cpu_seconds(server.pid) - cpu0
        pg = postgres_cpu_since(database, pg0) if database else None
        runs.append((tally.count / cpu if cpu > 0 else 0.0, tally, cpu, pg))
    rates = [r[0] for r in runs]
    _, tally, cpu, pg = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    wall = tally.ended - tally.started
    count = tally.count + tally.statuses.get(0, 0)
    reference, goal = REFERENCE.get(route, ("", ""))
    result = RouteResult(
        route=route,
        server=server.name,
        concurrency=bounds.concurrency,
        requests=count,
        seconds=round(wall, 2),
        rps=round(tally.count / wall, 1),
        p50_ms=round(tally.percentile(50) * 1000, 2),
        p95_ms=round(tally.percentile(95) * 1000, 2),
        p99_ms=round(tally.percentile(99) * 1000, 2),
        error_rate=round(tally.errors / max(count, 1), 4),
        statuses={str(k): v for k, v in sorted(tally.statuses.items())},
        server_cpu_s=round(cpu, 2),
        req_per_cpu_s=round(tally.count / cpu, 1) if cpu > 0 else float("nan"),
        pg_cpu_us_per_req=round(pg / max(tally.count, 1) * 1e6) if pg is not None else None,
        load_average=(load_before, load_average()),
        rss_after_mb=round(rss_mb(server.pid), 1),
        reference=reference,
        goal=goal,
        rounds=[round(r, 1) for r in rates] if len(rates) > 1 else [],
    )
    spread = f"  runs {' '.join(f'{r:,.0f}' for r in rates)}" if len(rates) > 1 else ""
    print(
        f"  {route:<20} {result.requests:>6} req  {result.req_per_cpu_s:>8,.0f} req/CPU-s  "
        f"p50 {result.p50_ms:>7.1f} ms  p99 {result.p99_ms:>7.1f} ms  "
        f"errors {result.error_rate:.1%}{spread}",
        flush=True,
    )
    return result


# ---------------------------------------------------------------- PostgreSQL fixtures per run


@dataclass(slots=True)
class Fixture:
    forum_id: str
    idea_ids: list[str]
    commented_ids: list[str]
    tokens: list[str]
    mailbox_hash: str = ""
    summaries: list[str] = field(default_factory=list)  # seeded ones, for similar-ideas queries


async def undo_pool_votes(conn: asyncpg.Connection, pool_ids: list[str]) -> int:
    """Withdraw votes the pool users left behind (an interrupted run), counters included."""
    gone = await conn.fetch(
        "DELETE FROM votes WHERE user_id = ANY($1::text[]) RETURNING idea_id, created_at", pool_ids
    )
    for row in gone:
        await conn.execute(
            "UPDATE ideas SET votes = votes - 1, heat = heat - $2 WHERE id = $1",
            row["idea_id"],
            heat_of(row["created_at"]),
        )
    return len(gone)


async def new_sessions(conn: asyncpg.Connection, user_ids: list[str], now: datetime) -> list[str]:
    """A fresh session row per user (as sign-in would write it); the tokens for the cookies."""
    await conn.execute("DELETE FROM sessions WHERE user_id = ANY($1::text[])", user_ids)
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    await conn.executemany(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at)"
        " VALUES ($1, $2, $3, $3)",
        [(hash_token(tok), uid, now) for tok, uid in zip(tokens, user_ids, strict=True)],
    )
    return tokens


async def pg_fixture(s: seed.Seed, sessions: int) -> Fixture:
    conn = await asyncpg.connect(seed.dsn(s.database))
    try:
        pool = [seed.pool_user_id(n) for n in range(seed.POOL_USERS)]
        left = await undo_pool_votes(conn, pool)
        if left:
            print(f"  withdrew {left} votes an interrupted run left behind")
        tokens = await new_sessions(conn, pool[:sessions], datetime.now(UTC))
        ideas = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM ideas WHERE forum_id = $1 ORDER BY random() LIMIT 2000", s.forum_id
            )
        ]
        commented = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM ideas WHERE forum_id = $1 AND comments > 0"
                " ORDER BY random() LIMIT 2000",
                s.forum_id,
            )
        ]
        summaries = [
            r["summary"]
            for r in await conn.fetch(
                "SELECT summary FROM ideas WHERE forum_id = $1 ORDER BY random() LIMIT 1000",
                s.forum_id,
            )
        ]
        mailbox_hash = await conn.fetchval(
            "SELECT mailbox_hash FROM forums WHERE id = $1", s.forum_id
        )
    finally:
        await conn.close()
    return Fixture(s.forum_id, ideas, commented, tokens, mailbox_hash, summaries)


async def counters_exact(dsn: str, idea_ids: list[str]) -> int:
    """How many of these ideas have a vote counter that differs from their vote rows."""
    conn = await asyncpg.connect(dsn)
    try:
        wrong: int = await conn.fetchval(
            "SELECT count(*) FROM ideas i WHERE i.id = ANY($1::text[])"
            " AND i.votes <> (SELECT count(*) FROM votes v WHERE v.idea_id = i.id)",
            idea_ids,
        )
    finally:
        await conn.close()
    return wrong


# ---------------------------------------------------------------- the routes


def scripts_for(fx: Fixture, identities: list[Identity]) -> dict[str, ScriptMaker]:
    rng = random.Random(7)
    anon = Identity()
    forum_list = f"/api/v1/forums/{fx.forum_id}/ideas?sort=top&limit=20"
    comment_body = json.dumps({"body": "Measured, and it would help us too."}).encode()

    def list_anon(_: int) -> tuple[Identity, load.Script]:
        return anon, [Request("GET", forum_list)]

    def list_signed_in(worker: int) -> tuple[Identity, load.Script]:
        return identities[worker], [Request("GET", forum_list)]

    def idea(_: int) -> tuple[Identity, load.Script]:
        return anon, [Request("GET", f"/api/v1/ideas/{rng.choice(fx.idea_ids)}")]

    def comments(_: int) -> tuple[Identity, load.Script]:
        return anon, [Request("GET", f"/api/v1/ideas/{rng.choice(fx.commented_ids)}/comments")]

    def vote_unvote(worker: int) -> tuple[Identity, load.Script]:
        path = f"/api/v1/ideas/{rng.choice(fx.idea_ids)}/vote"
        return identities[worker], [Request("PUT", path), Request("DELETE", path)]

    def comment(worker: int) -> tuple[Identity, load.Script]:
        path = f"/api/v1/ideas/{rng.choice(fx.idea_ids)}/comments"
        return identities[worker], [Request("POST", path, comment_body, expect=(201,))]

    similar_queries = itertools.cycle(similar_texts(fx.summaries or ["dark mode"]))

    def similar(_: int) -> tuple[Identity, load.Script]:
        q = quote_plus(next(similar_queries))
        return anon, [Request("GET", f"/api/v1/forums/{fx.forum_id}/ideas/similar?q={q}")]

    return {
        "list_anon": list_anon,
        "list_signed_in": list_signed_in,
        "idea": idea,
        "comments": comments,
        "vote_unvote": vote_unvote,
        "comment": comment,
        "search": search_scripts(fx.forum_id),
        "similar": similar,
    }


def search_queries(count: int = 1000) -> list[str]:
    """What people type in the search box: 1-3 words drawn as the seeded summaries draw them
    (Zipf-like, so common words that match a large share of the forum and rare ones), the last
    cut short as if still typing (bench_search.py does the same)."""
    rng = random.Random(9)
    queries = []
    for _ in range(count):
        words = rng.choices(seed.WORDS, seed.WORD_WEIGHTS, k=rng.randint(1, 3))
        words[-1] = words[-1][: max(3, len(words[-1]) - rng.randint(0, 3))]
        queries.append(" ".join(words))
    return queries


def similar_texts(summaries: list[str]) -> list[str]:
    """What the submit form sends for similar ideas: a summary already in the forum, as someone
    else would word it: words shuffled, one letter pair swapped, the last word cut short."""
    rng = random.Random(11)
    texts = []
    for summary in summaries:
        words = summary.lower().split()
        rng.shuffle(words)
        i = rng.randrange(len(words))
        if len(words[i]) > 3:
            j = rng.randrange(len(words[i]) - 1)
            words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2 :]
        words[-1] = words[-1][: max(3, len(words[-1]) - rng.randint(0, 3))]
        texts.append(" ".join(words))
    return texts


def search_scripts(forum_id: str) -> ScriptMaker:
    queries = itertools.cycle(search_queries())
    anon = Identity()

    def search(_: int) -> tuple[Identity, load.Script]:
        q = quote_plus(next(queries))
        return anon, [Request("GET", f"/api/v1/forums/{forum_id}/ideas?q={q}&limit=20")]

    return search


# Sign-in is rate limited per account (10) and per address (60) in 15 minutes, by constants
# (domain/limits.py): each request comes from an address of its own (X-Forwarded-For, which
# `customercase serve` trusts from 127.0.0.1, FORWARDED_ALLOW_IPS' default) and the accounts
# take turns, so every attempt is counted (that cost is measured) and none is refused.
SIGN_IN_ACCOUNTS = 400


def sign_in_accounts() -> list[int]:
    """Pool users from the end of the pool: the signed-in browsers use its start."""
    return [seed.POOL_USERS - 1 - n for n in range(SIGN_IN_ACCOUNTS)]


async def sign_in_fixture(database: str, app_env: dict[str, str]) -> None:
    """The sign-in accounts with a hash of the app's configured argon2 cost (the seed's cheaper
    one would be rehashed on every sign-in), no sessions, and no rate-limit counters left."""
    import argon2

    from customercase.bootstrap import read_settings

    settings = read_settings(app_env)
    hasher = argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=argon2.Type.ID,
    )
    password_hash = hasher.hash(seed.PASSWORD)
    ids = [seed.pool_user_id(n) for n in sign_in_accounts()]
    conn = await asyncpg.connect(seed.dsn(database))
    try:
        await conn.execute(
            "UPDATE users SET password_hash = $1 WHERE id = ANY($2::text[])", password_hash, ids
        )
        await conn.execute("DELETE FROM sessions WHERE user_id = ANY($1::text[])", ids)
        await conn.execute("DELETE FROM rate_limits")
    finally:
        await conn.close()


def sign_in_scripts(identities: list[Identity]) -> ScriptMaker:
    accounts = sign_in_accounts()
    turn = itertools.count()

    def sign_in(worker: int) -> tuple[Identity, load.Script]:
        n = next(turn)
        email = seed.pool_email(accounts[n % len(accounts)])
        body = json.dumps({"email": email, "password": seed.PASSWORD}).encode()
        # 198.18.0.0/15 is set aside for benchmarks (RFC 2544): 131,072 addresses, one each.
        address = f"198.{18 + (n >> 16) % 2}.{(n >> 8) % 256}.{n % 256}"
        request = Request(
            "POST", "/api/v1/auth/signin", body, headers=(("X-Forwarded-For", address),)
        )
        return identities[worker], [request]

    return sign_in


# Basic-auth credentials of the inbound webhook, set in the served app's environment only.
INBOUND_USER, INBOUND_PASSWORD = "bench", secrets.token_urlsafe(16)
INBOUND_ENV = {
    "CUSTOMERCASE_POSTMARK_INBOUND_USERNAME": INBOUND_USER,
    "CUSTOMERCASE_POSTMARK_INBOUND_PASSWORD": INBOUND_PASSWORD,
}


def inbound_scripts(fx: Fixture, app_env: dict[str, str], users: int) -> ScriptMaker:
    """Postmark's inbound JSON from seeded users to the forum's mailbox, each a new MessageID:
    half are new requests (an idea each), half replies to a notification about an idea (a
    comment each, addressed as our reply addresses are: the forum hash, the idea, signed)."""
    from customercase.bootstrap import build_addressing, read_settings
    from customercase.domain.ids import IdeaId

    signer = build_addressing(read_settings(app_env)).signer
    rng = random.Random(13)
    texts = similar_texts(fx.summaries or ["dark mode"])
    auth = base64.b64encode(f"{INBOUND_USER}:{INBOUND_PASSWORD}".encode()).decode()
    headers = (("Authorization", f"Basic {auth}"),)
    anon = Identity()
    turn = itertools.count()

    def inbound(_: int) -> tuple[Identity, load.Script]:
        n = next(turn)
        sender = f"user{rng.randrange(users)}@bench.customercase.test"
        reply_to = rng.choice(fx.idea_ids) if n % 2 else None
        mailbox = signer.reply_hash(fx.mailbox_hash, IdeaId(reply_to) if reply_to else None)
        to = f"inbox+{mailbox}@inbound.bench.test"
        text = texts[n % len(texts)].capitalize()
        body = {
            "MessageID": str(uuid.uuid4()),
            "From": sender,
            "FromName": "Bench User",
            "FromFull": {"Email": sender, "Name": "Bench User", "MailboxHash": ""},
            "To": to,
            "ToFull": [{"Email": to, "Name": "", "MailboxHash": mailbox}],
            "MailboxHash": mailbox,
            "Subject": f"Re: {text}" if reply_to else text,
            "TextBody": f"{text}, please. Our team would use it every day.\n\nPat\n",
            "HtmlBody": "",
            "StrippedTextReply": f"Yes, {text.lower()} would help us too." if reply_to else "",
            "Headers": [
                {"Name": "X-Spam-Status", "Value": "No"},
                {"Name": "Message-ID", "Value": f"<{uuid.uuid4().hex}@mail.bench.test>"},
            ],
            "Attachments": [],
        }
        path = "/webhooks/postmark/inbound"
        return anon, [Request("POST", path, json.dumps(body).encode(), headers=headers)]

    return inbound


async def signed_in(server: Server, tokens: list[str], prime_path: str) -> list[Identity]:
    """One browser per token, holding whatever cookies the server hands out (CSRF)."""
    identities = [Identity({"cc_session": token}) for token in tokens]
    for who in identities:
        await load.prime("127.0.0.1", server.port, who, prime_path)
    return identities


# ---------------------------------------------------------------- per-query CPU, in process


async def query_costs(database: str, forum_id: str, iterations: int) -> dict[str, dict[str, float]]:
    """CPU and wall time per top-20 query: through the repository, bare Core, raw asyncpg."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from customercase.adapters.sql import tables as t
    from customercase.adapters.sql.engine import make_engine
    from customercase.adapters.sql.repositories import SqlIdeaRepository
    from customercase.adapters.sql.uow import SqlUnitOfWork
    from customercase.domain.ideas import IdeaQuery, Sort
    from customercase.domain.ids import ForumId
    from customercase.services.ideas import list_ideas

    engine = make_engine(seed.app_url(database), pool_size=2)
    # The foundation's engine pinged on every checkout (pool_pre_ping): what that round trip costs.
    pinged = create_async_engine(seed.app_url(database), pool_size=2, pool_pre_ping=True)
    unpinged = create_async_engine(seed.app_url(database), pool_size=2)
    # What a read-only unit of work would save: no BEGIN and ROLLBACK round trips.
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    query = IdeaQuery(ForumId(forum_id), Sort.TOP, None, None, 20, None)
    stmt = (
        SqlIdeaRepository._views(None, None)  # type: ignore[arg-type]
        .where(t.ideas.c.forum_id == forum_id, t.ideas.c.merged_into.is_(None))
        .order_by(t.ideas.c.votes.desc(), t.ideas.c.created_at.desc(), t.ideas.c.id.desc())
        .limit(21)
    )
    raw_sql = (
        "SELECT ideas.*, author.name AS author_name, false AS voted_by_me, false AS is_watching"
        " FROM ideas JOIN users AS author ON author.id = ideas.author_id"
        " WHERE ideas.forum_id = $1 AND ideas.merged_into IS NULL"
        " ORDER BY ideas.votes DESC, ideas.created_at DESC, ideas.id DESC LIMIT 21"
    )
    pg = await asyncpg.connect(seed.dsn(database))

    async def service() -> None:
        await list_ideas(query, None, uow=SqlUnitOfWork(engine))

    async def service_pinged() -> None:
        await list_ideas(query, None, uow=SqlUnitOfWork(pinged))

    async def service_autocommit() -> None:
        await list_ideas(query, None, uow=SqlUnitOfWork(autocommit))

    async def repository() -> None:
        async with unpinged.connect() as conn:
            await SqlIdeaRepository(conn).list(query, None)

    async def core() -> None:
        async with unpinged.connect() as conn:
            (await conn.execute(stmt)).all()

    async def raw() -> None:
        await pg.fetch(raw_sql, forum_id)

    async def mapped() -> None:
        rows = await pg.fetch(raw_sql, forum_id)
        [idea_view(r) for r in rows]

    variants = {
        "service_as_served": service,
        "service_with_pre_ping": service_pinged,
        "service_autocommit": service_autocommit,
        "repository_list_only": repository,
        "sqlalchemy_core_bare": core,
        "asyncpg_raw": raw,
        "asyncpg_mapped": mapped,
    }
    # Interleaved rounds, median per variant: a busy box slows whichever variant is running.
    rounds = 5
    per_round = max(1, iterations // rounds)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    out: dict[str, dict[str, float]] = {}
    try:
        for run in variants.values():
            for _ in range(max(20, per_round // 2)):
                await run()
        for _ in range(rounds):
            for name, run in variants.items():
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(per_round):
                    await run()
                samples[name].append(
                    (
                        (time.process_time() - cpu0) / per_round,
                        (time.perf_counter() - wall0) / per_round,
                    )
                )
        for name, got in samples.items():
            cpu = sorted(c for c, _ in got)[rounds // 2]
            wall = sorted(w for _, w in got)[rounds // 2]
            out[name] = {"cpu_us": round(cpu * 1e6), "wall_us": round(wall * 1e6)}
            print(f"  {name:<26} {cpu * 1e6:>6.0f} µs CPU  {wall * 1e6:>6.0f} µs wall per query")
    finally:
        await pg.close()
        await engine.dispose()
        await unpinged.dispose()
        await pinged.dispose()
    return out


def idea_view(r: asyncpg.Record) -> Any:
    """An asyncpg row to the domain's IdeaView, as the repository maps a SQLAlchemy row."""
    from customercase.domain.ideas import Author, Idea, IdeaView, Status
    from customercase.domain.ids import ForumId, IdeaId, UserId

    idea = Idea(
        id=IdeaId(r["id"]),
        forum_id=ForumId(r["forum_id"]),
        author_id=UserId(r["author_id"]),
        summary=r["summary"],
        description=r["description"],
        status=Status(r["status"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        votes=r["votes"],
        comments=r["comments"],
        tracker_key=r["tracker_key"],
        merged_into=IdeaId(r["merged_into"]) if r["merged_into"] else None,
    )
    return IdeaView(idea, Author(idea.author_id, r["author_name"]), r["voted_by_me"], False)


# ---------------------------------------------------------------- SQLite, the default


def seed_sqlite(path: Path, scale: float) -> tuple[str, list[str]]:
    """A small SQLite forum through the real schema; returns the forum and idea ids."""
    import sqlalchemy as sa

    from customercase.adapters.sql import tables as t

    url = f"sqlite+aiosqlite:///{path}"
    seed.migrate_url(url)
    plan = seed.Plan.at(scale)
    now = datetime.now(UTC)
    engine = sa.create_engine(f"sqlite:///{path}")
    forum_id, vendor_id = "f" * 32, "e" * 32
    with engine.begin() as conn:
        conn.execute(
            t.users.insert(),
            [dict(zip(seed.USER_COLUMNS, row, strict=True)) for row in seed.user_rows(plan, now)],
        )
        conn.execute(
            t.vendors.insert(),
            [{"id": vendor_id, "name": "Bench", "slug": "bench", "created_at": now}],
        )
        conn.execute(
            t.forums.insert(),
            [{
                "id": forum_id, "vendor_id": vendor_id, "name": "Ideas", "slug": "ideas",
                "visibility": "public", "allowed_domains": [],
                "mailbox_hash": secrets.token_hex(16), "created_at": now,
            }],
        )  # fmt: skip
        ids = []
        for ideas, votes, comments in seed.idea_chunks(plan, forum_id, now):
            conn.execute(
                t.ideas.insert(), [dict(zip(seed.IDEA_COLUMNS, r, strict=True)) for r in ideas]
            )
            conn.execute(
                t.votes.insert(), [dict(zip(seed.VOTE_COLUMNS, r, strict=True)) for r in votes]
            )
            if comments:
                conn.execute(
                    t.comments.insert(),
                    [dict(zip(seed.COMMENT_COLUMNS, r, strict=True)) for r in comments],
                )
            ids += [r[0] for r in ideas]
    engine.dispose()
    return forum_id, ids


def sqlite_sessions(path: Path, count: int) -> list[str]:
    import sqlalchemy as sa

    from customercase.adapters.sql import tables as t

    now = datetime.now(UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            t.sessions.insert(),
            [
                {
                    "token_hash": hash_token(tok),
                    "user_id": seed.pool_user_id(n),
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n, tok in enumerate(tokens)
            ],
        )
    engine.dispose()
    return tokens


# ---------------------------------------------------------------- the whole run


@dataclass(slots=True)
class Options:
    scale: float
    search: bool
    seconds: float
    requests: int
    concurrency: int
    sqlite: bool
    postgres: bool
    queries: int
    routes: list[str]
    app_env: list[str]
    out: Path
    rounds: int = 3


async def run_postgres(opts: Options, s: seed.Seed, results: dict[str, Any]) -> None:
    rows: list[RouteResult] = results["routes"]
    read = Bounds(opts.requests, opts.seconds, opts.concurrency, opts.rounds)
    write = Bounds(opts.requests // 2, opts.seconds, opts.concurrency, opts.rounds)

    print("Ceiling: bare Litestar JSON route, uvicorn + uvloop + httptools, one worker")
    ceiling = ceiling_server()
    await ceiling.start("/hello")
    try:
        hello = Identity()
        rows.append(
            await measure(
                "ceiling", ceiling, lambda _: (hello, [Request("GET", "/hello")]),
                Bounds(opts.requests * 3, opts.seconds, opts.concurrency, opts.rounds),
            )
        )  # fmt: skip
    finally:
        ceiling.stop()

    fx = await pg_fixture(s, opts.concurrency * 2)
    print(f"customercase serve on PostgreSQL ({s.database}), one worker")
    extra = {**INBOUND_ENV, **dict(kv.split("=", 1) for kv in opts.app_env)}
    app = app_server("app-postgres", seed.app_url(s.database), extra)
    prime_path = f"/api/v1/forums/{fx.forum_id}/ideas?limit=1"
    await app.start("/healthz")
    try:
        identities = await signed_in(app, fx.tokens, prime_path)
        scripts = scripts_for(fx, identities)
        for route, maker in scripts.items():
            if opts.routes and route not in opts.routes:
                continue
            bounds = write if route in ("vote_unvote", "comment") else read
            rows.append(await measure(route, app, maker, bounds, database=s.database))
        if not opts.routes or "sign_in" in opts.routes:
            await sign_in_fixture(s.database, app.env)
            who = [Identity() for _ in range(opts.concurrency)]
            for w in who:
                await load.prime("127.0.0.1", app.port, w, prime_path)
            seconds = min(opts.seconds, 10)
            rows.append(
                await measure(
                    "sign_in", app, sign_in_scripts(who),
                    Bounds(max(20, int(80 * seconds)), seconds, opts.concurrency),
                    database=s.database,
                )
            )  # fmt: skip
        if not opts.routes or "inbound" in opts.routes:
            # Last of the routes: every request adds an idea or a comment to the forum.
            rows.append(
                await measure(
                    "inbound", app, inbound_scripts(fx, app.env, s.plan.users), write,
                    database=s.database,
                )
            )  # fmt: skip
        if s.search_forum_id and (not opts.routes or "search_1m" in opts.routes):
            # The 1M-summary forum of --search; 1,000 queries at most.
            rows.append(
                await measure(
                    "search_1m", app, search_scripts(s.search_forum_id),
                    Bounds(1000, max(opts.seconds, 30), 4), database=s.database,
                )
            )  # fmt: skip
        results["memory"]["app_postgres_rss_mb"] = round(rss_mb(app.pid), 1)
    finally:
        app.stop()
    if any(r.route == "vote_unvote" for r in rows):
        wrong = await counters_exact(seed.dsn(s.database), fx.idea_ids)
        results["counters_exact"] = wrong == 0
        print(f"  vote counters exact on the {len(fx.idea_ids)} ideas voted on: {wrong == 0}")


async def run_sqlite(opts: Options, results: dict[str, Any]) -> None:
    writers = 50
    with tempfile.TemporaryDirectory(prefix="customercase-bench-") as tmp:
        path = Path(tmp) / "customercase.sqlite3"
        scale = min(opts.scale, 0.1)
        forum_id, idea_ids = seed_sqlite(path, scale)
        tokens = sqlite_sessions(path, writers)
        print(f"customercase serve on SQLite (the default; {len(idea_ids):,} ideas), one worker")
        extra = dict(kv.split("=", 1) for kv in opts.app_env)
        app = app_server("app-sqlite", f"sqlite+aiosqlite:///{path}", extra)
        await app.start("/healthz")
        try:
            fx = Fixture(forum_id, idea_ids[:2000], [], tokens)
            prime_path = f"/api/v1/forums/{forum_id}/ideas?limit=1"
            identities = await signed_in(app, tokens, prime_path)
            scripts = scripts_for(fx, identities)
            rows: list[RouteResult] = results["routes"]
            rows.append(
                await measure(
                    "sqlite_list_anon", app, scripts["list_anon"],
                    Bounds(opts.requests, opts.seconds, opts.concurrency, opts.rounds),
                )
            )  # fmt: skip
            rows.append(
                await measure(
                    "sqlite_vote_unvote", app, scripts["vote_unvote"],
                    Bounds(opts.requests // 2, opts.seconds, writers, opts.rounds),
                )
            )  # fmt: skip
            results["memory"]["app_sqlite_rss_mb"] = round(rss_mb(app.pid), 1)
        finally:
            app.stop()


def table(results: dict[str, Any]) -> Iterator[str]:
    rows: list[RouteResult] = results["routes"]
    ceiling = next((r.req_per_cpu_s for r in rows if r.route == "ceiling"), None)
    head = (
        f"{'route':<20} {'conns':>5} {'req':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>8} {'err':>6} {'CPU s':>6} {'req/CPU-s':>9} {'×ceil':>6} {'PG µs':>6}"
        "  issue says | goal"
    )
    yield head
    yield "-" * len(head)
    for r in rows:
        if ceiling and r.route != "ceiling":
            r.vs_ceiling = round(r.req_per_cpu_s / ceiling, 3)
        ratio = f"{r.vs_ceiling:.3f}" if r.vs_ceiling is not None else ""
        pg = f"{r.pg_cpu_us_per_req:,}" if r.pg_cpu_us_per_req is not None else ""
        ref = " | ".join(x for x in (r.reference, r.goal) if x)
        yield (
            f"{r.route:<20} {r.concurrency:>5} {r.requests:>6} {r.rps:>7,.0f} {r.p50_ms:>7.1f} "
            f"{r.p95_ms:>7.1f} "
            f"{r.p99_ms:>8.1f} {r.error_rate:>6.1%} {r.server_cpu_s:>6.2f} "
            f"{r.req_per_cpu_s:>9,.0f} "
            f"{ratio:>6} {pg:>6}  {ref}"
        )
    if results.get("queries"):
        yield ""
        yield f"{'top-20 of the forum, per query':<30} {'CPU µs':>7} {'wall µs':>8}  issue says"
        for name, q in results["queries"].items():
            yield f"{name:<30} {q['cpu_us']:>7,} {q['wall_us']:>8,}  {QUERY_REFERENCE[name]}"
    yield ""
    for key, value in results["memory"].items():
        yield f"{key}: {value} MB after the run (goal < 150 MB)"
    if "counters_exact" in results:
        yield f"vote counters exact after vote/unvote: {results['counters_exact']}"
    busiest = max((max(r.load_average) for r in rows), default=0.0)
    cpus = os.cpu_count() or 1
    if busiest > cpus + 0.5:
        yield (
            f"WARNING: the box was busy (load average up to {busiest:.1f} on {cpus} CPUs): req/s "
            "and latencies are not comparable between runs; per-CPU-second figures less so."
        )


def git_commit() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, check=True,
            text=True,
        ).stdout.strip()  # fmt: skip
    return ""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


async def main_async(opts: Options) -> dict[str, Any]:
    started = time.monotonic()
    pin(0, LOAD_CPU)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": cpu_model(),
            "python": platform.python_version(),
        },
        "scale": opts.scale,
        "bounds": {
            "seconds": opts.seconds,
            "requests": opts.requests,
            "concurrency": opts.concurrency,
        },
        "routes": [],
        "memory": {},
    }
    if opts.postgres:
        s = await seed.ensure_seed(opts.scale, search=opts.search)
        results["seed"] = {k: getattr(s.plan, k) for k in seed.Plan.__slots__}
        await run_postgres(opts, s, results)
        if opts.queries:
            print(f"Per-query cost of the top-20 list, {opts.queries} queries each, in process")
            results["queries"] = await query_costs(s.database, s.forum_id, opts.queries)
    if opts.sqlite:
        await run_sqlite(opts, results)
    results["total_seconds"] = round(time.monotonic() - started)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100k ideas, 1M votes")
    parser.add_argument("--search", action="store_true", help="seed the 1M-summary search forum")
    parser.add_argument("--seconds", type=float, default=12, help="longest run per route")
    parser.add_argument("--requests", type=int, default=20_000, help="most requests per route")
    parser.add_argument("--concurrency", type=int, default=16, help="connections per route")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite only")
    parser.add_argument("--queries", type=int, default=1000, help="per-query runs (0: skip)")
    parser.add_argument("--route", dest="routes", action="append", default=[], help="only these")
    parser.add_argument(
        "--app-env", action="append", default=[], metavar="NAME=VALUE",
        help="extra environment for the app server, e.g. CUSTOMERCASE_DATABASE_POOL_SIZE=20",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="runs per route; the median run's figures are reported (a drifting box)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    opts = Options(**vars(parser.parse_args()))
    results = asyncio.run(main_async(opts))
    lines = list(table(results))
    print()
    print("\n".join(lines))
    results["routes"] = [
        {k: getattr(r, k) for k in RouteResult.__slots__} for r in results["routes"]
    ]
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {opts.out} in {results['total_seconds']} s.")


if __name__ == "__main__":
    main()
