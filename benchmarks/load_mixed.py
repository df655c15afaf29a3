"""Mixed load on two web processes over PostgreSQL: throughput, p50/p99 and errors per route.

Starts `customercase serve --workers 2` on a free loopback port against a fresh database on
the PostgreSQL server, signs people up, then at each concurrency level runs a mix of list,
search, vote, comment and sign-in until its request budget or its time budget is spent. Last,
the votes and comments stored must be exactly those the server acknowledged.

    .venv/bin/python benchmarks/load_mixed.py --levels 4,16,64 --requests 2000 --seconds 20

Loopback only, bounded in requests and time; it stops the server it started and drops its
database. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PASSWORD = "correct horse battery staple"  # noqa: S105 - the load test's own people
WORDS = ["dark", "mode", "export", "csv", "slack", "alerts", "mobile", "offline", "sso", "api"]
# Route -> weight in the mix; each virtual person picks one at random per request.
MIX = {"list": 35, "search": 20, "vote": 20, "comment": 15, "signin": 5, "idea": 5}
REQUEST_TIMEOUT = 30.0


# The server under test


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (uvicorn's supervisor -> its web processes)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def web_process_pids(supervisor: int) -> list[int]:
    """uvicorn's web processes: its spawned children, not multiprocessing's resource tracker."""
    found = []
    for pid in child_pids(supervisor):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            found.append(pid)
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Server:
    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]

    @property
    def web_pids(self) -> list[int]:
        return web_process_pids(self.process.pid)


def _environment(database_url: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        CUSTOMERCASE_DATABASE_URL=database_url,
        CUSTOMERCASE_HOST="127.0.0.1",
        CUSTOMERCASE_PORT=str(port),
        CUSTOMERCASE_LOG_LEVEL="warning",
        CUSTOMERCASE_SECRET_KEY="load-test-only-" + uuid.uuid4().hex,
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from customercase.entrypoints.cli import main; main()", *args]


@asynccontextmanager
async def serving(server_url: str, workers: int) -> AsyncIterator[Server]:
    """A fresh database on `server_url`, migrated, and `customercase serve` on it."""
    host = urlsplit(server_url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"Refusing a database that is not on loopback: {host}")
    name = f"cc_load_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = server_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    database_url = f"{base}/{name}"
    port = free_port()
    env = _environment(database_url, port)
    process: subprocess.Popen[bytes] | None = None
    try:
        migrate = _cli("migrate")
        await asyncio.to_thread(subprocess.run, migrate, env=env, check=True, capture_output=True)
        serve = _cli("serve", "--workers", str(workers), "--port", str(port))
        process = subprocess.Popen(serve, env=env)  # noqa: ASYNC220 - our own command line
        server = Server(f"http://127.0.0.1:{port}", database_url, process)
        await _wait_ready(server, workers)
        yield server
    finally:
        if process is not None:
            _stop(process)
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _wait_ready(server: Server, workers: int) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit("The server exited while starting.")
            try:
                if (await client.get("/readyz")).status_code == 200 and len(
                    server.web_pids
                ) >= workers:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("The server did not become ready within 60 s.")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the supervisor we started (it stops its workers); SIGKILL if it lingers."""
    workers = child_pids(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *workers]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


# People and what the server acknowledged


@dataclass
class Person:
    client: httpx.AsyncClient
    user_id: str
    email: str
    address: str


def address_of(n: int) -> dict[str, str]:
    """A forwarded address of a person's own: the server trusts X-Forwarded-For from loopback
    (uvicorn's proxy headers), so per-address rate limits see people, not the load generator."""
    return {"x-forwarded-for": f"10.1.{n // 250}.{n % 250 + 1}"}


@dataclass
class Ledger:
    """Writes the server acknowledged, to compare with what is stored afterwards."""

    votes: set[tuple[str, str]] = field(default_factory=set)
    comments: set[str] = field(default_factory=set)
    ideas: set[str] = field(default_factory=set)


@dataclass
class Stats:
    """Latencies (seconds) and statuses per route; status 0 is a timeout or a broken connection."""

    samples: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0

    def record(self, route: str, seconds: float, status: int) -> None:
        self.samples[route].append((seconds, status))

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.samples.values())


def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    token = client.cookies.get("csrftoken")
    return {"x-csrftoken": token} if token else {}


async def sign_up_people(base_url: str, count: int) -> list[Person]:
    async def one(n: int) -> Person:
        client = httpx.AsyncClient(
            base_url=base_url, timeout=REQUEST_TIMEOUT, headers=address_of(n)
        )
        await client.get("/api/v1/me")  # picks up a CSRF cookie when the app sets one
        email = f"load-{n}-{uuid.uuid4().hex[:8]}@example.org"
        response = await client.post(
            "/api/v1/auth/signup",
            json={"email": email, "name": f"Person {n}", "password": PASSWORD},
            headers=_csrf(client),
        )
        response.raise_for_status()
        return Person(client, response.json()["id"], email, address_of(n)["x-forwarded-for"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def open_forum(owner: Person, ideas: int) -> tuple[str, list[str]]:
    client = owner.client
    vendor = await client.post(
        "/api/v1/vendors",
        json={"name": "Load", "slug": uuid.uuid4().hex[:12]},
        headers=_csrf(client),
    )
    vendor.raise_for_status()
    forum = await client.post(
        f"/api/v1/vendors/{vendor.json()['id']}/forums",
        json={"name": "Load", "slug": "load"},
        headers=_csrf(client),
    )
    forum.raise_for_status()
    forum_id = forum.json()["id"]
    ids = []
    for n in range(ideas):
        summary = f"{WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} idea {n}"
        idea = await client.post(
            f"/api/v1/forums/{forum_id}/ideas", json={"summary": summary}, headers=_csrf(client)
        )
        idea.raise_for_status()
        ids.append(idea.json()["id"])
    return forum_id, ids


# The workload


@dataclass
class Workload:
    base_url: str
    forum_id: str
    idea_ids: list[str]
    ledger: Ledger
    rng: random.Random

    async def one(self, person: Person, stats: Stats) -> None:
        """One request of the mix, timed and recorded."""
        route = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        action: Callable[[Person], Awaitable[httpx.Response]] = getattr(self, route)
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(action(person), REQUEST_TIMEOUT)
            status = response.status_code
        except (httpx.TransportError, TimeoutError):
            status = 0
        stats.record(route, time.monotonic() - started, status)

    async def list(self, person: Person) -> httpx.Response:
        sort = self.rng.choice(["top", "new", "trending"])
        return await person.client.get(f"/api/v1/forums/{self.forum_id}/ideas?sort={sort}")

    async def search(self, person: Person) -> httpx.Response:
        q = self.rng.choice(WORDS)
        return await person.client.get(f"/api/v1/forums/{self.forum_id}/ideas", params={"q": q})

    async def vote(self, person: Person) -> httpx.Response:
        idea = self.rng.choice(self.idea_ids)
        response = await person.client.put(
            f"/api/v1/ideas/{idea}/vote", headers=_csrf(person.client)
        )
        if response.status_code == 200:
            self.ledger.votes.add((idea, person.user_id))
        return response

    async def comment(self, person: Person) -> httpx.Response:
        idea = self.rng.choice(self.idea_ids)
        response = await person.client.post(
            f"/api/v1/ideas/{idea}/comments",
            json={"body": f"Me too, {self.rng.random()}"},
            headers=_csrf(person.client),
        )
        if response.status_code in (201, 202):
            self.ledger.comments.add(response.json()["id"])
        return response

    async def idea(self, person: Person) -> httpx.Response:
        summary = f"{self.rng.choice(WORDS)} please {uuid.uuid4().hex[:6]}"
        response = await person.client.post(
            f"/api/v1/forums/{self.forum_id}/ideas",
            json={"summary": summary},
            headers=_csrf(person.client),
        )
        if response.status_code in (201, 202):
            self.ledger.ideas.add(response.json()["id"])
        return response

    async def signin(self, person: Person) -> httpx.Response:
        # A browser of its own, so the person's session in the loop stays as it is.
        headers = {"x-forwarded-for": person.address}
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=REQUEST_TIMEOUT, headers=headers
        ) as fresh:
            return await fresh.post(
                "/api/v1/auth/signin", json={"email": person.email, "password": PASSWORD}
            )


async def run_level(
    workload: Workload, people: list[Person], concurrency: int, budget: int, seconds: float
) -> Stats:
    """`concurrency` people at once until `budget` requests or `seconds` have passed."""
    stats = Stats()
    deadline = stats.started + seconds
    remaining = budget

    async def loop(person: Person) -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            await workload.one(person, stats)

    await asyncio.gather(*(loop(p) for p in people[:concurrency]))
    stats.ended = time.monotonic()
    return stats


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(concurrency: int, stats: Stats) -> float:
    """Print one level's table; return its error rate."""
    elapsed = max(stats.ended - stats.started, 1e-9)
    print(
        f"\nconcurrency {concurrency}: {stats.count} requests in {elapsed:.1f}s, "
        f"{stats.count / elapsed:.0f} req/s"
    )
    print(
        f"  {'route':8} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'429s':>6}"
    )
    failures = 0
    for route in MIX:
        samples = stats.samples.get(route, [])
        if not samples:
            continue
        latencies = [s for s, _ in samples]
        errors = sum(1 for _, status in samples if status == 0 or status >= 500)
        limited = sum(1 for _, status in samples if status == 429)
        failures += errors
        print(
            f"  {route:8} {len(samples):>8} {len(samples) / elapsed:>7.1f} "
            f"{percentile(latencies, 0.5) * 1000:>8.1f} {percentile(latencies, 0.99) * 1000:>8.1f} "
            f"{errors / len(samples):>7.2%} {limited:>6}"
        )
    return failures / max(stats.count, 1)


async def check_ledger(database_url: str, forum_id: str, owner: str, ledger: Ledger) -> list[str]:
    """Differences between what was acknowledged and what is stored; empty when they agree."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        ideas = await conn.fetch(
            "SELECT id, votes, comments FROM ideas WHERE forum_id = $1", forum_id
        )
        ids = [r["id"] for r in ideas]
        votes = {
            (r["idea_id"], r["user_id"])
            for r in await conn.fetch(
                "SELECT idea_id, user_id FROM votes WHERE idea_id = ANY($1::text[])", ids
            )
        }
        comments = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM comments WHERE idea_id = ANY($1::text[])", ids
            )
        }
    finally:
        await conn.close()
    # Every idea's author voted for it on submitting; those votes were never "voted".
    authored = {(i, owner) for i in ids} | {(i, u) for i, u in votes if i in ledger.ideas}
    problems = []
    cast = votes - authored
    if cast != ledger.votes - authored:
        problems.append(
            f"votes: {len(ledger.votes - authored)} acknowledged, {len(cast)} stored, "
            f"{len(ledger.votes - votes)} acknowledged but missing"
        )
    if comments != ledger.comments:
        problems.append(
            f"comments: {len(ledger.comments)} acknowledged, {len(comments)} stored, "
            f"{len(ledger.comments - comments)} acknowledged but missing"
        )
    if not ledger.ideas <= set(ids):
        problems.append(f"ideas: {len(ledger.ideas - set(ids))} acknowledged but missing")
    if sum(r["votes"] for r in ideas) != len(votes):
        problems.append("idea vote counters differ from the vote rows")
    if sum(r["comments"] for r in ideas) != len(comments):
        problems.append("idea comment counters differ from the comment rows")
    print(
        f"\nacknowledged: {len(ledger.votes)} votes, {len(ledger.comments)} comments; "
        f"stored: {len(cast)} votes (besides authors' own), {len(comments)} comments"
    )
    return problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server on loopback; a database is made and dropped",
    )
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument("--levels", default="4,16,64", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, default=2000, help="request budget per level")
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per level")
    parser.add_argument("--ideas", type=int, default=40, help="ideas in the forum at the start")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    levels = [int(n) for n in args.levels.split(",")]
    async with serving(args.postgres, args.workers) as server:
        people = await sign_up_people(server.base_url, max(levels) + 1)
        owner, people = people[0], people[1:]
        forum_id, idea_ids = await open_forum(owner, args.ideas)
        ledger = Ledger()
        workload = Workload(server.base_url, forum_id, idea_ids, ledger, random.Random(args.seed))
        print(
            f"{args.workers} web processes {server.web_pids} on {server.base_url}, "
            f"{len(people)} people, {len(idea_ids)} ideas"
        )
        worst = 0.0
        for concurrency in levels:
            stats = await run_level(workload, people, concurrency, args.requests, args.seconds)
            worst = max(worst, report(concurrency, stats))
        problems = await check_ledger(server.database_url, forum_id, owner.user_id, ledger)
        for person in [owner, *people]:
            await person.client.aclose()
    for problem in problems:
        print(f"MISMATCH {problem}")
    print("OK: stored votes and comments equal the acknowledged ones" if not problems else "")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
