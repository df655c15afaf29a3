"""`customercase doctor` as an operator runs it: a separate process, configured by environment,
against emulators that answer right, refuse our credentials, or are not there at all."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from customercase.adapters.secrets import FernetSecretBox
from customercase.adapters.sql.migrate import upgrade
from customercase.bootstrap import build_container, read_settings, shutdown
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.tracker import TrackerConnection
from customercase.domain.vendors import Forum, JiraBinding, Vendor, Visibility
from tests.emulators.akismet import AkismetEmulator
from tests.emulators.google import CLIENT_ID, CLIENT_SECRET, GoogleEmulator
from tests.emulators.jira import JiraEmulator
from tests.emulators.postmark import SENDER, TOKEN, PostmarkEmulator
from tests.emulators.server import serving
from tests.integration.conftest import SERVER

SECRET_KEY = "k7Qd1xVb9rT3mZp0Lw8sNc2yHf6jGe4uAo5iRt"
AKISMET_KEY = "test-key"
SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass
class Run:
    code: int
    lines: list[str]
    seconds: float

    def line(self, check: str) -> str:
        """The one line of this check: named exactly so, or so and then more (Jira's site)."""
        names = {line: line[6:].split(": ", 1)[0] for line in self.lines}
        found = [line for line, name in names.items() if name == check]
        found = found or [line for line, name in names.items() if name.startswith(f"{check} ")]
        assert len(found) == 1, self.lines
        return found[0]


async def doctor(env: dict[str, str], *args: str) -> Run:
    """Run `customercase doctor` in a process of its own, as an operator would."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMERCASE_")}
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from customercase.entrypoints.cli import main; main()",
        "doctor",
        *args,
        env={**clean, "PYTHONPATH": SRC, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, out.decode().splitlines(), time.monotonic() - started)


def closed_port() -> str:
    """An address where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def migrated(url: str) -> str:
    container = build_container(read_settings({}, database_url=url, secret_key=SECRET_KEY))
    await upgrade(container.engine())
    await shutdown(container)
    return url


@pytest.fixture
async def database(tmp_path: Path) -> str:
    """A migrated SQLite database of the test's own."""
    return await migrated(f"sqlite+aiosqlite:///{tmp_path / 'doctor.sqlite3'}")


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of the test's own: its bound forums are the test's alone."""
    if request.param == "sqlite":
        yield await migrated(f"sqlite+aiosqlite:///{tmp_path / 'doctor.sqlite3'}")
        return
    name = f"cc_doctor_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(SERVER, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield await migrated(f"{base}/{name}")
    admin = await asyncpg.connect(SERVER, timeout=10)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def bind_forum_to_jira(database: str, site_url: str, token: str) -> None:
    """A vendor whose forum is bound to Jira, its connection stored as staff would store it."""
    container = build_container(read_settings({}, database_url=database, secret_key=SECRET_KEY))
    now = datetime.now(UTC)
    vendor = Vendor(VendorId("v-doctor"), "Acme", "acme", now)
    forum = Forum(
        ForumId("f-doctor"),
        vendor.id,
        "Ideas",
        "ideas",
        Visibility.PUBLIC,
        "mailbox-doctor",
        now,
        jira=JiraBinding("SUP"),
    )
    sealed = FernetSecretBox(SECRET_KEY).seal(token)
    async with container.uow() as uow:
        await uow.vendors.add(vendor)
        await uow.forums.add(forum)
        await uow.tracker.save_connection(
            vendor.id, TrackerConnection(site_url, "bot@example.org", sealed), now
        )
        await uow.commit()
    await shutdown(container)


@pytest.fixture
def akismet() -> Iterator[tuple[AkismetEmulator, str]]:
    emulator = AkismetEmulator()
    with serving(emulator) as url:
        yield emulator, url


def configured(
    database: str,
    *,
    postmark: str,
    akismet: str,
    google: str,
    postmark_token: str = TOKEN,
    akismet_key: str = AKISMET_KEY,
    google_secret: str = CLIENT_SECRET,
) -> dict[str, str]:
    """The environment of a deployment with every outside service configured."""
    return {
        "CUSTOMERCASE_DATABASE_URL": database,
        "CUSTOMERCASE_SECRET_KEY": SECRET_KEY,
        "CUSTOMERCASE_PUBLIC_URL": "https://feedback.example.com",
        "CUSTOMERCASE_POSTMARK_SERVER_TOKEN": postmark_token,
        "CUSTOMERCASE_POSTMARK_API_URL": postmark,
        "CUSTOMERCASE_MAIL_FROM": f"Feedback <{SENDER}>",
        "CUSTOMERCASE_AKISMET_KEY": akismet_key,
        "CUSTOMERCASE_AKISMET_API_URL": akismet,
        "CUSTOMERCASE_GOOGLE_CLIENT_ID": CLIENT_ID,
        "CUSTOMERCASE_GOOGLE_CLIENT_SECRET": google_secret,
        "CUSTOMERCASE_GOOGLE_DISCOVERY_URL": f"{google}/.well-known/openid-configuration",
    }


async def test_a_deployment_whose_services_all_answer_passes_and_the_test_email_arrives(
    any_database: str,
    postmark: PostmarkEmulator,
    akismet: tuple[AkismetEmulator, str],
    google_emulator: GoogleEmulator,
    jira_emulator: JiraEmulator,
) -> None:
    await bind_forum_to_jira(any_database, jira_emulator.base_url, "token")
    env = configured(
        any_database, postmark=postmark.url, akismet=akismet[1], google=google_emulator.base_url
    )

    run = await doctor(env, "--email", "ops@example.org")

    assert run.code == 0, run.lines
    statuses = [line.split()[0] for line in run.lines[:-1]]
    assert statuses == ["OK"] * len(statuses), run.lines
    assert "signed in as Case Bot" in run.line("Jira")
    assert "migrated" in run.line("Database schema")
    assert [m["To"] for m in postmark.messages] == ["ops@example.org"]
    assert postmark.messages[0]["From"] == f"Feedback <{SENDER}>"
    assert run.lines[-1] == "0 failed, 0 warnings, 8 checks."


async def test_without_an_address_the_email_check_says_how_to_send_one(
    database: str, postmark: PostmarkEmulator
) -> None:
    env = {
        "CUSTOMERCASE_DATABASE_URL": database,
        "CUSTOMERCASE_SECRET_KEY": SECRET_KEY,
        "CUSTOMERCASE_PUBLIC_URL": "https://feedback.example.com",
        "CUSTOMERCASE_POSTMARK_SERVER_TOKEN": TOKEN,
        "CUSTOMERCASE_POSTMARK_API_URL": postmark.url,
    }

    run = await doctor(env)

    email = run.line("Email (Postmark)")
    assert email.startswith("SKIP") and "doctor --email" in email
    assert postmark.requests == []
    # Services not configured are features that are off, not failures.
    assert run.line("Spam filter (Akismet)").startswith(
        "SKIP  Spam filter (Akismet): not configured"
    )
    assert run.line("Google sign-in").startswith("SKIP  Google sign-in: not configured")
    assert run.line("Jira").startswith("SKIP  Jira: not configured")
    assert run.code == 0, run.lines


async def test_refused_credentials_fail_naming_the_service(
    database: str,
    postmark: PostmarkEmulator,
    akismet: tuple[AkismetEmulator, str],
    google_emulator: GoogleEmulator,
    jira_emulator: JiraEmulator,
) -> None:
    await bind_forum_to_jira(database, jira_emulator.base_url, "revoked-token")
    env = configured(
        database,
        postmark=postmark.url,
        akismet=akismet[1],
        google=google_emulator.base_url,
        postmark_token="wrong-token",
        akismet_key="wrong-key",
        google_secret="wrong-secret",
    )

    run = await doctor(env, "--email", "ops@example.org")

    assert run.code == 1
    for check in ("Email (Postmark)", "Spam filter (Akismet)", "Google sign-in", "Jira"):
        assert run.line(check).startswith(f"FAIL  {check}"), run.lines
        assert "credentials refused" in run.line(check), run.lines
    assert "server token" in run.line("Email (Postmark)")
    assert "key is invalid" in run.line("Spam filter (Akismet)")
    assert "401" in run.line("Jira")
    assert postmark.messages == []
    assert run.line("Database").startswith("OK")


async def test_services_that_do_not_answer_fail_quickly_as_unreachable(database: str) -> None:
    await bind_forum_to_jira(database, closed_port(), "token")
    nobody = closed_port()
    env = configured(database, postmark=nobody, akismet=nobody, google=nobody)

    run = await doctor(env, "--email", "ops@example.org")

    assert run.code == 1
    for check in ("Email (Postmark)", "Spam filter (Akismet)", "Google sign-in", "Jira"):
        assert run.line(check).startswith(f"FAIL  {check}"), run.lines
        assert "cannot be reached" in run.line(check), run.lines
    # Refused connections fail at once; the bound allows for starting Python on a busy machine.
    assert run.seconds < 30


async def test_a_failing_service_is_asked_once_not_retried(
    database: str,
    postmark: PostmarkEmulator,
    akismet: tuple[AkismetEmulator, str],
    google_emulator: GoogleEmulator,
    jira_emulator: JiraEmulator,
) -> None:
    await bind_forum_to_jira(database, jira_emulator.base_url, "token")
    postmark.fail_next(503, times=5)
    akismet[0].fail_next(times=5)
    jira_emulator.faults.fail_next = [503] * 5
    env = configured(
        database, postmark=postmark.url, akismet=akismet[1], google=google_emulator.base_url
    )

    run = await doctor(env, "--email", "ops@example.org")

    assert run.code == 1
    for check in ("Email (Postmark)", "Spam filter (Akismet)", "Jira"):
        assert "cannot be reached" in run.line(check), run.lines
    assert len(postmark.requests) == 1
    assert len(akismet[0].calls_to("verify-key")) == 1
    assert len(jira_emulator.requests) == 1


async def test_an_unmigrated_database_fails_and_says_to_migrate(tmp_path: Path) -> None:
    env = {
        "CUSTOMERCASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}",
        "CUSTOMERCASE_SECRET_KEY": SECRET_KEY,
        "CUSTOMERCASE_PUBLIC_URL": "https://feedback.example.com",
    }

    run = await doctor(env)

    assert run.code == 1
    schema = run.line("Database schema")
    assert schema.startswith("FAIL") and "never migrated" in schema
    assert "customercase migrate" in schema


async def test_an_unreachable_database_fails_within_the_timeout() -> None:
    port = closed_port().rsplit(":", 1)[1]
    env = {
        "CUSTOMERCASE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere",
        "CUSTOMERCASE_SECRET_KEY": SECRET_KEY,
        "CUSTOMERCASE_PUBLIC_URL": "https://feedback.example.com",
    }

    run = await doctor(env)

    assert run.code == 1
    assert run.line("Database").startswith("FAIL  Database: cannot be reached")
    assert run.line("Jira").startswith("SKIP")
    assert run.seconds < 30


async def test_settings_a_deployment_gets_wrong_are_named(database: str) -> None:
    env = {
        "CUSTOMERCASE_DATABASE_URL": database,
        "CUSTOMERCASE_SECRET_KEY": "secret",
        "CUSTOMERCASE_PUBLIC_URL": "http://feedback.example.com",
    }

    run = await doctor(env)

    assert run.code == 1
    assert run.line("Secret key").startswith("FAIL")
    assert "CUSTOMERCASE_SECRET_KEY" in run.line("Secret key")
    assert run.line("Base URL").startswith("FAIL") and "plain http" in run.line("Base URL")
    # Mail that never leaves is the complaint the doctor exists for: a warning, not silence.
    assert run.line("Email (Postmark)").startswith("WARN")


async def test_an_inactive_test_address_is_not_taken_for_a_refused_token(
    database: str, postmark: PostmarkEmulator
) -> None:
    postmark.inactive.add("gone@example.org")
    env = {
        "CUSTOMERCASE_DATABASE_URL": database,
        "CUSTOMERCASE_SECRET_KEY": SECRET_KEY,
        "CUSTOMERCASE_PUBLIC_URL": "https://feedback.example.com",
        "CUSTOMERCASE_POSTMARK_SERVER_TOKEN": TOKEN,
        "CUSTOMERCASE_POSTMARK_API_URL": postmark.url,
        "CUSTOMERCASE_MAIL_FROM": SENDER,
    }

    run = await doctor(env, "--email", "gone@example.org")

    email = run.line("Email (Postmark)")
    assert email.startswith("SKIP") and "the token works" in email and "inactive" in email
    assert run.code == 0, run.lines
