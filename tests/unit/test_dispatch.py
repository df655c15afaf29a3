"""How the outbox spaces out retries of a notification that could not go out."""

from __future__ import annotations

from datetime import timedelta

from customercase.services.dispatch import RetryPolicy

STEADY = RetryPolicy(first_delay_seconds=30, max_delay_seconds=3600, jitter=lambda: 0.0)


def test_each_failed_attempt_doubles_the_wait_up_to_the_cap() -> None:
    waits = [STEADY.delay(attempts) for attempts in range(1, 10)]

    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=1)


def test_a_retry_after_longer_than_the_backoff_is_honoured() -> None:
    assert STEADY.delay(1, retry_after=600) == timedelta(seconds=600)
    assert STEADY.delay(3, retry_after=1) == timedelta(seconds=120)


def test_jitter_spreads_retries_by_at_most_a_quarter() -> None:
    most = RetryPolicy(first_delay_seconds=30, jitter=lambda: 1.0)

    assert most.delay(1) == timedelta(seconds=37.5)
