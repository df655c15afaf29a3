"""`customercase worker`: outbox dispatch in a loop, and housekeeping on its own schedule
(services/retention.py: purging deleted vendors, sweeping what has served its time), until told
to stop.

Any number of these may run at once, on any number of machines: rows are claimed under a lease
(services/dispatch.py), and every purge or sweep is safe to run twice or concurrently. SIGTERM
or SIGINT stops the loop after the batch in hand is recorded, so a deploy never cuts a batch in
half; a SIGKILL costs at most a repeat once the lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal

import structlog

from customercase.bootstrap import Container
from customercase.services.dispatch import DispatchReport, dispatch_due
from customercase.services.retention import Housekeeping, housekeep

log = structlog.get_logger("customercase.worker")


async def dispatch_once(container: Container) -> DispatchReport:
    """One round: claim a batch, deliver it, record the outcomes."""
    settings = container.settings()
    return await dispatch_due(
        uow=container.uow(),
        handlers=container.handlers(),
        clock=container.clock(),
        policy=container.retry_policy(),
        batch_size=settings.worker_batch_size,
    )


async def housekeep_once(container: Container) -> Housekeeping:
    """One round of housekeeping: purge vendors past retention, then sweep."""
    settings = container.settings()
    return await housekeep(
        uow=container.uow(),
        clock=container.clock(),
        policy=settings.retention_policy,
        sessions=settings.session_policy,
    )


async def run_housekeeping(container: Container, stop: asyncio.Event) -> None:
    """Housekeeping now and every `housekeeping_seconds` until `stop` is set."""
    interval = container.settings().housekeeping_seconds
    while not stop.is_set():
        try:
            done = await housekeep_once(container)
        except Exception:
            log.exception("housekeeping round failed")
        else:
            if done.vendor_rows or done.outbox_rows or done.message_ids:
                log.info("housekept", **dataclasses.asdict(done))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def run_loop(container: Container, stop: asyncio.Event) -> None:
    """Dispatch until `stop` is set; idle for the poll interval when nothing is due."""
    settings = container.settings()
    while not stop.is_set():
        try:
            report = await dispatch_once(container)
        except Exception:
            # The database or a handler failed outside any row: wait, then try again.
            log.exception("dispatch round failed")
            report = DispatchReport()
        if report.claimed:
            log.info("dispatched", **dataclasses.asdict(report))
        if report.claimed < settings.worker_batch_size:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)


async def run_workers(container: Container, concurrency: int = 1) -> None:
    """`concurrency` loops in this process until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", concurrency=concurrency)
    await asyncio.gather(
        run_housekeeping(container, stop), *(run_loop(container, stop) for _ in range(concurrency))
    )
    log.info("worker stopped")


class InProcessWorker:
    """The same loop inside the web process (`customercase run`), started and stopped with it."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(run_loop(self._container, self._stop)),
            asyncio.create_task(run_housekeeping(self._container, self._stop)),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
