"""How long the forum home page takes to render with 100,000 ideas (a benchmark, not a test).

    PYTHONPATH=src python benchmarks/forum_home.py [--backend sqlite|postgresql] [--ideas 100000]

Rows are bulk-inserted straight into the tables (the use cases would take minutes), then the
page is asked for in-process through the ASGI app, so the time is server time: routing, the
use cases' queries, and rendering the template. Goal (issue 6): under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import sqlalchemy as sa

from customercase.adapters.sql import tables as t
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.logs import configure_logging

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
WORDS = [
    "dark",
    "mode",
    "export",
    "csv",
    "sso",
    "okta",
    "slack",
    "mobile",
    "app",
    "search",
    "tags",
    "api",
    "report",
    "email",
]
STATUSES = ["open", "under_review", "planned", "in_progress", "done", "declined"]


async def seed(engine: object, ideas: int) -> str:
    now = datetime.now(UTC)
    user_id, vendor_id, forum_id = (uuid.uuid4().hex for _ in range(3))
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            t.users.insert().values(
                id=user_id, email="bench@example.org", name="Bench", created_at=now
            )
        )
        await conn.execute(
            t.vendors.insert().values(id=vendor_id, name="Bench", slug="bench", created_at=now)
        )
        await conn.execute(
            t.forums.insert().values(
                id=forum_id,
                vendor_id=vendor_id,
                name="Bench",
                slug="bench",
                visibility="public",
                allowed_domains=[],
                mailbox_hash=uuid.uuid4().hex[:16],
                created_at=now,
            )
        )
        rng = random.Random(6)
        batch = []
        for n in range(ideas):
            created = now - timedelta(minutes=n)
            batch.append(
                {
                    "id": uuid.uuid4().hex,
                    "forum_id": forum_id,
                    "author_id": user_id,
                    "summary": " ".join(rng.choices(WORDS, k=5)).capitalize(),
                    "description": "",
                    "status": rng.choice(STATUSES),
                    "votes": rng.randint(0, 500),
                    "comments": rng.randint(0, 40),
                    "heat": rng.random() * 50,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(batch) == 5000:
                await conn.execute(t.ideas.insert(), batch)
                batch = []
        if batch:
            await conn.execute(t.ideas.insert(), batch)
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        # Fresh tables have no planner statistics yet; autovacuum would gather them soon.
        await conn.execute(sa.text("ANALYZE"))
    return forum_id


async def measure(app: object, path: str, runs: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(5):
            (await client.get(path, headers={"accept": "text/html"})).raise_for_status()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = await client.get(path, headers={"accept": "text/html"})
            times.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return times


async def main(backend: str, ideas: int, runs: int, list_cache: float) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    configure_logging("warning")
    if backend == "postgresql":
        name = f"cc_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(POSTGRES)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    container = build_container(
        read_settings(
            {},
            database_url=url,
            log_level="warning",
            secret_key=secrets.token_urlsafe(48),
            list_cache_seconds=list_cache,
        )
    )
    try:
        await upgrade(container.engine())
        started = time.perf_counter()
        forum_id = await seed(container.engine(), ideas)
        print(f"{backend}: seeded {ideas} ideas in {time.perf_counter() - started:.1f} s")
        app = create_asgi(container)
        for query in ("", "?sort=new", "?sort=trending", "?status=planned", "?q=dark+mode"):
            times = await measure(app, f"/forums/{forum_id}{query}", runs)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"  /forums/ID{query or ' (top)':<16} median {statistics.median(times):6.1f} ms"
                f"   p95 {p95:6.1f} ms"
            )
    finally:
        await container.engine().dispose()
        if backend == "postgresql":
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--ideas", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--list-cache",
        type=float,
        default=0.0,
        help="seconds the anonymous list is kept (0, the default here: every render reads it)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.backend, args.ideas, args.runs, args.list_cache))
