"""Mail pages: the local dev mailbox, the signed stop-watching link, and deliveries for staff."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from customercase.domain.ids import ForumId, IdeaId, UserId
from customercase.domain.mail import Addressing, DeliveryState, StoredEmail
from customercase.domain.ports import DevMailbox, UnitOfWork
from customercase.domain.users import User as DomainUser
from customercase.entrypoints.http.deps import Injected
from customercase.entrypoints.http.schemas import DeliveryPage, Presenter
from customercase.services import notifications

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}td,th{{padding:.3em .6em;
text-align:left;vertical-align:top}}pre{{white-space:pre-wrap;background:#f6f8fa;padding:1em}}
iframe{{width:100%;height:30em;border:1px solid #d0d7de}}</style></head>
<body>{body}</body></html>"""


def _page(title: str, body: str) -> Response[str]:
    # The stored HTML is shown only inside a sandboxed iframe: it may carry anyone's text.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'"
    }
    return Response(
        PAGE.format(title=escape(title), body=body), media_type="text/html", headers=headers
    )


def _row(stored: StoredEmail) -> str:
    e = stored.email
    return (
        f"<tr><td>{escape(stored.sent_at_iso[:19])}</td><td>{escape(e.to)}</td>"
        f'<td><a href="/dev/mailbox/{escape(stored.id)}">{escape(e.subject)}</a></td></tr>'
    )


def _message(stored: StoredEmail) -> str:
    e = stored.email
    headers = [("To", e.to), ("Subject", e.subject), ("Reply-To", e.reply_to or ""), *e.headers()]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in headers)
    return (
        f'<p><a href="/dev/mailbox">All mail</a></p><h1>{escape(e.subject)}</h1>'
        f"<table>{rows}</table><h2>Text</h2><pre>{escape(e.text)}</pre>"
        f'<h2>HTML</h2><iframe sandbox="" srcdoc="{escape(e.html, quote=True)}"></iframe>'
    )


class DevMailboxController(Controller):
    path = "/dev/mailbox"
    include_in_schema = False

    @get("/", cache=False)
    async def list_mail(self, dev_mailbox: Injected[DevMailbox]) -> Response[str]:
        """The latest mail the local mailbox kept, newest first."""
        stored = await dev_mailbox.recent(200)
        rows = "".join(_row(s) for s in stored) or '<tr><td colspan="3">No mail yet.</td></tr>'
        head = "<tr><th>Sent</th><th>To</th><th>Subject</th></tr>"
        body = f"<h1>Dev mailbox</h1><table>{head}{rows}</table>"
        return _page("Dev mailbox", body)

    @get("/{email_id:str}", cache=False)
    async def show_mail(self, email_id: str, dev_mailbox: Injected[DevMailbox]) -> Response[str]:
        """One kept message: its headers, text and HTML."""
        stored = await dev_mailbox.get(email_id)
        if stored is None:
            raise NotFoundException("No such message.")
        return _page(stored.email.subject, _message(stored))


STOP_FORM = """<h1>Stop emails about this idea?</h1>
<form method="post"><button type="submit">Stop emails</button></form>
<p>You can watch it again from its page at any time.</p>"""
STOPPED = "<h1>Done</h1><p>You will get no more emails about this idea.</p>"


class StopWatchingController(Controller):
    """The signed link in every email about an idea. The GET only asks: mail scanners follow
    links, and must not unsubscribe anyone; the POST (also RFC 8058's one-click from the
    List-Unsubscribe header) does it."""

    path = "/mail/stop-watching/{idea_id:str}/{user_id:str}/{signature:str}"
    include_in_schema = False

    @get("/", cache=False)
    async def ask(
        self, idea_id: str, user_id: str, signature: str, addressing: Injected[Addressing]
    ) -> Response[str]:
        """A page with one button that stops the emails."""
        if not addressing.signer.verify(signature, "unwatch", idea_id, user_id):
            raise NotFoundException("This link is not valid.")
        return _page("Stop emails", STOP_FORM)

    @post("/", status_code=200)
    async def stop(
        self,
        idea_id: str,
        user_id: str,
        signature: str,
        uow: Injected[UnitOfWork],
        addressing: Injected[Addressing],
    ) -> Response[str]:
        """Stop the emails about the idea; the choice sticks."""
        await notifications.stop_watching_by_link(
            IdeaId(idea_id), UserId(user_id), signature, uow=uow, addressing=addressing
        )
        return _page("Stopped", STOPPED)


class DeliveriesController(Controller):
    path = "/api/v1/forums/{forum_id:str}/deliveries"
    tags = ["forums"]

    @get("/", cache=False)
    async def list_deliveries(
        self,
        forum_id: str,
        user: DomainUser | None,
        uow: Injected[UnitOfWork],
        present: Presenter,
        delivery_state: Annotated[
            Literal["pending", "sent", "failed", "skipped"] | None, Parameter(query="state")
        ] = None,
        limit: Annotated[int, Parameter(description="Items, 1 to 100.")] = 50,
        cursor: Annotated[
            str | None, Parameter(description="next_cursor of the page before.", max_length=400)
        ] = None,
    ) -> DeliveryPage:
        """What became of the forum's notification emails, newest first (staff only)."""
        found = await notifications.list_deliveries(
            ForumId(forum_id),
            user.id if user else None,
            DeliveryState(delivery_state) if delivery_state else None,
            limit,
            cursor,
            uow=uow,
        )
        return present.deliveries(found.items, found.next_cursor)
