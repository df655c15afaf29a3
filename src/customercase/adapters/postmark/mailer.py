"""Postmark's /email/batch as our Mailer (reference/external-apis.md §2.1–2.3).

Sends are not idempotent, so a request is retried here only when Postmark cannot have acted on
it (connect errors, 429, 500/503); a read timeout after the bytes went out is reported as
transient instead, and the outbox tries again later, so a message may, rarely, arrive twice but
is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from customercase.domain.checks import Reach, Verification
from customercase.domain.mail import DeliveryResult, OutgoingEmail

log = structlog.get_logger("customercase.postmark")
BATCH_MAX = 500
# ErrorCodes worth another try later (§2.3): maintenance and rate limiting.
TRANSIENT_CODES = frozenset({100, 429})
INACTIVE_RECIPIENT = 406
CODE_MEANINGS = {
    10: "bad or missing server token",
    300: "invalid email request",
    400: "sender signature not found",
    401: "sender signature not confirmed",
    405: "not allowed to send",
    406: "inactive recipient (bounced, complained or unsubscribed)",
    411: "forbidden attachment type",
    412: "account pending",
    413: "account may not send",
}


class _Retryable(Exception):
    """Postmark did not act on the request: safe to send it again."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _message(email: OutgoingEmail, sender: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "From": sender,
        "To": email.to,
        "Subject": email.subject,
        "TextBody": email.text,
        "HtmlBody": email.html,
        "MessageStream": email.stream,
        "Headers": [{"Name": name, "Value": value} for name, value in email.headers()],
    }
    if email.reply_to:
        message["ReplyTo"] = email.reply_to
    if email.tag:
        message["Tag"] = email.tag
    return message


def _described(code: int, text: str) -> str:
    return f"Postmark {code}: {CODE_MEANINGS.get(code, text or 'error')}"


def _item_result(item: Any) -> DeliveryResult:
    if not isinstance(item, dict):
        return DeliveryResult.transient("Postmark answered an unreadable result")
    code = item.get("ErrorCode")
    if code == 0:
        return DeliveryResult.sent(str(item.get("MessageID") or "") or None)
    if not isinstance(code, int):
        return DeliveryResult.transient("Postmark answered an unreadable result")
    detail = f"{_described(code, '')}: {item.get('Message', '')}".rstrip(": ")
    if code in TRANSIENT_CODES:
        return DeliveryResult.transient(detail)
    return DeliveryResult.permanent(detail)


class PostmarkMailer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        sender: str,
        *,
        attempts: int = 4,
        first_wait: float = 0.5,
        max_wait: float = 30.0,
    ) -> None:
        self._client = client
        self._token = token
        self._sender = sender
        self._attempts = attempts
        self._first_wait = first_wait
        self._max_wait = max_wait

    async def send_batch(self, emails: Sequence[OutgoingEmail]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        for start in range(0, len(emails), BATCH_MAX):
            results.extend(await self._send_chunk(emails[start : start + BATCH_MAX]))
        return results

    async def verify(self, probe: OutgoingEmail | None) -> Verification:
        """Send the probe through POST /email once (§2.1): what Postmark says is the answer.

        The contract documents no endpoint that checks a token without sending, so without a
        probe nothing is asked.
        """
        if probe is None:
            return Verification(Reach.UNTESTED, "no test address given")
        try:
            response = await self._client.post(
                "/email",
                json=_message(probe, self._sender),
                headers={"X-Postmark-Server-Token": self._token, "Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            return Verification(Reach.UNREACHABLE, f"no answer ({type(error).__name__})")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code = payload.get("ErrorCode") if isinstance(payload, dict) else None
        text = str(payload.get("Message", "")) if isinstance(payload, dict) else ""
        if response.status_code == 200 and code == 0:
            return Verification(Reach.OK, f"test email to {probe.to} accepted")
        if response.status_code == 401 or code == 10:
            return Verification(Reach.REFUSED, "the server token is refused (Postmark 10)")
        if code == INACTIVE_RECIPIENT:
            # The token and sender passed; only this address is refused.
            detail = f"the token works, but Postmark will not send to {probe.to} (inactive)"
            return Verification(Reach.UNTESTED, detail)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            detail = _described(code, text) if isinstance(code, int) else text
            return Verification(Reach.REFUSED, detail or f"HTTP {response.status_code}")
        return Verification(Reach.UNREACHABLE, f"answered HTTP {response.status_code}")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, self._max_wait)
        backoff = wait_exponential_jitter(
            multiplier=self._first_wait, max=self._max_wait, jitter=self._first_wait
        )
        return float(backoff(state))

    async def _send_chunk(self, emails: Sequence[OutgoingEmail]) -> list[DeliveryResult]:
        body = [_message(email, self._sender) for email in emails]
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Retryable),
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                reraise=True,
            ):
                with attempt:
                    response = await self._post(body)
        except _Retryable as error:
            log.warning("postmark unavailable", detail=error.detail, messages=len(emails))
            return [DeliveryResult.transient(error.detail, error.retry_after) for _ in emails]
        except httpx.TransportError as error:
            # The request may have reached Postmark: let the outbox try later, not us now.
            detail = f"Postmark did not answer: {type(error).__name__}"
            return [DeliveryResult.transient(detail) for _ in emails]
        return self._results(response, emails)

    async def _post(self, body: list[dict[str, Any]]) -> httpx.Response:
        try:
            response = await self._client.post(
                "/email/batch",
                json=body,
                headers={"X-Postmark-Server-Token": self._token, "Accept": "application/json"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise _Retryable(f"Postmark unreachable: {type(error).__name__}") from error
        if response.status_code == 429:
            raise _Retryable("Postmark 429: rate limited", _retry_after(response))
        if response.status_code in (500, 502, 503, 504):
            raise _Retryable(f"Postmark answered HTTP {response.status_code}")
        return response

    def _results(
        self, response: httpx.Response, emails: Sequence[OutgoingEmail]
    ) -> list[DeliveryResult]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if (
            response.status_code == 200
            and isinstance(payload, list)
            and len(payload) == len(emails)
        ):
            return [_item_result(item) for item in payload]
        if response.status_code == 200:
            detail = "Postmark answered 200 with an unreadable body"
            return [DeliveryResult.transient(detail) for _ in emails]
        code = payload.get("ErrorCode") if isinstance(payload, dict) else None
        text = payload.get("Message", "") if isinstance(payload, dict) else ""
        if isinstance(code, int) and code in TRANSIENT_CODES:
            return [DeliveryResult.transient(_described(code, text)) for _ in emails]
        detail = (
            _described(code, text)
            if isinstance(code, int)
            else f"Postmark answered HTTP {response.status_code}"
        )
        log.error("postmark refused a batch", status=response.status_code, detail=detail)
        return [DeliveryResult.permanent(detail) for _ in emails]
