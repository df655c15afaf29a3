"""Search terms (domain/search.py) matched against summaries in memory, for the fake's ideas.

The SQL adapter leaves matching to the engine: PostgreSQL's tsvector of the summary in the
forum's language, SQLite's FTS5 with the porter tokenizer. Here a summary's words are its runs
of letters and digits, lower-cased as parse_query lower-cases the query. Two words match when
their stems are equal; the stemmer below is a rough cut of Porter's first steps (plurals, -ed,
-ing, a final e), in English only, so only the common forms meet (`exporting` finds `export`,
`reports` finds `report`) where the engines know many more. Diacritics count, as in
PostgreSQL's `english` configuration (SQLite's tokenizer would drop them). The typed prefix
matches the start of a summary word as written. Relevance is the share of the summary's words
that the positive terms cover, times the same vote boost as SQL: a rough stand-in for
ts_rank_cd and bm25 that likewise puts a denser match first.
"""

from __future__ import annotations

import math
import re
import unicodedata

from customercase.domain.search import Term

_WORD = re.compile(r"\w+")
_VOWEL = re.compile(r"[aeiouy]")


def words_of(text: str) -> list[str]:
    """The words of a text as the search compares them."""
    return [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]


def stem(word: str) -> str:
    """A rough English stem: `reports`, `exporting`, `exported` all give `export`."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        rest = word[: -len(suffix)]
        if word.endswith(suffix) and len(rest) >= 3 and _VOWEL.search(rest):
            word = rest
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _word_matches(query: str, word: str, *, prefix: bool) -> bool:
    return word.startswith(query) if prefix else stem(word) == stem(query)


def occurrences(term: Term, words: list[str]) -> int:
    """How many times the term's words stand side by side in these words."""
    last = len(term.words) - 1
    return sum(
        all(
            _word_matches(q, words[start + j], prefix=term.prefix and j == last)
            for j, q in enumerate(term.words)
        )
        for start in range(len(words) - last)
    )


def matches(terms: tuple[Term, ...], words: list[str]) -> bool:
    """Whether the words hold every positive term and no negated one."""
    return all((occurrences(t, words) > 0) != t.negated for t in terms)


def vote_boost(votes: int) -> float:
    """1 + ln(1 + votes), as the SQL adapter's `_vote_boost`."""
    return 1.0 + math.log(1.0 + votes)


def relevance(terms: tuple[Term, ...], words: list[str]) -> float:
    """The share of the words that the positive terms' occurrences cover (0 for none)."""
    covered = sum(occurrences(t, words) * len(t.words) for t in terms if not t.negated)
    return covered / len(words) if words else 0.0


def any_word_rank(terms: tuple[Term, ...], words: list[str]) -> float:
    """The share of the words holding any positive term's word, squashed into [0, 1) as the
    SQL adapter squashes bm25: the stand-in for its ts_rank_cd over any of the words."""
    wanted = {stem(w) for t in terms if not t.negated for w in t.words}
    rank = sum(stem(w) in wanted for w in words) / len(words) if words else 0.0
    return rank / (1.0 + rank)
