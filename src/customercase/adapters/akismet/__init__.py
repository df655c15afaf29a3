"""Akismet (rest.akismet.com 1.1) as our SpamFilter: comment-check, submit-spam, submit-ham.

Every verdict comes back as HTTP 200 text/plain; anything but `true`/`false` (an `invalid` key,
a missing field) or a non-200 is an infrastructure problem, answered as Verdict.UNKNOWN so the
post is published and re-checked later (fail-open: an outage must not silence customers).
"""

from __future__ import annotations

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_fixed,
)

from customercase.domain.checks import Reach, Verification
from customercase.domain.spam import PostKind, Submission, Verdict

log = structlog.get_logger("customercase.akismet")

USER_AGENT = "CustomerCase/0.1 | akismet-adapter/0.1"
COMMENT_TYPES = {PostKind.IDEA: "forum-post", PostKind.COMMENT: "reply"}
DEFAULT_API_URL = "https://rest.akismet.com"
THANKS = "Thanks for making the web a better place."


class AkismetUnavailable(Exception):
    """Akismet did not give a usable answer (transport error, 429, 5xx)."""


def _retryable(error: BaseException) -> bool:
    return isinstance(error, AkismetUnavailable | httpx.TransportError)


class AkismetSpamFilter:
    is_instant = False  # asks Akismet over the network

    def __init__(
        self,
        *,
        api_key: str,
        blog: str,
        client: httpx.AsyncClient,
        api_url: str = DEFAULT_API_URL,
        blog_lang: str = "en",
        timeout_seconds: float = 1.5,
        attempts: int = 2,
        retry_wait_seconds: float = 0.2,
    ) -> None:
        self._key = api_key
        self._blog = blog
        self._client = client
        self._url = api_url.rstrip("/")
        self._lang = blog_lang
        self._timeout = timeout_seconds
        # Retry once on a timeout or a 5xx, as Akismet's own clients do; then give up.
        self._attempts = attempts
        self._wait = retry_wait_seconds

    def _params(self, submission: Submission) -> dict[str, str]:
        origin = submission.origin
        params = {
            "api_key": self._key,
            "blog": self._blog,
            "user_ip": origin.ip,
            "user_agent": origin.user_agent,
            "referrer": origin.referrer,
            "permalink": origin.permalink,
            "comment_type": COMMENT_TYPES[submission.kind],
            "comment_author": submission.author_name,
            "comment_author_email": submission.author_email,
            "comment_content": submission.content,
            "blog_lang": self._lang,
            "blog_charset": "UTF-8",
        }
        # user_ip and blog are required even when empty; the rest only when known.
        return {k: v for k, v in params.items() if v or k in ("user_ip", "blog")}

    async def _post(self, endpoint: str, data: dict[str, str]) -> httpx.Response:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_fixed(self._wait),
            retry=retry_if_exception(_retryable),
        ):
            with attempt:
                response = await self._client.post(
                    f"{self._url}/1.1/{endpoint}",
                    data=data,
                    headers={"User-Agent": USER_AGENT},
                    timeout=self._timeout,
                )
                if response.status_code != 200:
                    raise AkismetUnavailable(f"HTTP {response.status_code}")
        return response

    def _note_alert(self, response: httpx.Response) -> None:
        code = response.headers.get("X-akismet-alert-code")
        if code:
            # Account alerts (a lapsed plan, say) are for the admins to read in the logs.
            log.warning(
                "akismet alert", code=code, message=response.headers.get("X-akismet-alert-msg")
            )

    async def check(self, submission: Submission) -> Verdict:
        """Judge a new post; Verdict.UNKNOWN when Akismet cannot be asked (never raises)."""
        try:
            response = await self._post("comment-check", self._params(submission))
        except (RetryError, AkismetUnavailable, httpx.HTTPError) as error:
            log.warning("akismet unreachable", error=repr(error))
            return Verdict.UNKNOWN
        self._note_alert(response)
        body = response.text.strip()
        if body == "true":
            discard = response.headers.get("X-akismet-pro-tip", "").lower() == "discard"
            return Verdict.BLATANT if discard else Verdict.SPAM
        if body == "false":
            return Verdict.HAM
        log.error(
            "akismet gave no verdict",
            body=body[:100],
            help=response.headers.get("X-akismet-debug-help"),
        )
        return Verdict.UNKNOWN

    async def _report(self, endpoint: str, submission: Submission) -> None:
        try:
            response = await self._post(endpoint, self._params(submission))
        except (RetryError, AkismetUnavailable, httpx.HTTPError) as error:
            log.warning("akismet feedback lost", endpoint=endpoint, error=repr(error))
            return
        if response.text.strip() != THANKS:
            log.error("akismet refused feedback", endpoint=endpoint, body=response.text[:100])

    async def report_spam(self, submission: Submission) -> None:
        """Tell Akismet it let this spam through; a failure is logged, never raised."""
        await self._report("submit-spam", submission)

    async def report_ham(self, submission: Submission) -> None:
        """Tell Akismet this post it took for spam is not; a failure is logged, never raised."""
        await self._report("submit-ham", submission)

    async def verify_key(self) -> bool:
        """Whether Akismet accepts our key for our site; raise AkismetUnavailable if unreachable."""
        try:
            response = await self._post("verify-key", {"api_key": self._key, "blog": self._blog})
        except (RetryError, httpx.HTTPError) as error:
            raise AkismetUnavailable(repr(error)) from error
        return response.text.strip() == "valid"

    async def verify(self) -> Verification:
        """verify-key (§3.1): `valid`, `invalid`, or no usable answer."""
        try:
            response = await self._post("verify-key", {"api_key": self._key, "blog": self._blog})
        except (RetryError, AkismetUnavailable, httpx.HTTPError) as error:
            cause = error.last_attempt.exception() if isinstance(error, RetryError) else error
            return Verification(Reach.UNREACHABLE, f"no usable answer ({cause!r})")
        body = response.text.strip()
        if body == "valid":
            return Verification(Reach.OK, f"the key is valid for {self._blog}")
        if body == "invalid":
            help_text = response.headers.get("X-akismet-debug-help", "")
            return Verification(
                Reach.REFUSED, f"the key is invalid for {self._blog}. {help_text}".strip()
            )
        return Verification(Reach.UNREACHABLE, f"answered {body[:60]!r}, neither valid nor invalid")
