"""Seed a PostgreSQL database for the benchmarks, fast (COPY), once, and reuse it afterwards.

At --scale 1: 100,000 ideas in one forum, 1,000,000 votes from 10,000 users, 100,000 comments;
with --search also a second forum of 1,000,000 summaries for full-text and similar-idea search.
Counters (votes, comments, heat) are computed here exactly as the app would have stored them.
A row in `bench_seed` (a table of the benchmark's own, not of the schema) marks a finished seed;
a database without it is dropped and seeded again.

    python benchmarks/seed.py --scale 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from customercase.domain.trending import COMMENT_WEIGHT, heat_of  # noqa: E402

SERVER = os.environ.get("CUSTOMERCASE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "bench-password-42"  # noqa: S105 - every seeded user's password, for sign-in
POOL_USERS = 512  # users with no seeded votes: the load generator's signed-in browsers
CHUNK_IDEAS = 5_000

WORDS = (  # noqa: SIM905 - a paragraph reads better than 200 quoted words
    "export import csv pdf report dashboard chart filter search sort tag label board column card "
    "email notification reminder digest slack teams jira github gitlab webhook api token sso saml "
    "ldap oauth login password mobile ios android app offline sync calendar timezone dark mode "
    "theme font keyboard shortcut undo redo bulk edit delete archive restore comment mention "
    "attachment image upload preview thumbnail markdown editor table spreadsheet formula "
    "template workflow automation rule trigger schedule recurring task subtask checklist due "
    "date priority status assignee owner team workspace project folder permission role admin "
    "audit log history version compare merge duplicate link embed share public private guest "
    "invite domain billing invoice plan seat trial discount language translation locale french "
    "german japanese accessibility screen reader contrast zoom print performance slow speed "
    "memory crash error bug fix loading spinner timeout retry backup encryption gdpr privacy "
    "retention delete account profile avatar signature statistics analytics metric goal okr "
    "roadmap feedback vote idea survey poll form field custom dropdown checkbox radio date "
    "picker color icon emoji reaction pin star favourite bookmark recent navigation sidebar menu "
    "breadcrumb tab window split view list grid gantt timeline kanban sprint backlog estimate "
    "points velocity burndown release changelog integration zapier salesforce hubspot zendesk "
    "intercom stripe paypal shopify wordpress chrome firefox safari edge extension plugin widget"
).split()
# Zipf-like: the first words are common, the tail is rare; search needs both kinds.
WORD_WEIGHTS = [1 / (rank + 1) for rank in range(len(WORDS))]


@dataclass(frozen=True, slots=True)
class Plan:
    scale: float
    users: int
    ideas: int
    votes: int
    comments: int
    search_summaries: int

    @classmethod
    def at(cls, scale: float) -> Plan:
        def n(full: int) -> int:
            return max(1, round(full * scale))

        return cls(scale, n(10_000), n(100_000), n(1_000_000), n(100_000), n(1_000_000))


@dataclass(frozen=True, slots=True)
class Seed:
    database: str
    forum_id: str
    search_forum_id: str | None
    plan: Plan


def database_name(scale: float) -> str:
    if scale == 1:
        return "customercase_bench"
    return "customercase_bench_" + f"{scale:g}".replace(".", "_").replace("-", "_")


def dsn(database: str) -> str:
    return f"{SERVER.rstrip('/')}/{database}"


def app_url(database: str) -> str:
    return dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)


def _id(kind: int, n: int) -> str:
    # Deterministic 32-hex ids, shaped like the app's uuid4().hex, distinct per kind.
    return uuid.UUID(int=(kind << 96) | n).hex


def user_id(n: int) -> str:
    return _id(1, n)


def pool_user_id(n: int) -> str:
    return _id(2, n)


def idea_id_of(n: int) -> str:
    return _id(5, n)


def pool_email(n: int) -> str:
    return f"pool{n}@bench.customercase.test"


def _progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    print(f"\r  {label}: {done:>10,} / {total:,}  ({rate:,.0f}/s)   ", end="", flush=True)
    if done >= total:
        print()


def _summary(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, WORD_WEIGHTS, k=rng.randint(4, 10))).capitalize()


def _vote_counts(rng: random.Random, plan: Plan) -> list[int]:
    # Long-tailed like real boards: a few ideas carry most votes; each at most one per user.
    raw = [rng.paretovariate(1.16) for _ in range(plan.ideas)]
    factor = plan.votes / sum(raw)
    counts = [min(plan.users, int(r * factor)) for r in raw]
    short = plan.votes - sum(counts)
    while short > 0:
        i = rng.randrange(plan.ideas)
        if counts[i] < plan.users:
            counts[i] += 1
            short -= 1
    return counts


async def _create_database(name: str) -> None:
    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _marker(name: str) -> asyncpg.Record | None:
    try:
        conn = await asyncpg.connect(dsn(name))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        return (
            await conn.fetchrow("SELECT * FROM bench_seed WHERE name = 'bench'")
            if await conn.fetchval("SELECT to_regclass('bench_seed') IS NOT NULL")
            else None
        )
    finally:
        await conn.close()


def migrate(database: str) -> None:
    migrate_url(app_url(database))


def migrate_url(url: str) -> None:
    """`customercase migrate`, as an operator would run it."""
    env = {**os.environ, "CUSTOMERCASE_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [customercase_command(), "migrate"], env=env, check=True, stdout=subprocess.DEVNULL
    )


def customercase_command() -> str:
    return str(Path(sys.executable).with_name("customercase"))


async def _copy(
    conn: asyncpg.Connection, table: str, columns: list[str], rows: Iterable[tuple]
) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=columns)


def _password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)


def user_rows(plan: Plan, now: datetime) -> list[tuple[Any, ...]]:
    """The seeded users and the pool users, all with PASSWORD (hashed once: argon2 is slow)."""
    password_hash = _password_hash()
    return [
        (user_id(n), f"user{n}@bench.customercase.test", f"User {n}", password_hash, True, now)
        for n in range(plan.users)
    ] + [
        (pool_user_id(n), pool_email(n), f"Pool {n}", password_hash, True, now)
        for n in range(POOL_USERS)
    ]


async def _seed_people(conn: asyncpg.Connection, plan: Plan, now: datetime) -> tuple[str, str]:
    started = time.monotonic()
    rows = user_rows(plan, now)
    await _copy(conn, "users", USER_COLUMNS, rows)
    _progress("users", len(rows), len(rows), started)
    vendor_id, forum_id = _id(3, 1), _id(4, 1)
    await conn.execute(
        "INSERT INTO vendors (id, name, slug, created_at) VALUES ($1, 'Bench', 'bench', $2)",
        vendor_id,
        now,
    )
    await _add_forum(conn, vendor_id, forum_id, "Ideas", "ideas", now)
    return vendor_id, forum_id


async def _add_forum(
    conn: asyncpg.Connection, vendor_id: str, forum_id: str, name: str, slug: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO forums (id, vendor_id, name, slug, visibility, allowed_domains, mailbox_hash,"
        " created_at) VALUES ($1, $2, $3, $4, 'public', '[]', $5, $6)",
        forum_id,
        vendor_id,
        name,
        slug,
        uuid.uuid4().hex,
        now,
    )


VOTE_COLUMNS = ["idea_id", "user_id", "created_at"]
COMMENT_COLUMNS = ["id", "idea_id", "author_id", "body", "source", "created_at"]
USER_COLUMNS = ["id", "email", "name", "password_hash", "email_verified", "created_at"]
IDEA_COLUMNS = [
    "id", "forum_id", "author_id", "summary", "description", "status", "votes", "comments",
    "heat", "created_at", "updated_at",
]  # fmt: skip


def idea_chunks(
    plan: Plan, forum_id: str, now: datetime
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(ideas, votes, comments) rows, CHUNK_IDEAS ideas at a time, counters exact."""
    rng = random.Random(1)
    counts = _vote_counts(rng, plan)
    year = timedelta(days=365).total_seconds()
    statuses = ["open"] * 20 + ["under_review", "planned", "in_progress", "done", "declined"]
    users = range(plan.users)
    for first in range(0, plan.ideas, CHUNK_IDEAS):
        numbers = range(first, min(plan.ideas, first + CHUNK_IDEAS))
        ideas: list[tuple[Any, ...]] = []
        votes: list[tuple[Any, ...]] = []
        comments: list[tuple[Any, ...]] = []
        comment_total = round(plan.comments * len(numbers) / plan.ideas)
        commented = rng.choices(list(numbers), [counts[i] + 1 for i in numbers], k=comment_total)
        comments_of: dict[int, int] = {}
        for i in commented:
            comments_of[i] = comments_of.get(i, 0) + 1
        for i in numbers:
            idea_id = idea_id_of(i)
            created = now - timedelta(seconds=rng.random() * year)
            span = (now - created).total_seconds()
            heat = 0.0
            for voter in rng.sample(users, counts[i]):
                at = created + timedelta(seconds=rng.random() * span)
                heat += heat_of(at)
                votes.append((idea_id, user_id(voter), at))
            for _ in range(comments_of.get(i, 0)):
                at = created + timedelta(seconds=rng.random() * span)
                heat += COMMENT_WEIGHT * heat_of(at)
                author = user_id(rng.randrange(plan.users))
                body = "I would use this every day: " + _summary(rng).lower() + "."
                comment_id = _id(6, (first << 20) + len(comments))
                comments.append((comment_id, idea_id, author, body, "web", at))
            ideas.append(
                (
                    idea_id,
                    forum_id,
                    user_id(rng.randrange(plan.users)),
                    _summary(rng),
                    "It would help our team a lot. " + _summary(rng) + ".",
                    rng.choice(statuses),
                    counts[i],
                    comments_of.get(i, 0),
                    heat,
                    created,
                    created,
                )
            )
        yield ideas, votes, comments


async def _seed_ideas(conn: asyncpg.Connection, plan: Plan, forum_id: str, now: datetime) -> None:
    started = time.monotonic()
    done = 0
    for ideas, votes, comments in idea_chunks(plan, forum_id, now):
        await _copy(conn, "ideas", IDEA_COLUMNS, ideas)
        await _copy(conn, "votes", VOTE_COLUMNS, votes)
        await _copy(conn, "comments", COMMENT_COLUMNS, comments)
        done += len(ideas)
        _progress("ideas (with their votes and comments)", done, plan.ideas, started)


async def _seed_search(conn: asyncpg.Connection, plan: Plan, vendor_id: str, now: datetime) -> str:
    forum_id = _id(4, 2)
    await _add_forum(conn, vendor_id, forum_id, "Search", "search", now)
    rng = random.Random(2)
    started = time.monotonic()
    chunk = 20_000
    for first in range(0, plan.search_summaries, chunk):
        stop = min(plan.search_summaries, first + chunk)
        rows = []
        for i in range(first, stop):
            created = now - timedelta(seconds=rng.random() * 3 * 365 * 86_400)
            rows.append(
                (
                    _id(7, i), forum_id, user_id(rng.randrange(plan.users)), _summary(rng), "",
                    "open", 0, 0, 0.0, created, created,
                )
            )  # fmt: skip
        await _copy(conn, "ideas", IDEA_COLUMNS, rows)
        _progress("search forum summaries", stop, plan.search_summaries, started)
    return forum_id


async def ensure_seed(scale: float, *, search: bool = False) -> Seed:
    """The seeded database at this scale: reused when its marker row says it is complete."""
    plan = Plan.at(scale)
    name = database_name(scale)
    marker = await _marker(name)
    if marker is not None and (not search or marker["search_forum_id"]):
        print(
            f"Reusing the seed in database {name} (seeded {marker['finished_at']:%Y-%m-%d %H:%M})."
        )
        migrate(name)
        return Seed(name, marker["forum_id"], marker["search_forum_id"], plan)
    now = datetime.now(UTC)
    if marker is None:
        print(
            f"Seeding database {name}: {plan.ideas:,} ideas, {plan.votes:,} votes from "
            f"{plan.users:,} users, {plan.comments:,} comments…"
        )
        await _create_database(name)
        migrate(name)
    conn = await asyncpg.connect(dsn(name))
    try:
        # Superuser only: skip foreign-key triggers while bulk loading rows we know are sound.
        await conn.execute("SET session_replication_role = replica")
        if marker is None:
            vendor_id, forum_id = await _seed_people(conn, plan, now)
            await _seed_ideas(conn, plan, forum_id, now)
        else:
            vendor_id = await conn.fetchval("SELECT id FROM vendors WHERE slug = 'bench'")
            forum_id = marker["forum_id"]
        search_id = await _seed_search(conn, plan, vendor_id, now) if search else None
        await conn.execute("SET session_replication_role = origin")
        print("  VACUUM ANALYZE…", flush=True)
        await conn.execute("VACUUM ANALYZE")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_seed (name text PRIMARY KEY, scale float8,"
            " forum_id text, search_forum_id text, plan jsonb, finished_at timestamptz)"
        )
        await conn.execute(
            "INSERT INTO bench_seed VALUES ('bench', $1, $2, $3, $4, now()) ON CONFLICT (name)"
            " DO UPDATE SET search_forum_id = EXCLUDED.search_forum_id, finished_at = now()",
            scale,
            forum_id,
            search_id,
            json.dumps({k: getattr(plan, k) for k in Plan.__slots__}),
        )
    finally:
        await conn.close()
    return Seed(name, forum_id, search_id, plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--search", action="store_true", help="also the 1M-summary search forum")
    args = parser.parse_args()
    started = time.monotonic()
    seed = asyncio.run(ensure_seed(args.scale, search=args.search))
    print(f"Database {seed.database} ready in {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
