"""Outbox dispatch: claim what is due, hand each row to the handler of its kind, record the outcome.

The table from kind to handler is an argument, built in one place (bootstrap.handlers), so a new
kind of job (the Jira ones) plugs in by adding an entry. A row is claimed under a lease rather
than held locked while the network is used: a worker that dies mid-batch leaves its rows to be
claimed again when the lease ends, so each is delivered once, or twice after a crash, never
zero times (DESIGN.md, Outbox dispatch).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from customercase.domain.mail import DeliveryState
from customercase.domain.notifications import Claim, NotificationKind, Outcome
from customercase.domain.ports import Clock, UnitOfWork


class Handler(Protocol):
    async def handle(self, claims: Sequence[Claim]) -> list[Outcome]:
        """One outcome per claim, in order; a failure of one row is its outcome, not a raise."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a claim lasts and how a transient failure is spaced out, then given up."""

    lease_seconds: float = 300.0
    first_delay_seconds: float = 30.0
    max_delay_seconds: float = 3600.0
    # 12 tries spaced 30 s, 1 min, 2 min … 1 h: about a day before a row is marked failed.
    max_attempts: int = 12
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """Exponential backoff with up to 25% jitter; never sooner than the service asked."""
        backoff = min(self.max_delay_seconds, self.first_delay_seconds * 2 ** max(0, attempts - 1))
        backoff *= 1 + 0.25 * self.jitter()
        return timedelta(seconds=max(backoff, retry_after or 0.0))


@dataclass(slots=True)
class DispatchReport:
    """What one round of dispatch did, by outcome."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    fanned_out: int = 0


async def dispatch_due(
    *,
    uow: UnitOfWork,
    handlers: Mapping[NotificationKind, Handler],
    clock: Clock,
    policy: RetryPolicy,
    batch_size: int = 100,
) -> DispatchReport:
    """Deliver up to `batch_size` due notifications and record what became of each."""
    now = clock.now()
    async with uow:
        claims = await uow.outbox.claim(
            now, now + timedelta(seconds=policy.lease_seconds), batch_size
        )
        await uow.commit()
    report = DispatchReport(claimed=len(claims))
    if not claims:
        return report
    outcomes = await _run_handlers(claims, handlers)
    done_at = clock.now()
    async with uow:
        for claim, outcome in zip(claims, outcomes, strict=True):
            await _record(uow, claim, outcome, done_at, policy, report)
        await uow.commit()
    return report


async def _run_handlers(
    claims: Sequence[Claim], handlers: Mapping[NotificationKind, Handler]
) -> list[Outcome]:
    """Each handler gets all of its rows at once (so mail goes out in one batch)."""
    groups: dict[int, tuple[Handler, list[int]]] = {}
    outcomes: list[Outcome | None] = [None] * len(claims)
    for index, claim in enumerate(claims):
        handler = handlers.get(claim.notification.kind)
        if handler is None:
            error = f"no handler for {claim.notification.kind.value}"
            outcomes[index] = Outcome(claim.notification, DeliveryState.FAILED, error)
            continue
        groups.setdefault(id(handler), (handler, []))[1].append(index)
    for handler, indexes in groups.values():
        try:
            results = await handler.handle([claims[i] for i in indexes])
        except Exception as error:  # one broken handler must not lose the others' outcomes
            text = f"{type(error).__name__}: {error}"
            results = [
                Outcome(claims[i].notification, DeliveryState.PENDING, text) for i in indexes
            ]
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = result
    return [o for o in outcomes if o is not None]


async def _record(
    uow: UnitOfWork,
    claim: Claim,
    outcome: Outcome,
    at: datetime,
    policy: RetryPolicy,
    report: DispatchReport,
) -> None:
    notification = claim.notification
    if outcome.state is DeliveryState.PENDING:
        if claim.attempts >= policy.max_attempts:
            error = f"gave up after {claim.attempts} attempts: {outcome.error}"
            if await uow.outbox.finish(notification, DeliveryState.FAILED, at, error):
                report.failed += 1
            return
        due = at + policy.delay(claim.attempts, outcome.retry_after)
        await uow.outbox.retry_at(notification.id, due, outcome.error)
        report.retried += 1
        return
    if not await uow.outbox.finish(notification, outcome.state, at, outcome.error):
        # Another worker took the row over when our lease ran out and closed it: its
        # fan-out stands, and ours would mail every watcher twice.
        report.skipped += 1
        return
    for child in outcome.children:
        await uow.outbox.add(child)
    if outcome.children or (notification.recipient_id is None and not outcome.error):
        report.fanned_out += 1
    elif outcome.state is DeliveryState.SENT:
        report.sent += 1
    elif outcome.state is DeliveryState.FAILED:
        report.failed += 1
    else:
        report.skipped += 1
