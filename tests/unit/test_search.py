"""The meaning of a search box query, and pg_trgm's similarity, as pure functions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from customercase.domain.search import MAX_TERMS, Term, parse_query, trigram_similarity


def test_words_phrases_and_exclusions_become_terms_and_the_last_word_a_prefix() -> None:
    terms = parse_query('Export "dark mode" -pdf dashb')

    assert terms == (
        Term(("export",)),
        Term(("dark", "mode")),
        Term(("pdf",), negated=True),
        Term(("dashb",), prefix=True),
    )


def test_a_quoted_or_excluded_last_term_is_not_a_prefix() -> None:
    assert parse_query('dark "mode"')[-1] == Term(("mode",))
    assert parse_query("dark -mode")[-1] == Term(("mode",), negated=True)


def test_punctuation_splits_words_into_a_phrase_and_alone_is_no_query() -> None:
    assert parse_query("e-mail") == (Term(("e", "mail"), prefix=True),)
    assert parse_query('"" - !!! ??') == ()


@given(st.text())
def test_any_text_parses_into_bounded_terms_of_word_characters(text: str) -> None:
    terms = parse_query(text)

    assert len(terms) <= MAX_TERMS
    for term in terms:
        assert term.words
        assert all("'" not in w and '"' not in w and " " not in w for w in term.words)


def test_similarity_forgives_a_typo_and_a_new_word_order() -> None:
    original = "Dark mode for the dashboard"

    assert trigram_similarity(original, "the dashboard in dark mode") > 0.5
    assert trigram_similarity(original, "dashbaord drak mode") >= 0.3
    assert trigram_similarity(original, "zeppelin") == 0.0
