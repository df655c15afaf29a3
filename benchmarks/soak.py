"""Soak: mixed load for minutes on two web processes; their memory must not keep growing.

The same server, people and mix as load_mixed.py, at one concurrency, for --minutes (10 by
default). Each web process's resident memory (RSS) is taken after a warm-up and at the end,
and sampled on the way; more than --max-growth (10%) in any process fails the run, as does a
difference between the votes and comments stored and those acknowledged.

    .venv/bin/python benchmarks/soak.py --minutes 10 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling load_mixed.py
from load_mixed import (
    Ledger,
    Workload,
    check_ledger,
    open_forum,
    report,
    rss_kib,
    run_level,
    serving,
    sign_up_people,
)

NO_BUDGET = 10**9


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=None,
        help="load before the start RSS is taken (default: a tenth of the run, at least 30 s)",
    )
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=2)
    return parser.parse_args(argv)


def memory(pids: list[int]) -> dict[int, int]:
    return {pid: rss_kib(pid) for pid in pids}


async def main(args: argparse.Namespace) -> int:
    async with serving(args.postgres, args.workers) as server:
        people = await sign_up_people(server.base_url, args.concurrency + 1)
        owner, people = people[0], people[1:]
        forum_id, idea_ids = await open_forum(owner, 40)
        ledger = Ledger()
        workload = Workload(server.base_url, forum_id, idea_ids, ledger, random.Random(args.seed))
        pids = server.web_pids
        if args.warmup_seconds is None:
            args.warmup_seconds = max(30.0, args.minutes * 6)
        print(f"web processes {pids}; warming up for {args.warmup_seconds:.0f}s")
        await run_level(workload, people, args.concurrency, NO_BUDGET, args.warmup_seconds)
        start = memory(pids)
        print(
            "RSS at start (after warm-up): "
            + ", ".join(f"{p}: {k / 1024:.1f} MiB" for p, k in start.items())
        )
        deadline = time.monotonic() + args.minutes * 60
        total = 0
        worst_errors = 0.0
        while (left := deadline - time.monotonic()) > 0:
            stats = await run_level(
                workload, people, args.concurrency, NO_BUDGET, min(args.sample_seconds, left)
            )
            total += stats.count
            worst_errors = max(worst_errors, report(args.concurrency, stats))
            now = memory(pids)
            print("  RSS " + ", ".join(f"{p}: {k / 1024:.1f} MiB" for p, k in now.items()))
        end = memory(pids)
        problems = await check_ledger(server.database_url, forum_id, owner.user_id, ledger)
        for person in [owner, *people]:
            await person.client.aclose()
    print(f"\n{total} requests in {args.minutes:g} minutes; worst error rate {worst_errors:.2%}")
    for pid in pids:
        growth = end[pid] / start[pid] - 1 if start[pid] else float("inf")
        verdict = "ok" if growth <= args.max_growth else "TOO MUCH"
        print(
            f"process {pid}: RSS {start[pid] / 1024:.1f} MiB -> {end[pid] / 1024:.1f} MiB "
            f"({growth:+.1%}) {verdict}"
        )
        if growth > args.max_growth:
            problems.append(f"process {pid} grew {growth:.1%}")
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
