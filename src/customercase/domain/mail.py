"""Email as the domain sees it: a message to send, what became of it, and the addresses that
thread replies back to an idea (API.md, Inbound mail).

No CR or LF from anyone's input may reach a header: `one_line` flattens every value meant for a
header, and `OutgoingEmail` refuses to exist with a line break in one, so a slip is a loud bug
rather than an injected `Bcc:`.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, field

from customercase.domain.ids import ForumId, IdeaId

# Every character that some mail software takes for a line break, and the other controls.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
HEADER_MAX = 998 - len("Subject: ")
_MESSAGE_ID = re.compile(r"<([^<>@\s]+)@([^<>@\s]+)>")


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Nothing to send any more: the recipient left, stopped watching or lost access.
    SKIPPED = "skipped"


def one_line(text: str, limit: int = 200) -> str:
    """A header-safe value: every line break and control flattened to a space, cut to `limit`."""
    flat = " ".join(_BREAKS.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One message to one recipient. Header values are checked: a line break is a bug."""

    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    message_id: str | None = None
    references: tuple[str, ...] = ()
    unsubscribe_url: str | None = None
    tag: str = ""
    stream: str = "outbound"
    # RFC 3834: an automatic answer says so, so that auto-responders do not answer it back.
    auto_submitted: bool = False

    def __post_init__(self) -> None:
        for value in (
            self.to,
            self.subject,
            self.reply_to or "",
            self.message_id or "",
            self.unsubscribe_url or "",
            self.tag,
            self.stream,
            *self.references,
        ):
            if _BREAKS.search(value) or len(value) > HEADER_MAX:
                raise ValueError("a header value must be one line of at most 998 characters")

    def headers(self) -> list[tuple[str, str]]:
        """The custom headers that thread the message and offer one-click unsubscribe."""
        found: list[tuple[str, str]] = []
        if self.message_id:
            found.append(("Message-ID", self.message_id))
        if self.references:
            found.append(("In-Reply-To", self.references[-1]))
            found.append(("References", " ".join(self.references)))
        if self.unsubscribe_url:
            found.append(("List-Unsubscribe", f"<{self.unsubscribe_url}>"))
            found.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        if self.auto_submitted:
            found.append(("Auto-Submitted", "auto-replied"))
        return found


class Delivery(enum.StrEnum):
    SENT = "sent"
    # Worth another try later: the service was down, slow or rate-limited us.
    TRANSIENT = "transient"
    # Never worth retrying: inactive recipient, invalid address, bad credentials.
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one message; `detail` says why in words staff can act on."""

    delivery: Delivery
    detail: str = ""
    provider_id: str | None = None
    retry_after: float | None = None

    @classmethod
    def sent(cls, provider_id: str | None = None) -> DeliveryResult:
        return cls(Delivery.SENT, "", provider_id)

    @classmethod
    def transient(cls, detail: str, retry_after: float | None = None) -> DeliveryResult:
        return cls(Delivery.TRANSIENT, detail, None, retry_after)

    @classmethod
    def permanent(cls, detail: str) -> DeliveryResult:
        return cls(Delivery.PERMANENT, detail)


@dataclass(frozen=True, slots=True)
class StoredEmail:
    """A message kept by the local dev mailbox, to be read in the browser."""

    id: str
    email: OutgoingEmail
    sent_at_iso: str


@dataclass(frozen=True, slots=True)
class ReplyAddress:
    """Where a reply to a notification lands: a forum, and an idea when it is about one."""

    forum_hash: str
    idea_id: IdeaId | None = None


@dataclass(frozen=True, slots=True)
class Signer:
    """HMAC with the service's secret key: stop-watching links and reply addresses."""

    key: bytes = field(repr=False)

    def sign(self, *parts: str, length: int = 16) -> str:
        digest = hmac.new(self.key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
        return digest[:length]

    def verify(self, signature: str, *parts: str, length: int = 16) -> bool:
        return hmac.compare_digest(signature.encode(), self.sign(*parts, length=length).encode())

    def reply_hash(self, forum_hash: str, idea_id: IdeaId | None) -> str:
        """The MailboxHash of a reply address; names the forum, and the idea with a signature."""
        if idea_id is None:
            return forum_hash
        return f"{forum_hash}.{idea_id}.{self.sign('reply', forum_hash, idea_id, length=8)}"

    def read_reply_hash(self, mailbox_hash: str) -> ReplyAddress | None:
        """The forum and idea a MailboxHash names, or None when it is malformed or forged."""
        parts = mailbox_hash.strip().lower().split(".")
        if len(parts) == 1 and parts[0]:
            return ReplyAddress(parts[0])
        if len(parts) == 3 and self.verify(parts[2], "reply", parts[0], parts[1], length=8):
            return ReplyAddress(parts[0], IdeaId(parts[1]))
        return None


@dataclass(frozen=True, slots=True)
class Addressing:
    """How our mail names things: links, reply addresses and Message-IDs."""

    base_url: str
    inbound_address: str
    id_domain: str
    signer: Signer

    def reply_to(self, forum_hash: str, idea_id: IdeaId | None) -> str | None:
        """LOCAL+HASH@DOMAIN from the configured inbound address; None when there is none."""
        if "@" not in self.inbound_address:
            return None
        local, domain = self.inbound_address.split("@", 1)
        return f"{local.split('+', 1)[0]}+{self.signer.reply_hash(forum_hash, idea_id)}@{domain}"

    def idea_url(self, idea_id: IdeaId) -> str:
        return f"{self.base_url}/ideas/{idea_id}"

    def forum_url(self, forum_id: ForumId) -> str:
        return f"{self.base_url}/forums/{forum_id}"

    def stop_watching_url(self, idea_id: IdeaId, user_id: str) -> str:
        signature = self.signer.sign("unwatch", idea_id, user_id)
        return f"{self.base_url}/mail/stop-watching/{idea_id}/{user_id}/{signature}"

    def message_id(self, notification_id: str) -> str:
        return f"<{notification_id}@{self.id_domain}>"

    def thread_id(self, idea_id: IdeaId) -> str:
        """The Message-ID every email about an idea refers to, so clients thread them."""
        return f"<idea-{idea_id}@{self.id_domain}>"

    def idea_in_thread(self, header_values: list[str]) -> IdeaId | None:
        """The idea named by our thread id in In-Reply-To or References values, if any."""
        for value in header_values:
            for local, domain in _MESSAGE_ID.findall(value):
                if domain.lower() == self.id_domain.lower() and local.startswith("idea-"):
                    return IdeaId(local[len("idea-") :])
        return None


@dataclass(frozen=True, slots=True)
class Rendered:
    """An email's subject and bodies, before any header is set."""

    subject: str
    text: str
    html: str
