"""What is kept of an inbound email's text: the new words, not the history or the signature."""

from __future__ import annotations

from customercase.domain.inbound import (
    html_to_text,
    looks_automated,
    reply_body,
    sender_ip,
    strip_reply,
    summary_from,
)
from tests.inbound_corpus import (
    APPLE_MAIL_REPLY,
    GMAIL_HTML_ONLY,
    GMAIL_REPLY,
    OUTLOOK_REPLY,
    SIGNED_NEW_REQUEST,
)


def test_a_gmail_reply_keeps_only_what_was_written_above_the_wrapped_quote_line() -> None:
    assert strip_reply(GMAIL_REPLY) == "Sounds great, thanks!"


def test_an_outlook_reply_stops_at_the_rule_and_from_block() -> None:
    assert strip_reply(OUTLOOK_REPLY) == "That would help our whole team."


def test_an_apple_mail_reply_drops_the_sent_from_line_and_the_quote() -> None:
    assert strip_reply(APPLE_MAIL_REPLY) == "Agreed, +1."


def test_a_signature_after_the_delimiter_is_dropped() -> None:
    assert strip_reply(SIGNED_NEW_REQUEST) == (
        "Please let us export reports as CSV files.\nWe need them for the monthly review."
    )


def test_html_only_mail_becomes_text_without_its_gmail_quote() -> None:
    assert (
        html_to_text(GMAIL_HTML_ONLY) == "Please add a dark mode.\nOur night shift would love it."
    )


def test_postmarks_stripped_reply_is_preferred_and_text_is_the_fallback() -> None:
    assert reply_body("Short answer.", GMAIL_REPLY, "") == "Short answer."
    assert reply_body("", GMAIL_REPLY, "<p>ignored</p>") == "Sounds great, thanks!"
    assert reply_body("", "", "<p>Only <i>HTML</i></p>") == "Only HTML"


def test_a_summary_comes_from_the_subject_without_reply_prefixes_else_the_first_line() -> None:
    assert summary_from("Re: Fwd: RE: Dark mode", "") == "Dark mode"
    assert summary_from("", "\n\nPlease add CSV\nmore") == "Please add CSV"
    assert summary_from("Hi\r\nBcc: x@example.com", "") == "Hi Bcc: x@example.com"


def test_mail_from_machines_is_recognised_so_it_is_never_answered() -> None:
    assert looks_automated([("Auto-Submitted", "auto-replied")], "pat@example.net")
    assert looks_automated([("Precedence", "bulk")], "pat@example.net")
    assert looks_automated([], "MAILER-DAEMON@example.net")
    assert not looks_automated([("Auto-Submitted", "no")], "pat@example.net")


def test_the_sending_servers_ip_is_read_from_the_spf_check_and_nothing_else() -> None:
    spf = "Pass (sender SPF authorized) identity=mailfrom; client-ip=2001:db8::25; helo=mx"

    assert sender_ip([("Subject", "client-ip=1.2.3.4"), ("Received-SPF", spf)]) == "2001:db8::25"
    assert sender_ip([("received-spf", "None; client-ip=198.51.100.9")]) == "198.51.100.9"
    assert sender_ip([("Received-SPF", "Pass identity=mailfrom")]) == ""
    assert sender_ip([("X-Originating-IP", "[203.0.113.1]")]) == ""
