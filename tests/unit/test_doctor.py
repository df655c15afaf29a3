"""The doctor's judgements on the in-memory fakes: what each answer and setting turns into."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customercase.adapters.fakes.identity import FakeIdentityProvider
from customercase.adapters.fakes.mailer import FakeMailer
from customercase.adapters.fakes.memory import InMemoryStore, InMemoryUnitOfWork
from customercase.adapters.fakes.schema import FakeSchema
from customercase.adapters.fakes.secrets import FakeSecretBox
from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.adapters.fakes.tracker import FakeIssueTrackers
from customercase.domain.checks import Reach, Verification
from customercase.domain.ids import ForumId, VendorId
from customercase.domain.tracker import TrackerConnection
from customercase.domain.vendors import Forum, JiraBinding, Vendor, Visibility
from customercase.services.doctor import Deployment, Finding, Status, examine

GOOD = Deployment(
    "k7Qd1xVb9rT3mZp0Lw8sNc2yHf6jGe4uAo5iRt",
    "https://f.example.com",
    "https://f.example.com",
    False,
)


class Doctor:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.schema = FakeSchema()
        self.mailer = FakeMailer()
        self.spam = FakeSpamFilter()
        self.identity = FakeIdentityProvider()
        self.trackers = FakeIssueTrackers()
        self.secrets = FakeSecretBox()

    async def bind_jira(self, sealed_token: str) -> None:
        now = datetime.now(UTC)
        vendor = Vendor(VendorId("v1"), "Acme", "acme", now)
        forum = Forum(
            ForumId("f1"),
            vendor.id,
            "Ideas",
            "ideas",
            Visibility.PUBLIC,
            "m1",
            now,
            jira=JiraBinding("SUP"),
        )
        async with InMemoryUnitOfWork(self.store) as uow:
            await uow.vendors.add(vendor)
            await uow.forums.add(forum)
            connection = TrackerConnection("https://acme.example", "bot@example.org", sealed_token)
            await uow.tracker.save_connection(vendor.id, connection, now)
            await uow.commit()

    async def examine(
        self, deployment: Deployment = GOOD, address: str | None = "ops@example.org"
    ) -> dict[str, Finding]:
        findings = await examine(
            deployment,
            uow=InMemoryUnitOfWork(self.store),
            schema=self.schema,
            mailer=self.mailer,
            spam=self.spam,
            identity=self.identity,
            trackers=self.trackers,
            secrets=self.secrets,
            test_address=address,
        )
        return {f.check.split(" (")[0].split(" https")[0]: f for f in findings}


async def test_everything_answering_right_is_ok_and_the_probe_is_sent() -> None:
    doctor = Doctor()
    await doctor.bind_jira(FakeSecretBox().seal("token"))

    found = await doctor.examine()

    assert {name: f.status for name, f in found.items()} == dict.fromkeys(found, Status.OK)
    assert [m.to for m in doctor.mailer.sent] == ["ops@example.org"]
    assert doctor.mailer.sent[0].auto_submitted


async def test_refusals_and_outages_fail_with_a_fix() -> None:
    doctor = Doctor()
    await doctor.bind_jira(FakeSecretBox().seal("revoked"))
    doctor.mailer.token_refused = True
    doctor.spam.key_answer = Verification(Reach.REFUSED, "the key is invalid")
    doctor.identity.check_answer = Verification(Reach.UNREACHABLE, "no answer")

    found = await doctor.examine()

    for name in ("Email", "Spam filter", "Jira"):
        assert found[name].status is Status.FAIL
        assert found[name].message.startswith("credentials refused"), found[name]
        assert found[name].hint
    assert found["Google sign-in"].message == "cannot be reached: no answer"


async def test_a_token_sealed_with_another_key_is_named() -> None:
    doctor = Doctor()
    await doctor.bind_jira("sealed by some other box")

    jira = (await doctor.examine())["Jira"]

    assert jira.status is Status.FAIL
    assert "another secret key" in jira.message


async def test_a_database_behind_names_both_revisions() -> None:
    doctor = Doctor()
    doctor.schema.current = "older"

    found = await doctor.examine()

    assert found["Database schema"].status is Status.FAIL
    assert "older" in found["Database schema"].message
    assert "customercase migrate" in found["Database schema"].hint
    assert found["Jira"].status is Status.SKIP


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("", Status.FAIL),
        ("secret", Status.FAIL),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Status.FAIL),
        ("short-but-random-Xy7", Status.FAIL),
        ("k7Qd1xVb9rT3mZp0Lw8sNc2yHf6jGe4uAo5iRt", Status.OK),
    ],
)
async def test_secret_keys(key: str, status: Status) -> None:
    deployment = Deployment(key, GOOD.public_url, GOOD.base_url, False)

    assert (await Doctor().examine(deployment))["Secret key"].status is status


@pytest.mark.parametrize(
    ("public_url", "is_local", "status"),
    [
        ("https://feedback.example.com", False, Status.OK),
        ("http://feedback.example.com", False, Status.FAIL),
        ("", False, Status.WARN),
        ("http://localhost:8000", True, Status.OK),
        ("feedback.example.com", False, Status.FAIL),
    ],
)
async def test_base_urls(public_url: str, is_local: bool, status: Status) -> None:
    base = (public_url or "http://127.0.0.1:8000").rstrip("/")
    deployment = Deployment(GOOD.secret_key, public_url, base, is_local)

    assert (await Doctor().examine(deployment))["Base URL"].status is status


async def test_without_an_address_no_email_is_sent_and_the_line_says_how() -> None:
    doctor = Doctor()

    email = (await doctor.examine(address=None))["Email"]

    assert email.status is Status.SKIP
    assert "--email" in email.hint
    assert doctor.mailer.sent == []
