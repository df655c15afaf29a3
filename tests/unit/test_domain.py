"""The model's rules on their own: validation, sessions, who may see a forum, cursors, heat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from customercase.domain.cursors import cursor_time, decode_cursor, encode_cursor
from customercase.domain.errors import InvalidField
from customercase.domain.ideas import (
    Status,
    check_body,
    check_description,
    check_limit,
    check_summary,
)
from customercase.domain.trending import EPOCH, heat_of
from customercase.domain.users import (
    check_name,
    check_password,
    hash_token,
    normalise_email,
)
from customercase.domain.vendors import Role, Viewer, Visibility, check_domains, check_slug
from tests.builders import NOW, a_forum, a_session, a_user, an_idea
from tests.strategies import bodies, slugs, summaries


def test_summary_under_three_characters_is_refused_naming_the_summary() -> None:
    with pytest.raises(InvalidField) as error:
        check_summary("ab")

    assert error.value.field == "summary"


def test_summary_over_two_hundred_characters_is_refused_naming_the_summary() -> None:
    with pytest.raises(InvalidField) as error:
        check_summary("x" * 201)

    assert error.value.field == "summary"


def test_summary_length_is_counted_after_spaces_are_collapsed() -> None:
    with pytest.raises(InvalidField) as error:
        check_summary("   a  \n\t\n   ")

    assert error.value.field == "summary"


def test_summary_is_one_line_with_single_spaces() -> None:
    summary = check_summary("  Dark\tmode \n\n for   the editor ")

    assert summary == "Dark mode for the editor"


def test_summary_loses_control_characters() -> None:
    summary = check_summary("Dark\x00 mode\x1b")

    assert summary == "Dark mode"


def test_summary_is_nfc_normalised() -> None:
    summary = check_summary("Cafe\u0301 menu")

    assert summary == "Caf\u00e9 menu"


def test_description_over_the_limit_is_refused_naming_the_description() -> None:
    with pytest.raises(InvalidField) as error:
        check_description("x" * 20_001)

    assert error.value.field == "description"


def test_missing_description_is_empty() -> None:
    assert check_description(None) == ""


def test_empty_comment_body_is_refused_naming_the_body() -> None:
    with pytest.raises(InvalidField) as error:
        check_body(" \n\t ")

    assert error.value.field == "body"


def test_comment_body_over_ten_thousand_characters_is_refused_naming_the_body() -> None:
    with pytest.raises(InvalidField) as error:
        check_body("x" * 10_001)

    assert error.value.field == "body"


def test_comment_body_keeps_its_inner_lines() -> None:
    body = check_body("\n First line\n\nsecond\tline \n")

    assert body == "First line\n\nsecond\tline"


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_page_size_outside_one_to_a_hundred_is_refused_naming_the_limit(limit: int) -> None:
    with pytest.raises(InvalidField) as error:
        check_limit(limit)

    assert error.value.field == "limit"


@pytest.mark.parametrize("password", ["short", "x" * 9, "x" * 1025])
def test_password_of_the_wrong_length_is_refused_naming_the_password(password: str) -> None:
    with pytest.raises(InvalidField) as error:
        check_password(password)

    assert error.value.field == "password"


def test_common_password_is_refused_whatever_its_case() -> None:
    with pytest.raises(InvalidField) as error:
        check_password("PassWord123")

    assert error.value.field == "password"


def test_long_uncommon_password_is_accepted() -> None:
    check_password("correct horse battery")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "no-at.example.org",
        "two@@example.org",
        "a@b",
        "sp ace@example.org",
        "a@" + "b" * 250 + ".org",
    ],
)
def test_malformed_email_is_refused_naming_the_email(email: str) -> None:
    with pytest.raises(InvalidField) as error:
        normalise_email(email)

    assert error.value.field == "email"


def test_email_is_trimmed_and_lower_cased() -> None:
    email = normalise_email("  Ada.Lovelace@Example.ORG ")

    assert email == "ada.lovelace@example.org"


def test_blank_name_is_refused_naming_the_name() -> None:
    with pytest.raises(InvalidField) as error:
        check_name(" \t ")

    assert error.value.field == "name"


def test_name_spaces_are_collapsed() -> None:
    assert check_name("  Ada   Lovelace ") == "Ada Lovelace"


@pytest.mark.parametrize(
    "slug",
    ["", "Acme", "-acme", "acme-", "ac me", "ac_me", "a" * 51, "acmé"],
)
def test_malformed_slug_is_refused_naming_the_slug(slug: str) -> None:
    with pytest.raises(InvalidField) as error:
        check_slug(slug)

    assert error.value.field == "slug"


@given(slugs)
def test_every_slug_of_the_documented_shape_is_accepted(slug: str) -> None:
    assert check_slug(slug) == slug


def test_slug_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidField):
        check_slug("acme\n")


@pytest.mark.parametrize("domain", ["localhost", "exa mple.org", "example..org", "*.example.org"])
def test_allowed_domain_that_is_not_one_is_refused_naming_the_field(domain: str) -> None:
    with pytest.raises(InvalidField) as error:
        check_domains(("example.org", domain))

    assert error.value.field == "allowed_domains"


def test_allowed_domains_are_lower_cased_without_at_signs_or_repeats() -> None:
    domains = check_domains((" @Example.ORG", "example.org", "acme.co.uk"))

    assert domains == ("example.org", "acme.co.uk")


def test_more_than_fifty_allowed_domains_are_refused() -> None:
    with pytest.raises(InvalidField) as error:
        check_domains(tuple(f"d{n}.example.org" for n in range(51)))

    assert error.value.field == "allowed_domains"


def test_forum_change_checks_the_new_slug() -> None:
    forum = a_forum()

    with pytest.raises(InvalidField) as error:
        forum.changed(slug="Not A Slug")

    assert error.value.field == "slug"


def test_forum_change_keeps_what_it_is_not_given() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))

    changed = forum.changed(name="  New   name ")

    assert (changed.name, changed.slug, changed.visibility, changed.allowed_domains) == (
        "New name",
        forum.slug,
        Visibility.PRIVATE,
        ("acme.com",),
    )


def test_public_forum_admits_anonymous_viewers() -> None:
    forum = a_forum(visibility=Visibility.PUBLIC)

    assert forum.admits(Viewer(user=None))


def test_private_forum_refuses_anonymous_viewers() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))

    assert not forum.admits(Viewer(user=None))


def test_private_forum_admits_staff() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE)

    assert forum.admits(Viewer(user=a_user(), role=Role.AGENT))


def test_private_forum_admits_the_invited() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE)

    assert forum.admits(Viewer(user=a_user(email_verified=True), is_invited=True))


def test_private_forum_admits_verified_users_of_an_allowed_domain() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))
    user = a_user(email="ada@acme.com", email_verified=True)

    assert forum.admits(Viewer(user=user))


def test_private_forum_refuses_unverified_users_of_an_allowed_domain() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))
    user = a_user(email="ada@acme.com", email_verified=False)

    assert not forum.admits(Viewer(user=user))


def test_private_forum_refuses_users_of_a_subdomain_of_an_allowed_domain() -> None:
    forum = a_forum(visibility=Visibility.PRIVATE, allowed_domains=("acme.com",))
    user = a_user(email="ada@eu.acme.com", email_verified=True)

    assert not forum.admits(Viewer(user=user))


def test_session_is_alive_within_its_idle_timeout() -> None:
    session = a_session(created_at=NOW, last_seen_at=NOW)

    assert session.is_alive(NOW + timedelta(seconds=59), idle_seconds=60, lifetime_seconds=3600)


def test_session_dies_once_idle_for_the_timeout() -> None:
    session = a_session(created_at=NOW, last_seen_at=NOW)

    assert not session.is_alive(NOW + timedelta(seconds=60), idle_seconds=60, lifetime_seconds=3600)


def test_session_dies_at_its_lifetime_however_active() -> None:
    later = NOW + timedelta(seconds=3600)
    session = a_session(created_at=NOW, last_seen_at=later - timedelta(seconds=1))

    assert not session.is_alive(later, idle_seconds=60, lifetime_seconds=3600)


def test_stored_token_hash_is_not_the_token_but_always_the_same() -> None:
    token = "token-of-a-browser"

    assert hash_token(token) != token
    assert hash_token(token) == hash_token(token)
    assert len(hash_token(token)) == 64


def test_changing_status_moves_the_updated_time_only() -> None:
    idea = an_idea(created_at=NOW, updated_at=NOW)
    later = NOW + timedelta(hours=1)

    changed = idea.with_status(Status.PLANNED, later)

    assert (changed.status, changed.created_at, changed.updated_at) == (Status.PLANNED, NOW, later)


def test_cursor_gives_back_its_key() -> None:
    key: list[str | int | float] = [3, NOW.isoformat(), "idea1"]

    decoded = decode_cursor(encode_cursor(key), (int, str, str))

    assert decoded == key


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",
        encode_cursor([1, "a"]),
        encode_cursor(["a", "b", "c"]),
        encode_cursor([True, "a", "b"]),
    ],
)
def test_cursor_this_list_did_not_give_out_is_refused_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(InvalidField) as error:
        decode_cursor(cursor, (int, str, str))

    assert error.value.field == "cursor"


def test_integer_is_a_valid_float_in_a_cursor() -> None:
    decoded = decode_cursor(encode_cursor([2, "idea1"]), (float, str))

    assert decoded == [2, "idea1"]


@pytest.mark.parametrize("value", ["yesterday", "2026-03-02T09:00:00", 17])
def test_cursor_time_must_be_an_aware_iso_time(value: str | int) -> None:
    with pytest.raises(InvalidField) as error:
        cursor_time(value)

    assert error.value.field == "cursor"


def test_a_vote_at_the_epoch_weighs_one() -> None:
    assert heat_of(EPOCH) == 1.0


def test_a_vote_weighs_twice_as_much_one_half_life_later() -> None:
    assert heat_of(NOW + timedelta(days=7), 7.0) == pytest.approx(2 * heat_of(NOW, 7.0))


@given(st.text(max_size=300))
def test_checked_summary_is_one_trimmed_line_within_bounds(raw: str) -> None:
    try:
        summary = check_summary(raw)
    except InvalidField:
        return

    assert 3 <= len(summary) <= 200
    assert summary == summary.strip()
    assert "  " not in summary
    assert "\n" not in summary


@given(bodies)
def test_checked_body_has_no_edge_whitespace(body: str) -> None:
    checked = check_body(body)

    assert checked == checked.strip()
    assert 1 <= len(checked) <= 10_000


@settings(max_examples=50)
@given(summaries)
@example("Cafe\x00\u0301 menu")
def test_checking_a_checked_summary_changes_nothing(raw: str) -> None:
    summary = check_summary(raw)

    assert check_summary(summary) == summary
