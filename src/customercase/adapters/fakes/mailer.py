"""The Mailer's twin: keeps what it was asked to send, and refuses what Postmark would refuse."""

from __future__ import annotations

from collections.abc import Sequence

from customercase.domain.checks import Reach, Verification
from customercase.domain.mail import Delivery, DeliveryResult, OutgoingEmail
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
        # Set to make verify() answer as Postmark does to a refused server token.
        self.token_refused = False

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

    async def verify(self, probe: OutgoingEmail | None) -> Verification:
        """Sends the probe as send_batch would; `token_refused` refuses it as Postmark would."""
        if probe is None:
            return Verification(Reach.UNTESTED, "no test address given")
        if self.token_refused:
            return Verification(Reach.REFUSED, "the server token is refused")
        result = (await self.send_batch([probe]))[0]
        if result.delivery is Delivery.SENT:
            return Verification(Reach.OK, f"test email to {probe.to} accepted")
        if result.delivery is Delivery.PERMANENT:
            return Verification(Reach.REFUSED, result.detail)
        return Verification(Reach.UNREACHABLE, result.detail)
