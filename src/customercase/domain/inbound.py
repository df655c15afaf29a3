"""Mail that comes in: what of it becomes a comment or an idea, and the text worth keeping.

People reply above the quoted history, so the history and the signature are cut: at the first
line that opens a quote in the styles of Gmail ("On … wrote:"), Outlook ("-----Original
Message-----", or a "From:" block after a rule) and Apple Mail ("On … at …, … wrote:",
"Begin forwarded message:"), at lines quoted with ">", and at a signature delimiter or a
"Sent from my …" line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from customercase.domain.ideas import BODY_MAX, DESCRIPTION_MAX, SUMMARY_MAX
from customercase.domain.mail import one_line

_QUOTE_OPENERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*Begin forwarded message:\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
]
_OUTLOOK_HEADER = re.compile(r"^\s*\*?From:\*?\s.+", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject):\*?\s", re.IGNORECASE)
_SIGNATURE = [
    re.compile(r"^--\s*$"),
    re.compile(r"^\s*Sent from my \w+", re.IGNORECASE),
    re.compile(r"^\s*Sent from (Mail|Outlook) for \w+", re.IGNORECASE),
    re.compile(r"^\s*Get Outlook for \w+", re.IGNORECASE),
]
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _opens_quote(lines: list[str], index: int) -> bool:
    line = lines[index]
    # Gmail wraps a long "On …, Name <a@b> wrote:" over two lines.
    joined = line + " " + lines[index + 1] if index + 1 < len(lines) else line
    if any(p.match(line) for p in _QUOTE_OPENERS):
        return True
    if line.strip().lower().startswith("on ") and _QUOTE_OPENERS[0].match(joined):
        return True
    following = lines[index + 1 : index + 4]
    return bool(_OUTLOOK_HEADER.match(line)) and any(_OUTLOOK_NEXT.match(x) for x in following)


def strip_reply(text: str) -> str:
    """The new text of a reply: quoted history, quote markers and signature cut off."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _opens_quote(lines, index) or any(p.match(line) for p in _SIGNATURE):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _TextOfHtml(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul"})
    DROPPED = frozenset({"script", "style", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag in self.DROPPED or "gmail_quote" in classes or self._dropping:
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self._dropping += 1
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            self._dropping -= 1
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail, quoted parts (blockquote, gmail_quote) left out."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def reply_body(stripped: str, text: str, html: str) -> str:
    """What the sender wrote: Postmark's stripped reply, else the text (or HTML) body cut."""
    if stripped.strip():
        return strip_reply(stripped)
    if text.strip():
        return strip_reply(text)
    return strip_reply(html_to_text(html)) if html.strip() else ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_from(subject: str, body: str) -> str:
    """An idea's summary from a mail: the subject without Re:/Fwd:, else the first line."""
    summary = one_line(_REPLY_PREFIX.sub("", subject), SUMMARY_MAX)
    if len(summary) < 3:
        first = next((line for line in body.split("\n") if line.strip()), "")
        summary = one_line(first, SUMMARY_MAX)
    return summary if len(summary) >= 3 else "Request by email"


@dataclass(frozen=True, slots=True)
class InboundEmail:
    """An email Postmark handed us, reduced to what decides its fate."""

    message_id: str
    sender_email: str
    sender_name: str
    mailbox_hashes: tuple[str, ...]
    subject: str
    body: str
    thread_refs: tuple[str, ...] = ()
    attachments: int = 0
    # Sent by a machine (auto-reply, bounce, list): never answered, or mail loops begin.
    is_automated: bool = False
    # The sending mail server's address, for the spam filter; "" when the mail does not say.
    sender_ip: str = ""

    @property
    def comment_body(self) -> str:
        return clip(self.body, BODY_MAX)

    @property
    def description(self) -> str:
        return clip(self.body, DESCRIPTION_MAX)


_ROBOT_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)\b", re.I
)
_AUTOMATED_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


def looks_automated(headers: list[tuple[str, str]], sender: str) -> bool:
    """Whether a mail came from a machine (RFC 3834 and the common conventions)."""
    for name, value in headers:
        key, text = name.strip().lower(), value.strip().lower()
        if key == "auto-submitted" and text != "no":
            return True
        if key == "precedence" and text in _AUTOMATED_PRECEDENCE:
            return True
        if key in ("x-autoreply", "x-autorespond", "list-id", "x-auto-response-suppress"):
            return True
    return bool(_ROBOT_SENDERS.match(sender.strip()))


_CLIENT_IP = re.compile(r"\bclient-ip=([0-9A-Fa-f.:]{2,45})")


def sender_ip(headers: list[tuple[str, str]]) -> str:
    """The sending server's IP, as the receiving server's SPF check saw it (`Received-SPF`)."""
    for name, value in headers:
        if name.strip().lower() == "received-spf":
            found = _CLIENT_IP.search(value)
            if found:
                return found.group(1)
    return ""
