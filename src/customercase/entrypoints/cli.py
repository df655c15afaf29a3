"""The `customercase` command: serve, worker, migrate, seed-demo, doctor, and run (locally)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from customercase.bootstrap import Container, build_container, shutdown
from customercase.entrypoints.logs import configure_logging
from customercase.services.doctor import Deployment, Finding, Status, examine

if TYPE_CHECKING:
    from customercase.services.tracker import SyncReport

T = TypeVar("T")


def _with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = build_container()
        try:
            return await work(container)
        finally:
            await shutdown(container)

    return asyncio.run(main())


async def _migrate(container: Container) -> None:
    from customercase.adapters.sql.migrate import upgrade

    click.echo("Migrating the database schema to the newest revision…")
    await upgrade(container.engine())
    click.echo("Database schema is up to date.")


async def _seed(container: Container) -> None:
    from customercase.services.demo import seed_demo

    click.echo("Seeding the demo forum (skipped when it is there)…")
    demo = await seed_demo(
        uow=container.uow(), hasher=container.hasher(), clock=container.clock(), ids=container.ids()
    )
    settings = container.settings()
    if demo is None:
        click.echo("Demo data is already there.")
        from customercase.services.demo import STAFF_EMAIL, STAFF_PASSWORD

        click.echo(f"Demo staff sign-in: {STAFF_EMAIL} / {STAFF_PASSWORD}")
        return
    click.echo(f"Demo forum: {settings.base_url}/forums/{demo.forum_id}")
    click.echo(f"Demo staff sign-in: {demo.staff_email} / {demo.staff_password}")


@click.group()
def main() -> None:
    """Customer Case: customer-feedback forums."""
    from customercase.entrypoints.monitoring import init_error_reports

    settings = build_container().settings()
    configure_logging(settings.log_level)
    init_error_reports(settings.sentry_dsn, environment=settings.sentry_environment)


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    _with_container(_migrate)


@main.command("seed-demo")
def seed_demo() -> None:
    """Create a demo vendor and forum when the database has none."""
    _with_container(_seed)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: settings).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: settings).")
@click.option("--workers", default=1, show_default=True, help="Web processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web app and API (uvicorn with uvloop and httptools: measured the cheaper per
    request here). SIGTERM drains: requests in flight are answered, then it exits 0."""
    import os
    import signal
    import tempfile

    import uvicorn

    settings = build_container().settings()
    host = host or settings.host
    port = port or settings.port
    # The app reads its settings from the environment in every worker process.
    os.environ["CUSTOMERCASE_HOST"] = host
    os.environ["CUSTOMERCASE_PORT"] = str(port)
    if settings.metrics and workers > 1:
        # Each worker counts requests on its own; a shared directory lets any one report all.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="customercase-metrics-")
        )
    # uvicorn raises the signal it drained on again once done; this handler makes that exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    click.echo(f"Serving on http://{host}:{port}")
    uvicorn.run(
        "customercase.entrypoints.http.asgi:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        # Our own access log (JSON lines, entrypoints/http/middleware.py) replaces uvicorn's.
        access_log=False,
        # The client address from X-Forwarded-For, trusted only from FORWARDED_ALLOW_IPS
        # (default 127.0.0.1: a proxy on the same machine); rate limits key on it.
        proxy_headers=True,
        log_level="warning",
    )


def _sync_line(forum_id: str, report: SyncReport) -> str:
    return (
        f"forum {forum_id}: {report.seen} issues read, {report.ideas_created} new ideas, "
        f"{report.comments_added} comments, {report.status_changes} status changes"
    )


async def _sync(container: Container, forum: str | None, once: bool, interval: float) -> int:
    import os
    import socket
    import uuid
    from datetime import timedelta

    from customercase.domain.errors import DomainError
    from customercase.domain.ids import ForumId
    from customercase.services import tracker

    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    interactive = sys.stdout.isatty()
    while True:
        forum_ids = [ForumId(forum)] if forum else await tracker.bound_forums(uow=container.uow())
        failed = 0
        for forum_id in forum_ids:

            def show(report: tracker.SyncReport, forum_id: str = forum_id) -> None:
                # On a terminal one line counts up in place; in a log, only the last one shows.
                if not interactive:
                    return
                click.echo(f"\r{_sync_line(forum_id, report)}", nl=False)

            try:
                report = await tracker.sync_forum(
                    forum_id,
                    uow=container.uow(),
                    trackers=container.trackers(),
                    secrets=container.secrets(),
                    ids=container.ids(),
                    clock=container.clock(),
                    holder=holder,
                    progress=show,
                    lease=timedelta(seconds=container.settings().sync_lease_seconds),
                )
            except DomainError as error:
                failed += 1
                click.echo(f"forum {forum_id}: failed: {error.message}", err=True)
                continue
            if report.skipped:
                click.echo(f"forum {forum_id}: another runner has it; skipped")
            else:
                click.echo(f"\r{_sync_line(forum_id, report)} - done")
        if once:
            return 1 if failed else 0
        await asyncio.sleep(interval)


@main.command()
@click.option("--forum", default=None, help="Only this forum (default: every bound forum).")
@click.option("--once", is_flag=True, help="One pass, then exit; the exit code says if all went.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes.")
def sync(forum: str | None, once: bool, interval: float) -> None:
    """Reconcile bound forums with Jira; safe from cron and from several machines at once."""
    code = _with_container(lambda c: _sync(c, forum, once, interval))
    raise SystemExit(code)


@main.command()
@click.option("--concurrency", default=1, show_default=True, help="Dispatch loops at once.")
@click.option("--once", is_flag=True, help="Dispatch what is due now, then exit.")
def worker(concurrency: int, once: bool) -> None:
    """Deliver the outbox (emails, jobs); stops cleanly on SIGTERM or SIGINT."""
    from customercase.entrypoints.worker import dispatch_once, run_workers

    async def work(container: Container) -> None:
        if not once:
            await run_workers(container, concurrency)
            return
        while (report := await dispatch_once(container)).claimed:
            click.echo(
                f"claimed {report.claimed}: sent {report.sent}, retried {report.retried}, "
                f"failed {report.failed}, skipped {report.skipped}"
            )

    _with_container(work)


async def _recheck(container: Container) -> None:
    from customercase.services.spam import recheck_posts

    counts = await recheck_posts(
        uow=container.uow(), spam=container.spam(), clock=container.clock()
    )
    click.echo(", ".join(f"{verdict.value}: {n}" for verdict, n in counts.items()))


@main.command("recheck-spam")
def recheck_spam() -> None:
    """Ask the spam filter again about posts published while it was unreachable."""
    _with_container(_recheck)


def _line(finding: Finding) -> str:
    """One line per check: status, what was checked, what was found, and how to fix it."""
    line = f"{finding.status.value:<4}  {finding.check}: {finding.message}"
    if not finding.hint or finding.status is Status.OK:
        return line
    return (
        f"{line.rstrip('.')}. {'Hint' if finding.status is Status.SKIP else 'Fix'}: {finding.hint}"
    )


async def _doctor(email: str | None) -> int:
    from customercase.bootstrap import build_doctor_container, doctor_secret_box

    container = build_doctor_container(build_container().settings())
    settings = container.settings()
    try:
        findings = await examine(
            Deployment(
                settings.secret_key, settings.public_url, settings.base_url, settings.is_local
            ),
            uow=container.uow(),
            schema=container.schema(),
            mailer=container.mailer(),
            spam=container.spam(),
            identity=container.identity_provider(),
            trackers=container.trackers(),
            secrets=doctor_secret_box(container),
            test_address=email,
        )
    finally:
        await shutdown(container)
    for finding in findings:
        click.echo(_line(finding))
    failed = sum(f.status is Status.FAIL for f in findings)
    warned = sum(f.status is Status.WARN for f in findings)
    click.echo(f"{failed} failed, {warned} warnings, {len(findings)} checks.")
    return 1 if failed else 0


@main.command()
@click.option("--email", default=None, metavar="ADDR", help="Send a test email to this address.")
def doctor(email: str | None) -> None:
    """Check the database, settings and outside services; exit 1 if anything failed."""
    raise SystemExit(asyncio.run(_doctor(email)))


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.pass_context
def run(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Local all-in-one: migrate, seed the demo when empty, serve with the worker in-process."""
    import os

    os.environ.setdefault("CUSTOMERCASE_WORKER_IN_PROCESS", "true")
    os.environ.setdefault("CUSTOMERCASE_IS_LOCAL", "true")
    if host:
        os.environ["CUSTOMERCASE_HOST"] = host
    if port:
        os.environ["CUSTOMERCASE_PORT"] = str(port)
    _with_container(_migrate)
    _with_container(_seed)
    ctx.invoke(serve, host=host, port=port, workers=1)


if __name__ == "__main__":
    main()
