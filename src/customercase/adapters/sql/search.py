"""Search terms compiled for each engine, and the search objects the migration made.

PostgreSQL reads a `to_tsquery` string: every word single-quoted (words hold only letters,
digits and `_`, so no quoting can be broken), phrases joined by `<->`, exclusions under `!`, the
typed prefix marked `:*`; `to_tsquery` then stems each word with the forum's configuration.
SQLite reads an FTS5 MATCH expression: every phrase double-quoted, restricted to the `summary`
column, exclusions as a separate expression (FTS5's NOT is binary, so a query of exclusions
alone is answered by the caller with NOT IN).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from customercase.domain.search import Term

# Not in tables.py: these exist on one engine only and are made by the search migrations.
SEARCH_VECTOR: sa.ColumnClause[Any] = sa.literal_column("ideas.search_vector")
ideas_fts = sa.table("ideas_fts", sa.column("idea_id"), sa.column("forum_id"))
ideas_trigram = sa.table("ideas_trigram", sa.column("idea_id"), sa.column("forum_id"))
search_lexemes = sa.table("search_lexemes", sa.column("lexeme", sa.Text))  # every indexed word
ideas_trigram_vocab = sa.table(
    "ideas_trigram_vocab", sa.column("term"), sa.column("col"), sa.column("doc")
)
SEARCH_TABLES = ("ideas_fts", "ideas_trigram", "search_lexemes")  # and their shadow tables


def _pg_term(term: Term) -> str:
    words = [f"'{w}'" for w in term.words]
    if term.prefix:
        words[-1] += ":*"
    phrase = " <-> ".join(words)
    return f"!({phrase})" if term.negated else f"({phrase})"


def pg_tsquery(terms: tuple[Term, ...], *, any_word: bool = False) -> str:
    """The to_tsquery text of the terms: all of them, or (any_word) any of their words."""
    if any_word:
        return " | ".join(f"'{w}'" for term in terms if not term.negated for w in term.words)
    return " & ".join(_pg_term(term) for term in terms)


def _fts5_phrase(term: Term) -> str:
    return '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")


def fts5_match(forum_id: str, terms: tuple[Term, ...]) -> tuple[str | None, str | None]:
    """MATCH expressions (positive, excluded) for the forum's ideas; either may be None."""
    positive = [_fts5_phrase(t) for t in terms if not t.negated]
    negative = [_fts5_phrase(t) for t in terms if t.negated]
    forum = f'forum_id : "{forum_id}"'
    excluded = f"{forum} AND summary : ({' OR '.join(negative)})" if negative else None
    if not positive:
        return None, excluded
    match = f"{forum} AND summary : ({' AND '.join(positive)})"
    if negative:
        match += f" NOT summary : ({' OR '.join(negative)})"
    return match, excluded


def fts5_trigrams(forum_id: str, grams: set[str]) -> str | None:
    """A MATCH expression for the forum's ideas sharing any trigram (inner ones, no padding)."""
    inner = sorted(g for g in grams if " " not in g and '"' not in g)
    if not inner:
        return None
    return f'forum_id : "{forum_id}" AND summary : (' + " OR ".join(f'"{g}"' for g in inner) + ")"
