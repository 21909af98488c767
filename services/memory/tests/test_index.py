from __future__ import annotations

import numpy as np
import pytest

from sophia.memory import index as index_module
from sophia.memory import lexical
from sophia.memory.fusion import Hit, Weights
from sophia.memory.index import Filter, LocalIndex, Query
from sophia.memory.records import Record, new_id

DENSE_ONLY = Weights(dense=1.0, lexical=0.0, time=0.0)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def record(namespace: str = "a", text: str = "t", **fields: object) -> Record:
    return Record(id=new_id(), namespace=namespace, text=text, **fields)  # type: ignore[arg-type]


def put(index: LocalIndex, r: Record, vector: np.ndarray) -> None:
    index.put(r, vector, lexical.document(r.text, 8))


def search(index: LocalIndex, vector: np.ndarray, where: Filter, limit: int) -> list[tuple[Record, float]]:
    hits = index.search(Query(vector, lexical.query("")), where, limit, DENSE_ONLY)
    return [(hit.record, hit.score) for hit in hits]


def test_search_stays_in_the_namespace_and_orders_by_score() -> None:
    index = LocalIndex(2)
    near, far, other = record(), record(), record("b")
    put(index, near, unit(1, 0.1))
    put(index, far, unit(0.2, 1))
    put(index, other, unit(1, 0))  # the best match overall, but in another namespace
    hits = search(index, unit(1, 0), Filter("a"), 5)
    assert [r.id for r, _ in hits] == [near.id, far.id]
    assert hits[0][1] > hits[1][1]


def test_filters_on_kind_tags_time_and_superseded() -> None:
    index = LocalIndex(2)
    fact = record(kind="fact", tags=["x"], created_at=100.0)
    note = record(kind="note", tags=["y"], created_at=200.0)
    old = record(kind="fact", superseded_by=fact.id, created_at=50.0)
    for r in (fact, note, old):
        put(index, r, unit(1, 0))
    ids = lambda where: {r.id for r, _ in search(index, unit(1, 0), where, 10)}  # noqa: E731
    assert ids(Filter("a")) == {fact.id, note.id}
    assert ids(Filter("a", include_superseded=True)) == {fact.id, note.id, old.id}
    assert ids(Filter("a", kinds=frozenset({"note"}))) == {note.id}
    assert ids(Filter("a", tags=frozenset({"x", "z"}))) == {fact.id}
    assert ids(Filter("a", since=150.0)) == {note.id}
    assert ids(Filter("a", until=150.0, include_superseded=True)) == {fact.id, old.id}


def test_remove_keeps_the_other_rows_intact() -> None:
    index = LocalIndex(2)
    rows = [record(tags=[f"t{i % 3}"]) for i in range(100)]  # past the first growth of the arrays
    for i, r in enumerate(rows):
        put(index, r, unit(1, i / 100))
    for r in rows[:50]:
        index.remove(r.id)
    assert len(index) == 50
    assert index.namespaces() == {"a"}
    hits = search(index, unit(1, 0.99), Filter("a"), 1)
    assert hits[0][0].id == rows[99].id
    # Tag filters follow rows that moved into the holes.
    tagged = {r.id for r, _ in search(index, unit(1, 0), Filter("a", tags=frozenset({"t0"})), 100)}
    assert tagged == {r.id for i, r in enumerate(rows) if i >= 50 and i % 3 == 0}
    for r in rows[50:]:
        index.remove(r.id)
    assert index.namespaces() == set()


def test_a_rare_shared_word_lifts_the_memory_that_has_it() -> None:
    """BM25 over the index's posting lists: same meaning for both, one shares the name asked about."""
    index = LocalIndex(2)
    named = record(text="Ledgerline is owned by Maria")
    other = record(text="The billing service is owned by Maria")
    put(index, other, unit(1, 0))
    put(index, named, unit(1, 0.05))  # slightly less similar in meaning
    hybrid = Weights(dense=1.0, lexical=0.2, time=0.0)
    hits = index.search(Query(unit(1, 0), lexical.query("who owns Ledgerline?")), Filter("a"), 2, hybrid)
    assert [h.record.id for h in hits] == [named.id, other.id]
    assert hits[0].lexical == 1.0 and 0 < hits[1].lexical < 0.5  # "owned" stems to "own" too; "Ledgerline" is rare
    index.remove(other.id)  # postings follow the row that moved
    hits = index.search(Query(unit(1, 0), lexical.query("Ledgerline")), Filter("a"), 2, hybrid)
    assert [h.record.id for h in hits] == [named.id] and hits[0].lexical == 1.0


def test_the_period_a_question_names_lifts_what_happened_then() -> None:
    index = LocalIndex(2)
    may = record(text="went hiking", occurred_at=1_684_000_000.0)  # May 2023
    june = record(text="went hiking", occurred_at=1_686_700_000.0)  # June 2023
    put(index, may, unit(1, 0.1))
    put(index, june, unit(1, 0))
    period = (1_682_899_200.0, 1_685_577_600.0)  # [1 May, 1 June) 2023
    weights = Weights(dense=1.0, lexical=0.0, time=0.2)
    hits = index.search(Query(unit(1, 0), lexical.query(""), period), Filter("a"), 2, weights)
    assert [h.record.id for h in hits] == [may.id, june.id]


def test_each_namespace_is_scanned_alone_but_idf_counts_every_namespace() -> None:
    """A namespace's search touches only its own shard; a word common in another namespace is still
    common (IDF over the collection, as Qdrant counts it), and removals update those counts."""
    index = LocalIndex(2)
    mine = record(text="Ledgerline outage")
    put(index, mine, unit(1, 0))
    before = index.lexical_scores(lexical.query("Ledgerline"), "a")[0]
    others = [record("b", text="Ledgerline again") for _ in range(20)]
    for r in others:
        put(index, r, unit(0, 1))
    assert index.lexical_scores(lexical.query("Ledgerline"), "a")[0] < before  # now a common word
    assert index.mask(Filter("a")).tolist() == [True] and index.mask(Filter("c")).size == 0
    for r in others:
        index.remove(r.id)
    assert index.lexical_scores(lexical.query("Ledgerline"), "a")[0] == before
    assert index.namespaces() == {"a"} and index.get(others[0].id) is None


def test_what_every_memory_shares_is_taken_out_of_similarity() -> None:
    """Small talk resembles the rest of the namespace and so any question; with its average similarity to
    the namespace taken out, the memory that says something specific ranks first, while `similarity` (what the
    relevance floor reads) stays the plain cosine."""
    index = LocalIndex(3)
    chatter = [record(text=f"talk later {i}") for i in range(8)]
    for r in chatter:
        put(index, r, unit(1, 0.05, 0))
    specific = record(text="moved into a house with a garden")
    put(index, specific, unit(0.6, 0, 0.8))
    question = unit(0.9, 0, 0.3)
    plain = index.search(Query(question, lexical.query("")), Filter("a"), 1, DENSE_ONLY)
    assert plain[0].record.id != specific.id  # without: a chatter line wins on plain cosine
    centred = Weights(dense=1.0, lexical=0.0, time=0.0, generic=1.5)
    hits = index.search(Query(question, lexical.query("")), Filter("a"), 9, centred)
    assert hits[0].record.id == specific.id
    assert hits[0].similarity == pytest.approx(float(question @ unit(0.6, 0, 0.8)), rel=1e-6)


def test_the_namespace_average_follows_writes_and_removals() -> None:
    index = LocalIndex(2)
    first, second, elsewhere = record(), record(), record("b")
    put(index, first, unit(1, 0))
    put(index, elsewhere, unit(0, 1))
    assert index.average("missing") is None
    assert mean_of(index, "a") == ([1, 0], 1)
    put(index, second, unit(0, 1))
    assert mean_of(index, "a") == ([0.5, 0.5], 2)
    index.put(second, unit(1, 0))  # a vector replaced in place counts once, the new one
    assert mean_of(index, "a") == ([1, 0], 2)
    index.remove(first.id)
    index.remove(second.id)
    assert index.average("a") is None
    assert mean_of(index, "b") == ([0, 1], 1)


def mean_of(index: LocalIndex, namespace: str) -> tuple[list[float], int]:
    average = index.average(namespace)
    assert average is not None
    return [round(float(x), 6) for x in average[0]], average[1]


WORDS = [
    "renewal",
    "pricing",
    "invoice",
    "roadmap",
    "launch",
    "outage",
    "hiring",
    "budget",
    "contract",
    "churn",
    "migration",
    "audit",
]


@pytest.fixture(scope="module")
def large() -> tuple[LocalIndex, list[Record], np.ndarray]:
    """A namespace past the screening threshold: 24k memories in clusters (so many near-ties, as real
    embeddings have), a few hundred in another namespace, words shared across them, event times spread."""
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(40, 64)).astype(np.float32)
    index, records = LocalIndex(64), []
    vectors = []
    for i in range(24_000):
        vector = centres[i % 40] + rng.normal(scale=0.35, size=64).astype(np.float32)
        vector /= np.linalg.norm(vector)
        text = " ".join(rng.choice(WORDS, size=3))
        r = record(
            "big" if i % 60 else "other",
            text=text,
            kind="fact" if i % 3 else "event",
            event_at=float(i),
            tags=[f"t{i % 7}"],
        )
        put(index, r, vector)
        records.append(r)
        vectors.append(vector)
    return index, records, np.stack(vectors)


def exact(index: LocalIndex, monkeypatch: pytest.MonkeyPatch, *args: object) -> list[Hit]:
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "SCREEN_FROM_ROWS", 10**9)
        return index.search(*args)  # type: ignore[arg-type]


def test_a_large_namespace_screened_with_int8_codes_ranks_exactly_as_scoring_every_row(
    large: tuple[LocalIndex, list[Record], np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The int8 first pass only decides which rows to score exactly; the answer is the exact answer."""
    index, _, vectors = large
    rng = np.random.default_rng(5)
    assert len(index) > index_module.SCREEN_FROM_ROWS
    settings = [
        (DENSE_ONLY, Filter("big"), None),
        (Weights(dense=1.0, lexical=0.3, time=0.2, generic=1.5), Filter("big"), (1_000.0, 9_000.0)),
        (Weights(dense=0.7, lexical=0.3, time=0.0), Filter("big", kinds=frozenset({"event"})), None),
        (Weights(dense=1.0, lexical=0.5, time=0.0), Filter("big", tags=frozenset({"t3"}), since=0.0), None),
        (Weights(dense=0.0, lexical=1.0, time=0.0), Filter("big"), None),
    ]
    for n in range(60):
        query_vector = vectors[rng.integers(len(vectors))] + rng.normal(scale=0.2, size=64).astype(np.float32)
        query_vector /= np.linalg.norm(query_vector)
        weights, where, period = settings[n % len(settings)]
        query = Query(query_vector, lexical.query(" ".join(rng.choice(WORDS, size=2))), period)
        limit = int(rng.choice([1, 5, 20]))
        screened = index.search(query, where, limit, weights)
        scored = exact(index, monkeypatch, query, where, limit, weights)
        assert same_answer(screened, scored), n


def same_answer(one: list[Hit], other: list[Hit]) -> bool:
    """The same scores in the same order, and the same memories at each score above the last one (rows that
    tie exactly may come in any order, and which of those tied at the last place make the cut is arbitrary)."""
    if [h.score for h in one] != pytest.approx([h.score for h in other], abs=1e-6):
        return False

    def above_last(hits: list[Hit]) -> dict[str, float]:
        return {h.record.id: h.score for h in hits if h.score > hits[-1].score + 1e-6}

    mine, theirs = above_last(one), above_last(other)
    return mine.keys() == theirs.keys() and all(abs(mine[k] - theirs[k]) < 1e-6 for k in mine)


def test_codes_follow_rows_moved_by_a_removal(
    large: tuple[LocalIndex, list[Record], np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A removal moves the last row into the gap: its int8 codes move with it, so screening stays exact."""
    index, records, vectors = large
    target = vectors[123]
    for r in records[100:400]:  # rows near the target's cluster and elsewhere
        index.remove(r.id)
    query = Query(target, lexical.query(""))
    screened = index.search(query, Filter("big"), 10, DENSE_ONLY)
    assert same_answer(screened, exact(index, monkeypatch, query, Filter("big"), 10, DENSE_ONLY))
    assert records[123].id not in {h.record.id for h in screened}
