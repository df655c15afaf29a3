"""How fast mail moves: notifications a worker delivers per second to the Postmark emulator,
and inbound webhooks per second the app stores.

    PYTHONPATH=src python -m benchmarks.mail [--notifications 2000] [--inbound 500]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Without --database-url it runs on a fresh SQLite file (the `make run` default).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tests.emulators.postmark import SENDER, TOKEN, PostmarkEmulator
from tests.inbound_corpus import payload

from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings, shutdown
from customercase.domain.ideas import Idea
from customercase.domain.ids import ForumId, IdeaId, UserId, VendorId
from customercase.domain.notifications import Notification, NotificationKind
from customercase.domain.users import User
from customercase.domain.vendors import Forum, Vendor, Visibility
from customercase.entrypoints.http.app import create_asgi
from customercase.entrypoints.logs import configure_logging
from customercase.entrypoints.worker import dispatch_once


async def main(notifications: int, inbound: int, database_url: str | None) -> None:
    configure_logging("warning")
    emulator = PostmarkEmulator()
    emulator.start()
    url = database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    settings = read_settings(
        {},
        database_url=url,
        postmark_server_token=TOKEN,
        postmark_api_url=emulator.url,
        mail_from=SENDER,
        inbound_address="inbox@inbound.example.test",
        postmark_inbound_username="u",
        postmark_inbound_password="p",  # noqa: S106 - a throwaway local credential
        worker_batch_size=500,
    )
    container = build_container(settings)
    await upgrade(container.engine())
    now = datetime.now(UTC)
    vendor = Vendor(VendorId(uuid.uuid4().hex), "Bench", uuid.uuid4().hex[:20], now)
    forum = Forum(
        ForumId(uuid.uuid4().hex),
        vendor.id,
        "F",
        "f",
        Visibility.PUBLIC,
        uuid.uuid4().hex[:16],
        now,
    )
    users = [
        User(UserId(uuid.uuid4().hex), f"{uuid.uuid4().hex}@example.org", f"User {n}", now)
        for n in range(notifications)
    ]
    idea = Idea.submit(
        id=IdeaId(uuid.uuid4().hex),
        forum_id=forum.id,
        author_id=users[0].id,
        summary="Benchmark idea",
        description=None,
        now=now,
    )
    async with container.uow() as uow:
        await uow.vendors.add(vendor)
        await uow.forums.add(forum)
        for user in users:
            await uow.users.add(user)
        await uow.ideas.add(idea)
        for user in users:
            await uow.outbox.add(
                Notification(
                    uuid.uuid4().hex,
                    NotificationKind.REQUEST_SUBMITTED,
                    now,
                    recipient_id=user.id,
                    idea_id=idea.id,
                )
            )
        await uow.commit()

    started = time.perf_counter()
    while (await dispatch_once(container)).claimed:
        pass
    elapsed = time.perf_counter() - started
    delivered = len(emulator.messages)
    print(f"outbound: {delivered} notifications in {elapsed:.2f} s = {delivered / elapsed:.0f}/s")

    transport = httpx.ASGITransport(app=create_asgi(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        for n in range(inbound):
            answer = await client.post(
                "/webhooks/postmark/inbound",
                json=payload(forum.mailbox_hash, subject=f"Inbound idea {n}"),
                auth=("u", "p"),
            )
            assert answer.status_code == 200, answer.text
        elapsed = time.perf_counter() - started
    print(f"inbound: {inbound} webhooks stored in {elapsed:.2f} s = {inbound / elapsed:.0f}/s")
    emulator.stop()
    await shutdown(container)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--inbound", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.notifications, args.inbound, args.database_url))
