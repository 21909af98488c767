"""Lexical terms for hybrid recall: words lower-cased, stop words dropped, Snowball-stemmed (PyStemmer),
hashed to stable 32-bit ids so the same term has the same sparse index in every process and in Qdrant.

A memory's sparse vector holds BM25's term-frequency part (saturated by k1, normalised by length with b);
a query's holds 1 per term. Qdrant's IDF modifier (or the local index, with the same formula) multiplies
in each term's inverse document frequency, so the dot product is the memory's BM25 score.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

WORD = re.compile(r"\w+", re.UNICODE)
# Function words carry no meaning a memory could match on; question words included ("who owns X?").
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just let me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up us very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t d ll m re ve tell know remind""".split()  # noqa: SIM905
)
K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Terms:
    """A sparse vector: term ids and their weights, ids unique and sorted."""

    indices: list[int]
    values: list[float]

    def __bool__(self) -> bool:
        return bool(self.indices)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """The text's content words, stemmed."""
    tokens = [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]
    return list(_stemmer().stemWords(tokens))


CALENDAR = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday",
     "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
SENTENCE = re.compile(r"(?:^|[.!?]\s+)(\w+)")


def _name_matches(text: str) -> list[re.Match[str]]:
    """The words the text capitalises mid-sentence (see `names`), as matches in the text."""
    initial = {m.start(1) for m in SENTENCE.finditer(text)}
    found = []
    for match in WORD.finditer(text):
        word = match.group()
        lowered = word.lower()
        acronym = len(word) > 1 and word.isupper()
        if match.start() in initial or not word[0].isupper() or acronym or lowered in CALENDAR or lowered in STOP_WORDS:
            continue
        found.append(match)
    return found


def names(text: str) -> set[str]:
    """Stemmed words the text capitalises mid-sentence (people, systems, places): what a question is
    about. Sentence-initial words, calendar words, "I" and acronyms (API, EU: generic more often than
    not) are left out."""
    return {_stemmer().stemWord(match.group().lower()) for match in _name_matches(text)}


def without_names(text: str, stand_in: str) -> str:
    """The text with each of its names (see `names`) replaced by `stand_in`: what it asks about them
    ("Who is Greta's boss?" -> "Who is they's boss?")."""
    for match in reversed(_name_matches(text)):
        text = text[: match.start()] + stand_in + text[match.end() :]
    return text


def term_id(word: str) -> int:
    return zlib.crc32(word.encode())


def document(text: str, avg_length: float) -> Terms:
    """BM25's term-frequency part per term of a memory's text."""
    counts = Counter(term_id(w) for w in words(text))
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / avg_length)
    ids = sorted(counts)
    return Terms(ids, [counts[i] * (K1 + 1) / (counts[i] + norm) for i in ids])


def query(text: str) -> Terms:
    ids = sorted({term_id(w) for w in words(text)})
    return Terms(ids, [1.0] * len(ids))


def idf(documents: int, containing: int) -> float:
    """Qdrant's IDF modifier, so the local index and a Qdrant server score alike."""
    return math.log((documents - containing + 0.5) / (containing + 0.5) + 1)
