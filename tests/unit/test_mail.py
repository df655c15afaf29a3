"""Header safety, reply addresses and thread ids: the rules of outgoing mail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customercase.domain.ids import IdeaId
from customercase.domain.mail import Addressing, OutgoingEmail, Signer, one_line

SIGNER = Signer(b"k" * 32)
ADDRESSING = Addressing("https://cc.example", "inbox@inbound.example", "cc.example", SIGNER)


@given(st.text())
def test_one_line_never_leaves_a_line_break_of_any_kind(text: str) -> None:
    flat = one_line(text)

    assert not any(ch in flat for ch in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert len(flat) <= 200


@pytest.mark.parametrize("field", ["to", "subject", "reply_to", "tag"])
def test_an_email_with_a_line_break_in_a_header_cannot_exist(field: str) -> None:
    fields = {"to": "a@example.net", "subject": "s", "text": "t", "html": "h"}
    fields[field] = "x\r\nBcc: victim@example.com"

    with pytest.raises(ValueError, match="header"):
        OutgoingEmail(**fields)  # type: ignore[arg-type]


def test_a_reply_address_names_the_forum_and_the_idea_and_reads_back() -> None:
    address = ADDRESSING.reply_to("f0rumhash", IdeaId("idea1"))
    assert address is not None
    mailbox_hash = address.split("+", 1)[1].split("@", 1)[0]

    read = SIGNER.read_reply_hash(mailbox_hash)

    assert address.startswith("inbox+f0rumhash.idea1.") and address.endswith("@inbound.example")
    assert read is not None and (read.forum_hash, read.idea_id) == ("f0rumhash", "idea1")


def test_a_reply_hash_pointing_at_another_idea_is_not_believed() -> None:
    genuine = SIGNER.reply_hash("f0rumhash", IdeaId("idea1"))
    forged = genuine.replace("idea1", "idea2")

    assert SIGNER.read_reply_hash(forged) is None
    assert SIGNER.read_reply_hash("f0rumhash") is not None


def test_without_an_inbound_address_there_is_no_reply_to() -> None:
    quiet = Addressing("https://cc.example", "", "cc.example", SIGNER)

    assert quiet.reply_to("f0rumhash", IdeaId("idea1")) is None


def test_the_thread_id_is_found_again_in_references() -> None:
    thread = ADDRESSING.thread_id(IdeaId("idea1"))

    found = ADDRESSING.idea_in_thread([f"<other@mail.example> {thread}"])
    foreign = ADDRESSING.idea_in_thread(["<idea-idea1@elsewhere.example>"])

    assert found == "idea1" and foreign is None
