"""What a search box query means (API.md `q`): words, "phrases", -exclusions, a typed prefix.

The grammar is web-search style and never fails: every query parses, and text that holds no
searchable word is simply no query. A term is a quoted phrase or a run of non-space characters;
its words are the runs of letters and digits inside it (so `e-mail` is the phrase `e mail`, as
the database tokenizers see it). The last positive unquoted term also matches as a prefix of its
last word, so results follow a query as it is typed. Adapters compile terms to their engine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# PostgreSQL's built-in text search configurations: a forum's ideas are stemmed in one of them.
# (SQLite's FTS5 table stems English for every forum; other languages still match whole words.)
SEARCH_LANGUAGES = (
    "simple",
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
)
MAX_TERMS = 10
MAX_WORDS = 10
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Term:
    """Words that must stand side by side; `negated` excludes them; `prefix` types ahead."""

    words: tuple[str, ...]
    negated: bool = False
    prefix: bool = False


def parse_query(text: str) -> tuple[Term, ...]:
    """The terms of a search query, at most MAX_TERMS of MAX_WORDS words each."""
    terms: list[Term] = []
    quoted: list[bool] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text)):
        minus_phrase, phrase, minus_word, word = match.groups()
        raw = phrase if phrase is not None else word
        words = tuple(w.lower() for w in _WORD.findall(raw or ""))[:MAX_WORDS]
        if not words:
            continue
        terms.append(Term(words, negated=bool(minus_phrase or minus_word)))
        quoted.append(phrase is not None)
    terms, quoted = terms[:MAX_TERMS], quoted[:MAX_TERMS]
    if terms and not terms[-1].negated and not quoted[-1]:
        terms[-1] = Term(terms[-1].words, prefix=True)
    return tuple(terms)


def clean_text(text: str, limit: int = 200) -> str:
    """Text fit to compare with summaries: NFC, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text)
    return " ".join(kept.split())[:limit]


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a text: each lower-cased word padded "  " before and " " after."""
    found: set[str] = set()
    for word in _WORD.findall(unicodedata.normalize("NFC", text).lower()):
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def trigram_similarity(a: str, b: str) -> float:
    """Shared trigrams over all trigrams of both texts, as pg_trgm's similarity()."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)
