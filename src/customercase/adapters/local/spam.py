"""The spam filter `make run` uses when no Akismet key is set: everything is ham."""

from __future__ import annotations

from customercase.domain.checks import Reach, Verification
from customercase.domain.spam import Submission, Verdict


class AllowAllSpamFilter:
    is_instant = True  # nothing to ask

    async def check(self, submission: Submission) -> Verdict:
        """Every post is ham."""
        return Verdict.HAM

    async def report_spam(self, submission: Submission) -> None:
        """Nobody to tell."""

    async def report_ham(self, submission: Submission) -> None:
        """Nobody to tell."""

    async def verify(self) -> Verification:
        """Nothing to ask: no filter is configured."""
        return Verification(Reach.OFF, "spam checks are off")
