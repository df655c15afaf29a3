"""The Mailer's twin: keeps what it was asked to send, and refuses what Postmark would refuse."""

from __future__ import annotations

from collections.abc import Sequence

from customercase.domain.mail import DeliveryResult, OutgoingEmail
from customercase.domain.users import EMAIL_PATTERN


class FakeMailer:
    """Sends nothing; `sent` lists what was delivered, in order.

    `inactive` holds addresses that bounced before (Postmark's ErrorCode 406); `unavailable`
    makes the next that many batches fail as an outage would.
    """

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.inactive: set[str] = set()
        self.unavailable = 0

    async def send_batch(self, emails: Sequence[OutgoingEmail]) -> list[DeliveryResult]:
        if self.unavailable > 0:
            self.unavailable -= 1
            return [DeliveryResult.transient("the mail service is unavailable") for _ in emails]
        results = []
        for email in emails:
            if not EMAIL_PATTERN.match(email.to):
                results.append(DeliveryResult.permanent(f"invalid address: {email.to}"))
            elif email.to.lower() in self.inactive:
                results.append(DeliveryResult.permanent("inactive recipient"))
            else:
                self.sent.append(email)
                results.append(DeliveryResult.sent(f"fake-{len(self.sent)}"))
        return results
