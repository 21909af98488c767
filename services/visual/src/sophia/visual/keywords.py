"""Keyword scoring on OCR text, and the "why" of a match: which query words were read, and where.

OCR often runs words of one line together ("Checkoutpage"), so a query word also counts as found when
it appears inside a run-together line (words of four letters or more, to keep "in" from matching
"login").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*", re.UNICODE)
SUBSTRING_MIN = 4
_STOPWORDS = (
    "a an and are as at be by for from has have in is it its of on or that the this to was were with "
    "find show me my our we us i image images picture pictures screenshot screenshots mockup mockups page "
    "one some any which where what"
)
STOPWORDS = frozenset(_STOPWORDS.split())


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def query_terms(query: str) -> list[str]:
    """The query's content words, in order, without repeats; all words when every one is a stopword."""
    found = list(dict.fromkeys(words(query)))
    content = [w for w in found if w not in STOPWORDS]
    return content or found


@dataclass(frozen=True)
class Match:
    score: float  # share of the query's terms read in the image, 0..1
    matched: list[str]
    regions: list[dict[str, object]]  # the OCR lines that hold matched words, with their boxes


def match(terms: list[str], lines: Iterable[dict[str, object]], extra_text: str = "") -> Match:
    """Score `terms` against OCR `lines` ({"text", "box"}) and the image's own labels (`extra_text`)."""
    if not terms:
        return Match(0.0, [], [])
    matched: list[str] = []
    regions: list[dict[str, object]] = []
    line_list = list(lines)
    line_words = [set(words(str(line["text"]))) for line in line_list]
    compact = [re.sub(r"[\W_]+", "", str(line["text"]).lower()) for line in line_list]
    label_words = set(words(extra_text))
    for term in terms:
        hit = False
        for i, line in enumerate(line_list):
            if term in line_words[i] or (len(term) >= SUBSTRING_MIN and term in compact[i]):
                hit = True
                if line not in regions:
                    regions.append(line)
        if hit or term in label_words:
            matched.append(term)
    return Match(len(matched) / len(terms), matched, regions[:5])
