"""Search and similar-ideas latency over many ideas in one forum, on PostgreSQL (or SQLite).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_search.py [N] [--queries Q] [--sqlite]
        [--database NAME]

Creates a scratch database (PostgreSQL at CUSTOMERCASE_TEST_POSTGRES, default
postgresql://postgres@127.0.0.1:5432/test; or a temporary SQLite file), migrates it, seeds N
idea summaries (default 100,000) drawn Zipf-like from a product vocabulary with random vote
counts, then times Q searches (`q`, through the list use case, with a typed prefix) and Q
similar-ideas look-ups (an existing summary with a typo and shuffled words) and prints p50 and
p95, and how often the garbled summary's own idea was among the five similar ones. The scratch
database is dropped at the end; with --database it is kept, and a later run with the same name
reuses it (1,000,000 summaries seed in about 3 minutes). Vote counters are set without vote
rows: this database is for timing only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import Container, build_container, read_settings
from customercase.domain.ideas import IdeaQuery
from customercase.domain.ids import ForumId
from customercase.services import ideas

SERVER = os.environ.get("CUSTOMERCASE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
WORDS = [
    "export",
    "import",
    "report",
    "dashboard",
    "chart",
    "graph",
    "csv",
    "pdf",
    "excel",
    "email",
    "notification",
    "alert",
    "mobile",
    "app",
    "android",
    "ios",
    "dark",
    "mode",
    "theme",
    "light",
    "calendar",
    "sync",
    "integration",
    "slack",
    "jira",
    "github",
    "api",
    "webhook",
    "token",
    "login",
    "password",
    "sso",
    "saml",
    "oauth",
    "google",
    "microsoft",
    "team",
    "user",
    "role",
    "permission",
    "admin",
    "audit",
    "log",
    "search",
    "filter",
    "sort",
    "tag",
    "label",
    "category",
    "project",
    "task",
    "board",
    "kanban",
    "sprint",
    "backlog",
    "roadmap",
    "milestone",
    "release",
    "deploy",
    "build",
    "pipeline",
    "test",
    "coverage",
    "performance",
    "speed",
    "loading",
    "cache",
    "offline",
    "upload",
    "download",
    "attachment",
    "image",
    "video",
    "audio",
    "comment",
    "reply",
    "thread",
    "mention",
    "reaction",
    "emoji",
    "vote",
    "poll",
    "survey",
    "form",
    "field",
    "custom",
    "template",
    "workflow",
    "automation",
    "rule",
    "trigger",
    "schedule",
    "reminder",
    "timezone",
    "language",
    "translation",
    "localization",
    "accessibility",
    "keyboard",
    "shortcut",
    "screen",
    "reader",
    "contrast",
    "font",
    "size",
    "layout",
    "sidebar",
    "menu",
    "navigation",
    "tab",
    "window",
    "popup",
    "modal",
    "dialog",
    "button",
    "link",
    "share",
    "invite",
    "guest",
    "external",
    "public",
    "private",
    "archive",
    "delete",
    "restore",
    "undo",
    "history",
    "version",
    "backup",
    "storage",
    "quota",
    "billing",
    "invoice",
    "payment",
    "plan",
    "subscription",
    "trial",
    "discount",
    "currency",
    "tax",
    "receipt",
    "account",
    "profile",
    "avatar",
    "settings",
    "privacy",
    "security",
    "encryption",
    "two",
    "factor",
    "session",
    "timeout",
    "device",
    "browser",
    "extension",
    "plugin",
    "widget",
    "embed",
    "iframe",
    "markdown",
    "editor",
    "rich",
    "text",
    "table",
    "column",
    "row",
    "cell",
    "formula",
    "spreadsheet",
    "print",
    "preview",
    "zoom",
    "map",
    "location",
    "address",
    "phone",
    "sms",
    "whatsapp",
    "telegram",
    "bulk",
    "batch",
    "queue",
    "retry",
]
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_WEIGHTS = [
    12.7,
    9.1,
    8.2,
    7.5,
    7.0,
    6.7,
    6.3,
    6.1,
    6.0,
    4.3,
    4.0,
    2.8,
    2.8,
    2.4,
    2.4,
    2.2,
    2.0,
    2.0,
    1.9,
    1.5,
    1.0,
    0.8,
    0.15,
    0.15,
    0.1,
    0.07,
]


def _made_up_words(count: int) -> list[str]:
    rng = random.Random(3)
    words = {
        "".join(rng.choices(LETTERS, LETTER_WEIGHTS, k=rng.randint(3, 10))) for _ in range(count)
    }
    return sorted(words)


# Real summaries draw on thousands of words: add made-up ones (English letter frequencies), and
# spread the frequencies Zipf fashion with a flattened head (stop words, the real head, never
# reach the index).
WORDS += _made_up_words(20_000)
random.Random(3).shuffle(WORDS)
# Cumulative once: `choices(weights=...)` would sum 20,000 weights on every call.
CUM_WEIGHTS = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(WORDS))))


def summary(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=rng.randint(3, 9))).capitalize()


def typo(text: str, rng: random.Random) -> str:
    words = text.lower().split()
    rng.shuffle(words)
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3:
        j = rng.randrange(len(w) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


async def seed_postgres(url: str, n: int, rng: random.Random) -> ForumId:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    user, vendor, forum = (uuid.uuid4().hex for _ in range(3))
    await conn.execute(
        "INSERT INTO users (id, email, name, email_verified, created_at) "
        "VALUES ($1, $2, 'B', true, $3)",
        user,
        f"{user}@example.org",
        now,
    )
    await conn.execute(
        "INSERT INTO vendors (id, name, slug, created_at) VALUES ($1,'B',$2,$3)",
        vendor,
        vendor,
        now,
    )
    await conn.execute(
        "INSERT INTO forums (id, vendor_id, name, slug, visibility, allowed_domains, "
        "mailbox_hash, created_at) VALUES ($1,$2,'B','b','public','[]',$3,$4)",
        forum,
        vendor,
        forum[:16],
        now,
    )
    batch = 20_000
    for start in range(0, n, batch):
        records = []
        for k in range(start, min(n, start + batch)):
            at = now - timedelta(minutes=n - k)
            votes = int(rng.paretovariate(1.5))
            records.append(
                (uuid.uuid4().hex, forum, user, summary(rng), "", "open", votes, 0, 0.0, at, at)
            )
        await conn.copy_records_to_table(
            "ideas",
            records=records,
            columns=[
                "id",
                "forum_id",
                "author_id",
                "summary",
                "description",
                "status",
                "votes",
                "comments",
                "heat",
                "created_at",
                "updated_at",
            ],
        )
        print(f"seeded {min(n, start + batch):,} / {n:,}", flush=True)
    await conn.execute("VACUUM ANALYZE ideas")  # steady state: GIN pending lists merged
    await conn.close()
    return ForumId(forum)


async def seed_sqlite(container: Container, n: int, rng: random.Random) -> ForumId:
    from sqlalchemy import text

    now = datetime.now(UTC).replace(tzinfo=None)
    user, vendor, forum = (uuid.uuid4().hex for _ in range(3))
    async with container.engine().begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (id, email, name, email_verified, created_at) "
                "VALUES (:u, :e, 'B', 1, :t)"
            ),
            {"u": user, "e": f"{user}@example.org", "t": now},
        )
        await conn.execute(
            text("INSERT INTO vendors (id, name, slug, created_at) VALUES (:v, 'B', :v, :t)"),
            {"v": vendor, "t": now},
        )
        await conn.execute(
            text(
                "INSERT INTO forums (id, vendor_id, name, slug, visibility, allowed_domains, "
                "mailbox_hash, created_at) VALUES (:f, :v, 'B', 'b', 'public', '[]', :h, :t)"
            ),
            {"f": forum, "v": vendor, "h": forum[:16], "t": now},
        )
    batch = 20_000
    for start in range(0, n, batch):
        rows = [
            {
                "i": uuid.uuid4().hex,
                "f": forum,
                "u": user,
                "s": summary(rng),
                "v": int(rng.paretovariate(1.5)),
                "t": now - timedelta(minutes=n - k),
            }
            for k in range(start, min(n, start + batch))
        ]
        async with container.engine().begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO ideas (id, forum_id, author_id, summary, description, status, "
                    "votes, comments, heat, created_at, updated_at) "
                    "VALUES (:i, :f, :u, :s, '', 'open', :v, 0, 0.0, :t, :t)"
                ),
                rows,
            )
        print(f"seeded {min(n, start + batch):,} / {n:,}", flush=True)
    return ForumId(forum)


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:6.1f} ms   p95 {cuts[94] * 1000:6.1f} ms   (n={len(samples)})"


async def existing_summaries(container: Container, forum_id: ForumId, count: int) -> list[str]:
    """Summaries of `count` ideas spread over the forum: the duplicates similar should find."""
    from sqlalchemy import text

    async with container.engine().connect() as conn:
        rows = await conn.execute(
            text("SELECT summary FROM ideas WHERE forum_id = :f ORDER BY id LIMIT :n"),
            {"f": forum_id, "n": count},
        )
        return [r.summary for r in rows]


async def measure(
    container: Container, forum_id: ForumId, queries: int, rng: random.Random, seen: list[str]
) -> None:
    """Times `queries` searches and similar look-ups; similar gets a seen summary, garbled."""
    searches, similars, found = [], [], 0
    for n in range(queries):
        words = rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=rng.randint(1, 3))
        words[-1] = words[-1][: max(3, len(words[-1]) - rng.randint(0, 3))]  # still typing
        started = time.perf_counter()
        await ideas.list_ideas(IdeaQuery(forum_id, text=" ".join(words)), None, uow=container.uow())
        searches.append(time.perf_counter() - started)
        original = seen[n % len(seen)]
        garbled = typo(original, rng)
        started = time.perf_counter()
        best = await ideas.similar_ideas(forum_id, garbled, None, uow=container.uow())
        similars.append(time.perf_counter() - started)
        found += any(view.idea.summary == original for view in best)
    print(f"search  {percentiles(searches)}")
    print(f"similar {percentiles(similars)}   original among the five: {found}/{queries}")


async def _forum_of(url: str) -> ForumId | None:
    """The benchmark forum of a kept database, or None when it was never fully seeded."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_search_done') IS NOT NULL"):
            return None
        return ForumId(await conn.fetchval("SELECT forum_id FROM bench_search_done"))
    finally:
        await conn.close()


async def _mark_seeded(url: str, forum_id: ForumId) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "CREATE TABLE bench_search_done AS SELECT $1::text AS forum_id", forum_id
        )
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=100_000, help="ideas to seed")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--database",
        help="PostgreSQL database to keep and reuse: seeded on the first run, timed on later ones",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    name = args.database or f"cc_bench_{uuid.uuid4().hex[:8]}"
    forum_id: ForumId | None = None
    if args.sqlite:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    else:
        url = (
            SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        )
        admin = await asyncpg.connect(SERVER)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and args.database:
            forum_id = await _forum_of(url)
            if forum_id is None:  # an interrupted seed: start over
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if forum_id is None:
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    keep = bool(args.database or os.environ.get("BENCH_KEEP"))
    container = build_container(read_settings({}, database_url=url))
    try:
        await upgrade(container.engine())
        if forum_id is None:
            started = time.perf_counter()
            if args.sqlite:
                forum_id = await seed_sqlite(container, args.n, rng)
            else:
                forum_id = await seed_postgres(url, args.n, rng)
                await _mark_seeded(url, forum_id)
            print(f"seeded {args.n:,} ideas in {time.perf_counter() - started:.0f} s into {url}")
        else:
            print(f"reusing the seeded database {name}")
        seen = await existing_summaries(container, forum_id, args.queries)
        await measure(container, forum_id, 20, rng, seen)  # warm the caches
        print("--- measured ---")
        await measure(container, forum_id, args.queries, rng, seen)
    finally:
        await container.engine().dispose()
        if not args.sqlite and not keep:
            admin = await asyncpg.connect(SERVER)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
