"""The local dev mailbox page: what `make run` would have emailed, readable in the browser."""

from __future__ import annotations

from html import escape

from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException

from customercase.domain.mail import StoredEmail
from customercase.domain.ports import DevMailbox
from customercase.entrypoints.http.deps import Injected

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
