"""A spam filter for tests: verdicts chosen by markers in the text, and every call recorded."""

from __future__ import annotations

from customercase.domain.checks import Reach, Verification
from customercase.domain.spam import Submission, Verdict

# The same markers the Akismet emulator reacts to (tests/emulators/akismet.py).
MARKERS = {
    "[[discard]]": Verdict.BLATANT,
    "[[spam]]": Verdict.SPAM,
    "[[unreachable]]": Verdict.UNKNOWN,
}


class FakeSpamFilter:
    def __init__(self, default: Verdict = Verdict.HAM, *, is_instant: bool = False) -> None:
        self.default = default
        # As Akismet by default (asked between a read and the write); True as AllowAll.
        self.is_instant = is_instant
        self.checked: list[Submission] = []
        self.reported_spam: list[Submission] = []
        self.reported_ham: list[Submission] = []
        # What verify() answers, as Akismet's verify-key would.
        self.key_answer = Verification(Reach.OK, "the key is valid")

    async def check(self, submission: Submission) -> Verdict:
        """The verdict of the first marker found in the content, else the default."""
        self.checked.append(submission)
        for marker, verdict in MARKERS.items():
            if marker in submission.content:
                return verdict
        return self.default

    async def report_spam(self, submission: Submission) -> None:
        """Recorded in reported_spam."""
        self.reported_spam.append(submission)

    async def report_ham(self, submission: Submission) -> None:
        """Recorded in reported_ham."""
        self.reported_ham.append(submission)

    async def verify(self) -> Verification:
        """`key_answer`."""
        return self.key_answer
