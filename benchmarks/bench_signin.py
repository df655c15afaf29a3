"""Sign-ins per second per core at the chosen argon2 parameters, and the event loop meanwhile.

    PYTHONPATH=src python benchmarks/bench_signin.py [--seconds 10] [--concurrency 8]

First it times one argon2id hash at a few parameter sets (the choice in Settings is the
measured one; issue 3). Then it runs the real app in-process on a fresh SQLite database, with
many concurrent sign-ins, while a probe asks /healthz every 20 ms: if hashing ran on the event
loop, the probe's latency would grow to the length of a hash. Prints both.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from itertools import count

import argon2
import httpx

from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings, shutdown
from customercase.domain.ids import UserId
from customercase.domain.users import User
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.logs import configure_logging

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test password)
CANDIDATES = [
    (2, 19 * 1024, 1),
    (3, 19 * 1024, 1),
    (4, 19 * 1024, 1),
    (2, 46 * 1024, 1),
    (1, 46 * 1024, 1),
    (3, 64 * 1024, 1),
]


def time_parameters(rounds: int = 10) -> None:
    print("argon2id, one hash, median of", rounds)
    for t, m, p in CANDIDATES:
        hasher = argon2.PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
        hasher.hash(PASSWORD)
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            hasher.hash(PASSWORD)
            samples.append((time.perf_counter() - started) * 1000)
        print(f"  t={t} m={m // 1024:>2} MiB p={p}: {statistics.median(samples):6.1f} ms")


async def run(seconds: float, concurrency: int) -> None:
    path = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    settings = read_settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_key="bench",  # noqa: S106
        public_url="http://bench",
    )
    container = build_container(settings)
    await upgrade(container.engine())
    hasher = container.hasher()
    print(
        f"\nchosen: t={settings.argon2_time_cost} m={settings.argon2_memory_kib // 1024} MiB "
        f"p={settings.argon2_parallelism}; {os.cpu_count()} cores; {concurrency} at once"
    )
    password_hash = await hasher.hash(PASSWORD)
    emails = [f"bench-{n}-{uuid.uuid4().hex[:6]}@example.org" for n in range(2000)]
    async with container.uow() as uow:
        for email in emails:
            user = User(UserId(uuid.uuid4().hex), email, "Bench", datetime.now(UTC), password_hash)
            await uow.users.add(user)
        await uow.commit()

    app = create_asgi(container)
    addresses = count(1)

    def client() -> httpx.AsyncClient:
        n = next(addresses)
        transport = httpx.ASGITransport(
            app=app, client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 1)
        )
        return httpx.AsyncClient(transport=transport, base_url="http://bench")

    async def probe(stop: asyncio.Event, latencies: list[float]) -> None:
        async with client() as c:
            while not stop.is_set():
                started = time.perf_counter()
                await c.get("/healthz")
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)

    done = 0
    users = count()

    async def sign_ins(stop: asyncio.Event) -> None:
        nonlocal done
        while not stop.is_set():
            email = emails[next(users) % len(emails)]
            async with client() as c:
                answer = await c.post(
                    "/api/v1/auth/signin", json={"email": email, "password": PASSWORD}
                )
            assert answer.status_code == 200, answer.text
            done += 1

    idle: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(stop, idle))
    await asyncio.sleep(min(2.0, seconds / 3))
    stop.set()
    await task

    busy: list[float] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(sign_ins(stop)) for _ in range(concurrency)]
    tasks.append(asyncio.create_task(probe(stop, busy)))
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await shutdown(container)

    rate = done / elapsed
    print(
        f"sign-ins: {done} in {elapsed:.1f} s = {rate:.1f}/s, "
        f"{rate / (os.cpu_count() or 1):.1f}/s per core"
    )
    for label, samples in (("idle", idle), ("during sign-ins", busy)):
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        print(
            f"/healthz {label}: {len(samples)} answers, "
            f"median {statistics.median(samples):.1f} ms, "
            f"p99 {p99:.1f} ms, max {samples[-1]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-parameters", action="store_true")
    args = parser.parse_args()
    configure_logging("warning")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.skip_parameters:
        time_parameters()
    asyncio.run(run(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
