"""Lexical terms, names a question uses, and the periods it names: pure functions, no service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sophia.memory import lexical, periods


def stamp(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did Ana do on 2023-05-14?", (stamp(2023, 5, 14), stamp(2023, 5, 15))),
        ("What happened on 14th May 2023?", (stamp(2023, 5, 14), stamp(2023, 5, 15))),
        ("Anything on May 14, 2023?", (stamp(2023, 5, 14), stamp(2023, 5, 15))),
        ("What was Ana up to in May 2023?", (stamp(2023, 5, 1), stamp(2023, 6, 1))),
        ("Plans for December 2023", (stamp(2023, 12, 1), stamp(2024, 1, 1))),
        ("Costs in 2023-11", (stamp(2023, 11, 1), stamp(2023, 12, 1))),
        ("What did we ship during 2022?", (stamp(2022, 1, 1), stamp(2023, 1, 1))),
        ("What did we ship last week?", None),  # relative: left to the words
        ("Who owns the 2023 budget line 4512?", None),  # a bare number is not a period
        ("Notes from 2023-13-40", None),  # not a date after all
    ],
)
def test_periods_named_in_a_question(question: str, expected: tuple[float, float] | None) -> None:
    assert periods.period(question) == expected


def test_names_are_mid_sentence_capitals_but_not_months_acronyms_or_question_words() -> None:
    assert lexical.names("What does Wilhelmina drink?") == {"wilhelmina"}
    assert lexical.names("Which API did Ledgerline call in March?") == {"ledgerlin"}
    assert lexical.names("Maria owns it. Who is Tomasz's boss?") == {"tomasz"}
    assert lexical.names("who owns the billing service?") == set()


def test_terms_are_stemmed_stop_words_dropped_and_ids_stable() -> None:
    assert lexical.words("Who owns the billing services?") == ["own", "bill", "servic"]
    query = lexical.query("services service SERVICE")
    assert query.indices == [lexical.term_id("servic")] and query.values == [1.0]
    assert lexical.term_id("servic") == 2624109064  # the same in every process and in Qdrant, release after release
    short, long = lexical.document("billing", 8), lexical.document("billing " + "word " * 30, 8)
    assert short.values[0] > long.values[0]  # BM25 length normalisation: a long memory's term weighs less
    assert lexical.idf(100, 1) > lexical.idf(100, 50) > 0


def test_an_empty_or_stop_word_question_has_no_terms() -> None:
    assert not lexical.query("who is what?")


def test_a_question_without_its_names_keeps_what_it_asks() -> None:
    """Recall's second, name-free embedding of a question (ranking.focus_text): the names go, the relation
    and the sentence-initial word stay."""
    assert lexical.without_names("Who is Greta's boss?", "they") == "Who is they's boss?"
    assert lexical.without_names("Did Omar hand Beacon over in May?", "they") == "Did they hand they over in May?"
    assert lexical.without_names("Which API does the app call?", "they") == "Which API does the app call?"
