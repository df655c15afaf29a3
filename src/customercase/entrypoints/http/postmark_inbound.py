"""POST /webhooks/postmark/inbound: mail sent to a forum's mailbox (external-apis.md §2.4).

Postmark retries anything but a 200 for hours, so every message that is stored, repeated,
refused or not routable gets a 200 (API.md); only bad credentials (401) and a body that is not
Postmark's JSON (400) do not. Postmark does not sign webhooks: the basic-auth credentials in the
configured URL are the only proof, compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import msgspec
import structlog
from litestar import Controller, Request, post
from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException

from customercase.domain.inbound import InboundEmail, looks_automated, reply_body, sender_ip
from customercase.domain.mail import Addressing
from customercase.domain.ports import Clock, Ids, SpamFilter, UnitOfWork
from customercase.entrypoints.http.deps import Injected
from customercase.services import inbound

log = structlog.get_logger("customercase.inbound")
# Postmark accepts inbound mail up to 35 MB with attachments, base64 in the JSON: room for that.
INBOUND_MAX_BYTES = 50 * 1024 * 1024


class PostmarkAddress(msgspec.Struct):
    Email: str = ""
    Name: str = ""
    MailboxHash: str = ""


class PostmarkHeader(msgspec.Struct):
    Name: str = ""
    Value: str = ""


class PostmarkInbound(msgspec.Struct):
    MessageID: str
    From: str = ""
    FromName: str = ""
    FromFull: PostmarkAddress | None = None
    ToFull: list[PostmarkAddress] = []
    CcFull: list[PostmarkAddress] = []
    BccFull: list[PostmarkAddress] = []
    MailboxHash: str = ""
    Subject: str = ""
    TextBody: str = ""
    HtmlBody: str = ""
    StrippedTextReply: str = ""
    Headers: list[PostmarkHeader] = []
    Attachments: list[Any] = []


class InboundAnswer(msgspec.Struct):
    outcome: str


def check_basic_auth(header: str | None, expected: tuple[str, str] | None) -> None:
    """404 when inbound mail is not configured; 401 unless the credentials match."""
    if expected is None:
        raise NotFoundException()
    given = b""
    if header and header.lower().startswith("basic "):
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            given = b""
    user, _, password = given.partition(b":")
    # Both compared every time, in constant time, so timing tells nothing.
    ok_user = hmac.compare_digest(user, expected[0].encode())
    ok_password = hmac.compare_digest(password, expected[1].encode())
    if not (ok_user and ok_password):
        raise NotAuthorizedException(
            "Bad credentials.", headers={"WWW-Authenticate": 'Basic realm="inbound"'}
        )


def inbound_email(payload: PostmarkInbound) -> InboundEmail:
    """Postmark's payload, translated at the border into what the use case needs."""
    addresses = [*payload.ToFull, *payload.CcFull, *payload.BccFull]
    hashes = [payload.MailboxHash, *(a.MailboxHash for a in addresses)]
    headers = [(h.Name, h.Value) for h in payload.Headers]
    refs = [value for name, value in headers if name.lower() in ("in-reply-to", "references")]
    sender = payload.FromFull.Email if payload.FromFull and payload.FromFull.Email else payload.From
    name = payload.FromFull.Name if payload.FromFull and payload.FromFull.Name else payload.FromName
    return InboundEmail(
        message_id=payload.MessageID,
        sender_email=sender,
        sender_name=name,
        mailbox_hashes=tuple(dict.fromkeys(h for h in hashes if h)),
        subject=payload.Subject,
        body=reply_body(payload.StrippedTextReply, payload.TextBody, payload.HtmlBody),
        thread_refs=tuple(refs),
        attachments=len(payload.Attachments),
        is_automated=looks_automated(headers, sender),
        sender_ip=sender_ip(headers),
    )


class PostmarkWebhookController(Controller):
    path = "/webhooks/postmark"
    tags = ["webhooks"]

    @post("/inbound", status_code=200, request_max_body_size=INBOUND_MAX_BYTES)
    async def receive(
        self,
        request: Request[Any, Any, Any],
        inbound_credentials: tuple[str, str] | None,
        uow: Injected[UnitOfWork],
        clock: Injected[Clock],
        ids: Injected[Ids],
        addressing: Injected[Addressing],
        spam: Injected[SpamFilter],
    ) -> InboundAnswer:
        """Turn an email into a comment or an idea; 200 for anything Postmark should not retry."""
        check_basic_auth(request.headers.get("authorization"), inbound_credentials)
        try:
            payload = msgspec.json.decode(await request.body(), type=PostmarkInbound)
        except msgspec.DecodeError as error:
            raise ClientException(f"Not Postmark's inbound JSON: {error}") from None
        if not 1 <= len(payload.MessageID) <= 128:
            raise ClientException("MessageID is missing or too long.")
        email = inbound_email(payload)
        outcome = await inbound.receive_email(
            email, uow=uow, clock=clock, ids=ids, addressing=addressing, spam=spam
        )
        log.info("inbound mail", outcome=outcome.value, attachments=email.attachments)
        return InboundAnswer(outcome.value)
