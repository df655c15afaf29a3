"""The Akismet adapter over real HTTP against the emulator, and its fake, held to one contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from customercase.adapters.akismet import AkismetSpamFilter
from customercase.adapters.fakes.spam import FakeSpamFilter
from customercase.domain.ports import SpamFilter
from customercase.domain.spam import Origin, PostKind, Submission, Verdict
from tests.emulators.akismet import THANKS, AkismetEmulator
from tests.emulators.server import serving

BLOG = "https://feedback.example.com"


@pytest.fixture(scope="module")
def emulated() -> Iterator[tuple[AkismetEmulator, str]]:
    emulator = AkismetEmulator()
    with serving(emulator) as url:
        yield emulator, url


@pytest.fixture
def emulator(emulated: tuple[AkismetEmulator, str]) -> Iterator[AkismetEmulator]:
    emulator = emulated[0]
    yield emulator
    emulator.calls.clear()
    emulator.mode, emulator.slow_seconds, emulator.malformed = None, 0.0, False
    emulator.keys = {"test-key"}


@pytest.fixture
async def akismet(
    emulated: tuple[AkismetEmulator, str], emulator: AkismetEmulator
) -> AsyncIterator[AkismetSpamFilter]:
    async with httpx.AsyncClient() as client:
        yield AkismetSpamFilter(
            api_key="test-key",
            blog=BLOG,
            client=client,
            api_url=emulated[1],
            blog_lang="en, fr_ca",
            timeout_seconds=0.5,
            retry_wait_seconds=0.01,
        )


def a_post(content: str = "Please add dark mode", author: str = "Ada") -> Submission:
    return Submission(
        PostKind.IDEA,
        content,
        author,
        "ada@example.org",
        Origin("203.0.113.7", "Mozilla/5.0", "https://ref.example/", f"{BLOG}/forums/f1"),
    )


@pytest.fixture(params=["fake", "akismet"])
def spam_filter(request: pytest.FixtureRequest) -> SpamFilter:
    if request.param == "fake":
        return FakeSpamFilter()
    adapter: SpamFilter = request.getfixturevalue("akismet")
    return adapter


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        ("Please add dark mode", Verdict.HAM),
        ("Cheap watches [[spam]]", Verdict.SPAM),
        ("Buy now [[discard]]", Verdict.BLATANT),
    ],
)
async def test_each_verdict_comes_back_as_the_filter_gave_it(
    spam_filter: SpamFilter, content: str, verdict: Verdict
) -> None:
    assert await spam_filter.check(a_post(content)) is verdict


async def test_comment_check_carries_every_useful_field(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    await akismet.check(a_post("Hello there"))

    (call,) = emulator.calls_to("comment-check")
    assert call.params == {
        "api_key": "test-key",
        "blog": BLOG,
        "user_ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        "referrer": "https://ref.example/",
        "permalink": f"{BLOG}/forums/f1",
        "comment_type": "forum-post",
        "comment_author": "Ada",
        "comment_author_email": "ada@example.org",
        "comment_content": "Hello there",
        "blog_lang": "en, fr_ca",
        "blog_charset": "UTF-8",
    }
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.headers["user-agent"].startswith("CustomerCase/")


async def test_akismets_own_test_author_is_spam(akismet: AkismetSpamFilter) -> None:
    assert await akismet.check(a_post(author="akismet-guaranteed-spam")) is Verdict.SPAM


async def test_a_timeout_is_retried_once_then_gives_an_unknown_verdict(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.slow_seconds = 1.0

    verdict = await akismet.check(a_post("Cheap watches [[spam]]"))

    assert verdict is Verdict.UNKNOWN
    assert len(emulator.calls_to("comment-check")) == 2


async def test_one_server_error_is_retried_and_the_second_answer_counts(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.fail_next(1, status=503)

    verdict = await akismet.check(a_post("Cheap watches [[spam]]"))

    assert verdict is Verdict.SPAM
    assert len(emulator.calls_to("comment-check")) == 2


async def test_being_rate_limited_twice_gives_an_unknown_verdict(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.fail_next(2, status=429)

    assert await akismet.check(a_post()) is Verdict.UNKNOWN


async def test_a_malformed_answer_gives_an_unknown_verdict(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.malformed = True

    assert await akismet.check(a_post("Cheap watches [[spam]]")) is Verdict.UNKNOWN


async def test_a_refused_key_gives_an_unknown_verdict_not_ham(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.keys = {"another-key"}

    assert await akismet.check(a_post("Cheap watches [[spam]]")) is Verdict.UNKNOWN
    assert await akismet.verify_key() is False


async def test_a_good_key_verifies(akismet: AkismetSpamFilter) -> None:
    assert await akismet.verify_key() is True


async def test_feedback_reaches_akismet_with_the_values_that_were_checked(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    post = a_post("Was it spam?")
    await akismet.check(post)

    await akismet.report_spam(post)
    await akismet.report_ham(post)

    checked = emulator.calls_to("comment-check")[0].params
    assert emulator.calls_to("submit-spam")[0].params == checked
    assert emulator.calls_to("submit-ham")[0].params == checked


async def test_feedback_to_an_unreachable_akismet_is_not_an_error(
    akismet: AkismetSpamFilter, emulator: AkismetEmulator
) -> None:
    emulator.fail_next(2, status=500)

    await akismet.report_spam(a_post())

    assert len(emulator.calls_to("submit-spam")) == 2


async def test_the_emulator_takes_the_key_in_the_host_and_wants_a_user_ip(
    emulated: tuple[AkismetEmulator, str], emulator: AkismetEmulator
) -> None:
    async with httpx.AsyncClient() as client:
        legacy = await client.post(
            f"{emulated[1]}/1.1/comment-check",
            data={"blog": BLOG, "user_ip": "203.0.113.7", "comment_content": "[[spam]]"},
            headers={"Host": "test-key.rest.akismet.com"},
        )
        no_ip = await client.post(
            f"{emulated[1]}/1.1/comment-check", data={"api_key": "test-key", "blog": BLOG}
        )
        thanks = await client.post(
            f"{emulated[1]}/1.1/submit-ham",
            data={"api_key": "test-key", "blog": BLOG, "user_ip": "1.2.3.4"},
        )

    assert legacy.text == "true" and "x-akismet-guid" in legacy.headers
    assert no_ip.text not in ("true", "false") and "x-akismet-debug-help" in no_ip.headers
    assert thanks.text == THANKS
