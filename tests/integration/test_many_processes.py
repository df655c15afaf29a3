"""Two web processes, two workers and two sync runners on one PostgreSQL database (issue 11).

Everything runs as the operator runs it: `customercase migrate` once, then `serve`, `worker` and
`sync --interval` as separate OS processes, with Postmark and Jira emulated over real HTTP in this
process. A mixed workload goes through both web processes and through Jira; one process of each
kind is killed with SIGKILL halfway. At the end every acknowledged write must be there, every
email must have arrived once (twice at most, across the killed worker), and every change made in
Jira must be in the forum exactly once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.engine import make_engine
from customercase.bootstrap import build_addressing, read_settings
from customercase.domain.notifications import EMAIL_KINDS, FAN_OUT, NotificationKind
from tests.emulators.jira import JiraEmulator
from tests.emulators.postmark import SENDER, TOKEN, PostmarkEmulator
from tests.emulators.serve import Served
from tests.integration.conftest import SERVER, WEBHOOK_SECRET
from tests.integration.mailflow import headers_of
from tests.integration.pg_instance import free_port
from tests.integration.walk import PASSWORD, unique

SRC = Path(__file__).resolve().parents[2] / "src"
CUSTOMERS = 6
ROUNDS_BEFORE_KILL, ROUNDS_AFTER_KILL = 4, 4
LEASE_SECONDS = 8
QUIET_DEADLINE_SECONDS = 45


# --- the processes -----------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Fleet:
    """The OS processes of one deployment; their logs go to files, shown when a test fails."""

    env: dict[str, str]
    logs: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Process:
        log = self.logs / f"{name}.log"
        command = [sys.executable, "-c", "from customercase.entrypoints.cli import main; main()"]
        with log.open("wb") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own command line
                [*command, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def run(self, name: str, *args: str) -> None:
        process = self.start(name, *args)
        code = process.popen.wait(60)
        assert code == 0, f"`customercase {' '.join(args)}` exited {code}:\n{process.tail()}"

    def report(self) -> str:
        parts = []
        for p in self.processes:
            state = "running" if p.popen.poll() is None else f"exit {p.popen.returncode}"
            parts.append(f"--- {p.name} ({state}) ---\n{p.tail()}")
        return "\n".join(parts)

    def stop_all(self) -> None:
        for p in self.processes:
            if p.popen.poll() is None:
                p.popen.terminate()
        for p in self.processes:
            try:
                p.popen.wait(15)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A database of this test's own on the suite's PostgreSQL server (see conftest.py)."""
    name = f"cc_fleet_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(SERVER, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    admin = await asyncpg.connect(SERVER, timeout=10)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
def emulators() -> Iterator[tuple[PostmarkEmulator, JiraEmulator]]:
    postmark, jira = PostmarkEmulator(), JiraEmulator()
    postmark.start()
    with Served(jira) as jira_url:
        jira.base_url = jira_url
        yield postmark, jira
    postmark.stop()


@pytest.fixture
def fleet(
    own_database: str,
    emulators: tuple[PostmarkEmulator, JiraEmulator],
    tmp_path: Path,
) -> Iterator[Fleet]:
    postmark, _ = emulators
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUSTOMERCASE_")},
        "PYTHONPATH": str(SRC),
        "CUSTOMERCASE_DATABASE_URL": own_database,
        # Six processes share the server with the rest of the suite: small pools.
        "CUSTOMERCASE_DATABASE_POOL_SIZE": "2",
        "CUSTOMERCASE_SECRET_KEY": "fleet-secret-key-not-for-production",
        "CUSTOMERCASE_PUBLIC_URL": "http://forum.example.test",
        "CUSTOMERCASE_ARGON2_TIME_COST": "1",
        "CUSTOMERCASE_ARGON2_MEMORY_KIB": "1024",
        "CUSTOMERCASE_POSTMARK_SERVER_TOKEN": TOKEN,
        "CUSTOMERCASE_POSTMARK_API_URL": postmark.url,
        "CUSTOMERCASE_POSTMARK_FIRST_WAIT_SECONDS": "0.05",
        "CUSTOMERCASE_MAIL_FROM": SENDER,
        "CUSTOMERCASE_JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CUSTOMERCASE_WORKER_POLL_SECONDS": "0.2",
        "CUSTOMERCASE_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        "CUSTOMERCASE_WORKER_BATCH_SIZE": "20",
        # The sync runner killed mid-pass must not hold the forum past the test's patience.
        "CUSTOMERCASE_SYNC_LEASE_SECONDS": "5",
        "CUSTOMERCASE_LOG_LEVEL": "warning",
    }
    fleet = Fleet(env, tmp_path)
    yield fleet
    fleet.stop_all()


async def _until_up(urls: list[str], fleet: Fleet) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=5) as client:
        for url in urls:
            while True:
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} did not come up in 60 s\n{fleet.report()}")
                await asyncio.sleep(0.2)


# --- the people ----------------------------------------------------------------------------------


@dataclass
class Person:
    """One browser that may reach either web process: sessions and CSRF live in the database,
    and cookies are per host, not per port, so a load balancer may send each request anywhere."""

    client: httpx.AsyncClient
    address: str
    id: str = ""
    email: str = ""

    async def send(self, webs: Callable[[], list[str]], method: str, path: str, **kw: Any) -> Any:
        """The answer of the first live web process to take the request; None if none did.

        Only a refused connection moves on to the next one: a request cut off in flight may
        have been acted on, so it is not sent again (and, unanswered, counts for nothing).
        """
        for base in webs():
            headers = {"x-forwarded-for": self.address}
            token = self.client.cookies.get("csrftoken")
            if token:
                headers["x-csrftoken"] = token
            try:
                return await self.client.request(method, f"{base}{path}", headers=headers, **kw)
            except httpx.ConnectError:
                continue
            except httpx.TransportError:
                return None
        return None


@dataclass
class Ledger:
    """What the service acknowledged (a 2xx), to be found again at the end."""

    ideas: dict[str, str] = field(default_factory=dict)  # idea id -> its author
    votes: set[tuple[str, str]] = field(default_factory=set)  # (idea, voter)
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (idea, body)
    jira_comments: dict[str, str] = field(default_factory=dict)  # Jira comment id -> issue key
    jira_created: set[str] = field(default_factory=set)  # keys of issues made in Jira
    transitioned: set[str] = field(default_factory=set)  # keys moved to In Progress


def ok(response: httpx.Response | None) -> bool:
    return response is not None and response.is_success


# --- the test ----------------------------------------------------------------------------------


@dataclass
class Workload:
    """People using both web processes while Jira users work on the same project."""

    jira: JiraEmulator
    engine: AsyncEngine
    alive: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    ledger: Ledger = field(default_factory=Ledger)
    people: list[Person] = field(default_factory=list)
    forum_id: str = ""
    turn: Iterator[int] = field(default_factory=itertools.count)

    def webs(self) -> list[str]:
        """The live web processes, round robin, as a load balancer hands requests out."""
        first = next(self.turn) % len(self.alive)
        return self.alive[first:] + self.alive[:first]

    async def sign_up(self, name: str) -> Person:
        person = Person(httpx.AsyncClient(timeout=30), f"10.9.{len(self.people)}.7")
        self.people.append(person)
        await person.send(self.webs, "GET", "/healthz")  # hands out the CSRF cookie
        email = f"{unique(name.lower())}@example.org"
        answer = await person.send(
            self.webs,
            "POST",
            "/api/v1/auth/signup",
            json={"email": email, "name": name, "password": PASSWORD},
        )
        assert answer is not None and answer.status_code == 201, answer and answer.text
        person.id, person.email = answer.json()["id"], email
        return person

    async def round(self, n: int, customers: list[Person]) -> None:
        await asyncio.gather(
            *(_act(p, self.webs, self.forum_id, self.ledger, self.rng, n) for p in customers)
        )
        await _jira_side(self.jira, self.engine, self.forum_id, self.ledger, self.rng, n)
        async with httpx.AsyncClient(timeout=30) as hook:
            # Jira retries a delivery cut off by a dying process; the balancer sends it on.
            urls = [f"{base}/webhooks/jira" for base in self.webs()]
            await self.jira.deliver(hook, urls, WEBHOOK_SECRET, drop=0.3)

    async def close(self) -> None:
        for person in self.people:
            await person.client.aclose()


async def test_two_of_each_process_with_one_of_each_killed_lose_and_repeat_nothing(
    fleet: Fleet, emulators: tuple[PostmarkEmulator, JiraEmulator]
) -> None:
    postmark, jira = emulators
    jira.add_user("dana", "Dana Ops", "dana@example.org")
    jira.bulk_create("SUP", 3, ["dana"])  # there before the forum is bound: imported
    jira.webhooks.clear()
    fleet.run("migrate", "migrate")
    ports = [free_port(), free_port()]
    webs = [fleet.start(f"web{n}", "serve", "--port", str(p)) for n, p in enumerate(ports)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    workers = [fleet.start(f"worker{n}", "worker") for n in range(2)]
    syncs = [fleet.start(f"sync{n}", "sync", "--interval", "1") for n in range(2)]
    await _until_up(urls, fleet)
    engine = make_engine(fleet.env["CUSTOMERCASE_DATABASE_URL"], pool_size=2)
    work = Workload(jira, engine, list(urls))
    try:
        work.forum_id = await _bound_forum(await work.sign_up("Sam"), work.webs, jira.base_url)
        customers = [await work.sign_up(f"Customer{n}") for n in range(CUSTOMERS)]
        for n in range(ROUNDS_BEFORE_KILL):
            await work.round(n, customers)
        # One of each dies by SIGKILL while a round is under way.
        during = asyncio.create_task(work.round(ROUNDS_BEFORE_KILL, customers))
        await asyncio.sleep(0.2)
        for victim in (webs[0], workers[0], syncs[0]):
            victim.popen.send_signal(signal.SIGKILL)
        work.alive.remove(urls[0])
        await during
        for n in range(ROUNDS_BEFORE_KILL + 1, ROUNDS_BEFORE_KILL + 1 + ROUNDS_AFTER_KILL):
            await work.round(n, customers)
        await work.close()

        await _until_quiet(engine, jira, work.forum_id, work.ledger, fleet)
        survivors = [p.name for p in (webs[1], workers[1], syncs[1]) if p.popen.poll() is not None]
        assert not survivors, f"{survivors} died without being killed"
        await _assert_writes_kept(engine, work.forum_id, work.ledger)
        await _assert_mail_once(engine, postmark, fleet.env)
        await _assert_jira_once(engine, jira, work.forum_id, work.ledger)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{fleet.report()}") from None
    finally:
        await engine.dispose()


async def _bound_forum(staff: Person, webs: Callable[[], list[str]], jira_url: str) -> str:
    vendor = await staff.send(
        webs, "POST", "/api/v1/vendors", json={"name": "Acme", "slug": unique("acme")}
    )
    assert ok(vendor), vendor.text
    vendor_id = vendor.json()["id"]
    connected = await staff.send(
        webs,
        "PUT",
        f"/api/v1/vendors/{vendor_id}/jira",
        json={"site_url": jira_url, "email": "bot@example.org", "api_token": "token"},
    )
    assert ok(connected), connected.text
    forum = await staff.send(
        webs,
        "POST",
        f"/api/v1/vendors/{vendor_id}/forums",
        json={
            "name": "Ideas",
            "slug": "ideas",
            "visibility": "public",
            "jira": {"project_key": "SUP"},
        },
    )
    assert ok(forum), forum.text
    return str(forum.json()["id"])


async def _act(
    person: Person,
    webs: Callable[[], list[str]],
    forum_id: str,
    ledger: Ledger,
    rng: random.Random,
    n: int,
) -> None:
    """One thing a customer does: post an idea, or vote, comment and watch on someone's."""
    others = [i for i, author in ledger.ideas.items() if author != person.id]
    if not others or rng.random() < 0.3:
        summary = f"Idea {n} of {person.id[:6]} {uuid.uuid4().hex[:6]}"
        answer = await person.send(
            webs, "POST", f"/api/v1/forums/{forum_id}/ideas", json={"summary": summary}
        )
        if ok(answer):
            ledger.ideas[answer.json()["id"]] = person.id
        return
    idea_id = rng.choice(others)
    if ok(await person.send(webs, "PUT", f"/api/v1/ideas/{idea_id}/vote")):
        ledger.votes.add((idea_id, person.id))
    await person.send(webs, "PUT", f"/api/v1/ideas/{idea_id}/watch")
    body = f"Comment {n} by {person.id[:6]} {uuid.uuid4().hex[:8]}"
    answer = await person.send(
        webs, "POST", f"/api/v1/ideas/{idea_id}/comments", json={"body": body}
    )
    if ok(answer):
        ledger.comments[answer.json()["id"]] = (idea_id, body)


async def _linked_keys(engine: AsyncEngine, forum_id: str) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.ideas.c.tracker_key).where(
                t.ideas.c.forum_id == forum_id, t.ideas.c.tracker_key.is_not(None)
            )
        )
        return {r.tracker_key for r in rows}


async def _jira_side(
    jira: JiraEmulator,
    engine: AsyncEngine,
    forum_id: str,
    ledger: Ledger,
    rng: random.Random,
    n: int,
) -> None:
    """What Jira users do meanwhile: file an issue, comment, move an issue the forum knows."""
    ledger.jira_created.add(jira.create("SUP", f"Made in Jira {n}", "dana").key)
    with jira.lock:
        keys = sorted(jira.issues)
    known = sorted(await _linked_keys(engine, forum_id))
    for key in rng.sample(keys, min(2, len(keys))):
        comment = jira.comment(key, "dana", f"Jira note {n} on {key}")
        ledger.jira_comments[comment["id"]] = key
    # Only issues whose idea exists already: a status change is then a change, seen once.
    movable = [k for k in known if k not in ledger.transitioned]
    if movable:
        key = rng.choice(movable)
        jira.transition(key, "In Progress", actor="dana")
        ledger.transitioned.add(key)


async def _quiet_state(
    engine: AsyncEngine, jira: JiraEmulator, forum_id: str, ledger: Ledger
) -> list[str]:
    """What is still to happen; empty when the deployment has caught up with everything."""
    waiting = []
    async with engine.connect() as conn:
        pending = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.state == "pending")
        )
        jira_comment_ids = {
            r.tracker_comment_id
            for r in await conn.execute(
                sa.select(t.comments.c.tracker_comment_id).where(
                    t.comments.c.tracker_comment_id.is_not(None)
                )
            )
        }
    if pending:
        waiting.append(f"{pending} outbox rows pending")
    with jira.lock:
        keys = set(jira.issues)
        filed = sum(1 for i in jira.issues.values() if any(lb.startswith("cc-") for lb in i.labels))
    missing = keys - await _linked_keys(engine, forum_id)
    if missing:
        waiting.append(f"issues not in the forum: {sorted(missing)}")
    if filed < len(ledger.ideas):
        waiting.append(f"{len(ledger.ideas) - filed} ideas not filed in Jira")
    unseen = set(ledger.jira_comments) - jira_comment_ids
    if unseen:
        waiting.append(f"{len(unseen)} Jira comments not in the forum")
    return waiting


async def _until_quiet(
    engine: AsyncEngine, jira: JiraEmulator, forum_id: str, ledger: Ledger, fleet: Fleet
) -> None:
    deadline = time.monotonic() + QUIET_DEADLINE_SECONDS
    while waiting := await _quiet_state(engine, jira, forum_id, ledger):
        if time.monotonic() > deadline:
            pytest.fail(f"never caught up: {waiting}\n{fleet.report()}")
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.5)  # a last sync pass and worker poll: any repeat would show now


async def _assert_writes_kept(engine: AsyncEngine, forum_id: str, ledger: Ledger) -> None:
    async with engine.connect() as conn:
        ideas = {
            r.id
            for r in await conn.execute(
                sa.select(t.ideas.c.id).where(t.ideas.c.forum_id == forum_id)
            )
        }
        votes = {(r.idea_id, r.user_id) for r in await conn.execute(sa.select(t.votes))}
        comments = {
            r.id: (r.idea_id, r.body)
            for r in await conn.execute(
                sa.select(t.comments.c.id, t.comments.c.idea_id, t.comments.c.body)
            )
        }
    assert len(ledger.ideas) >= 5 and len(ledger.comments) >= 10, "the workload did too little"
    assert set(ledger.ideas) <= ideas, set(ledger.ideas) - ideas
    assert ledger.votes <= votes, ledger.votes - votes
    lost = {k: v for k, v in ledger.comments.items() if comments.get(k) != v}
    assert not lost, lost


async def _assert_mail_once(
    engine: AsyncEngine, postmark: PostmarkEmulator, env: dict[str, str]
) -> None:
    """Each email the outbox recorded as sent arrived once, or twice across the kill; none else."""
    addressing = build_addressing(read_settings(env))
    async with engine.connect() as conn:
        rows = list(await conn.execute(sa.select(t.outbox)))
    stuck = [(r.kind, r.state, r.last_error) for r in rows if r.state not in ("sent", "skipped")]
    assert not stuck, stuck
    expected = set()
    for row in rows:
        kind = NotificationKind(row.kind)
        if row.state != "sent" or kind not in EMAIL_KINDS:
            continue
        if kind in FAN_OUT and row.recipient_id is None:
            continue  # the row that made one row per watcher
        if kind is NotificationKind.REQUEST_SUBMITTED and row.idea_id:
            expected.add(addressing.thread_id(row.idea_id))
        else:
            expected.add(addressing.message_id(row.id))
    arrived = Counter(headers_of(m).get("Message-ID") for m in postmark.messages)
    assert set(arrived) == expected, (set(arrived) ^ expected, len(expected))
    twice = {k: c for k, c in arrived.items() if c > 1}
    assert all(c == 2 for c in twice.values()), twice
    assert len(twice) <= 20, f"more repeats than the one batch the killed worker held: {twice}"


async def _assert_jira_once(
    engine: AsyncEngine, jira: JiraEmulator, forum_id: str, ledger: Ledger
) -> None:
    async with engine.connect() as conn:
        keys = Counter(
            r.tracker_key
            for r in await conn.execute(
                sa.select(t.ideas.c.tracker_key).where(
                    t.ideas.c.forum_id == forum_id, t.ideas.c.tracker_key.is_not(None)
                )
            )
        )
        from_jira = Counter(
            r.tracker_comment_id
            for r in await conn.execute(
                sa.select(t.comments.c.tracker_comment_id).where(
                    t.comments.c.tracker_comment_id.is_not(None), t.comments.c.source == "jira"
                )
            )
        )
        statuses = {
            r.tracker_key: r.status
            for r in await conn.execute(
                sa.select(t.ideas.c.tracker_key, t.ideas.c.status).where(
                    t.ideas.c.forum_id == forum_id
                )
            )
        }
        changes = Counter(
            r.idea_id
            for r in await conn.execute(
                sa.select(t.outbox.c.idea_id).where(
                    t.outbox.c.kind == NotificationKind.STATUS_CHANGED.value,
                    t.outbox.c.recipient_id.is_(None),
                )
            )
        )
        idea_of = {
            r.tracker_key: r.id
            for r in await conn.execute(
                sa.select(t.ideas.c.id, t.ideas.c.tracker_key).where(t.ideas.c.forum_id == forum_id)
            )
        }
    with jira.lock:
        issues = dict(jira.issues)
    assert {k: c for k, c in keys.items() if c > 1} == {}, "an issue became two ideas"
    assert set(keys) == set(issues)
    filed = Counter(label for i in issues.values() for label in i.labels if label.startswith("cc-"))
    assert {lb: c for lb, c in filed.items() if c > 1} == {}, "an idea was filed twice"
    assert {f"cc-{i}" for i in ledger.ideas} <= set(filed)
    assert {c: n for c, n in from_jira.items() if n > 1} == {}, "a Jira comment came in twice"
    assert set(ledger.jira_comments) <= set(from_jira)
    posted = Counter(
        c["body"]["content"][-1]["content"][0]["text"]
        for i in issues.values()
        for c in i.comments
        if c["id"] not in ledger.jira_comments
    )
    bodies = Counter(body for _, body in ledger.comments.values())
    assert {b: n for b, n in posted.items() if n > 1} == {}, "a forum comment reached Jira twice"
    assert set(bodies) <= set(posted), set(bodies) - set(posted)
    assert ledger.transitioned and all(statuses[k] == "in_progress" for k in ledger.transitioned)
    twice = {k: changes[idea_of[k]] for k in ledger.transitioned if changes[idea_of[k]] != 1}
    assert twice == {}, "a status change in Jira was taken in other than once"
