"""Realistic Postmark inbound payloads (external-apis.md §2.4), as mail clients write them."""

from __future__ import annotations

import uuid
from typing import Any

GMAIL_REPLY = """Sounds great, thanks!

On Mon, Jun 3, 2024 at 3:02 PM Customer Case <notifications@customercase.example>
wrote:

> Carol commented on "Dark mode":
>
> Yes please
"""

OUTLOOK_REPLY = """That would help our whole team.

________________________________
From: Customer Case <notifications@customercase.example>
Sent: Monday, June 3, 2024 3:02 PM
To: Pat Lee <pat@example.net>
Subject: Re: Dark mode

Carol commented on "Dark mode": Yes please
"""

APPLE_MAIL_REPLY = """Agreed, +1.

Sent from my iPhone

> On 3 Jun 2024, at 15:02, Customer Case <notifications@customercase.example> wrote:
>
> Carol commented on "Dark mode"
"""

SIGNED_NEW_REQUEST = """Please let us export reports as CSV files.
We need them for the monthly review.

--
Pat Lee
Head of Finance, Example Ltd
"""

GMAIL_HTML_ONLY = (
    '<div dir="ltr">Please add a <b>dark mode</b>.<br>Our night shift would love it.</div>'
    '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jun 3, 2024 '
    "Customer Case wrote:<br></div><blockquote>older text</blockquote></div>"
)


def payload(
    mailbox_hash: str,
    *,
    sender: str = "pat@example.net",
    name: str = "Pat Lee",
    subject: str = "Export reports as CSV",
    text: str = SIGNED_NEW_REQUEST,
    html: str = "",
    stripped: str = "",
    headers: list[dict[str, str]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    to = f"inbox+{mailbox_hash}@inbound.example.test"
    return {
        "FromName": name,
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": name, "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": mailbox_hash}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": message_id or str(uuid.uuid4()),
        "ReplyTo": "",
        "MailboxHash": mailbox_hash,
        "Date": "Mon, 3 Jun 2024 15:02:11 +0200",
        "TextBody": text,
        "HtmlBody": html,
        "StrippedTextReply": stripped,
        "Tag": "",
        "Headers": [
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "Message-ID", "Value": f"<{uuid.uuid4().hex}@mail.example.net>"},
            *(headers or []),
        ],
        "Attachments": attachments or [],
    }
