from __future__ import annotations

import numpy as np

from sophia.memory.index import Filter, LocalIndex
from sophia.memory.records import Record, new_id


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def record(namespace: str = "a", **fields: object) -> Record:
    return Record(id=new_id(), namespace=namespace, text="t", **fields)  # type: ignore[arg-type]


def test_search_stays_in_the_namespace_and_orders_by_score() -> None:
    index = LocalIndex(2)
    near, far, other = record(), record(), record("b")
    index.put(near, unit(1, 0.1))
    index.put(far, unit(0.2, 1))
    index.put(other, unit(1, 0))  # the best match overall, but in another namespace
    hits = index.search(unit(1, 0), Filter("a"), 5)
    assert [r.id for r, _ in hits] == [near.id, far.id]
    assert hits[0][1] > hits[1][1]


def test_filters_on_kind_tags_time_and_superseded() -> None:
    index = LocalIndex(2)
    fact = record(kind="fact", tags=["x"], created_at=100.0)
    note = record(kind="note", tags=["y"], created_at=200.0)
    old = record(kind="fact", superseded_by=fact.id, created_at=50.0)
    for r in (fact, note, old):
        index.put(r, unit(1, 0))
    ids = lambda where: {r.id for r, _ in index.search(unit(1, 0), where, 10)}  # noqa: E731
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
        index.put(r, unit(1, i / 100))
    for r in rows[:50]:
        index.remove(r.id)
    assert len(index) == 50
    assert index.namespaces() == {"a"}
    hits = index.search(unit(1, 0.99), Filter("a"), 1)
    assert hits[0][0].id == rows[99].id
    # Tag filters follow rows that moved into the holes.
    tagged = {r.id for r, _ in index.search(unit(1, 0), Filter("a", tags=frozenset({"t0"})), 100)}
    assert tagged == {r.id for i, r in enumerate(rows) if i >= 50 and i % 3 == 0}
    for r in rows[50:]:
        index.remove(r.id)
    assert index.namespaces() == set()
