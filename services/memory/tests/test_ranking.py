from __future__ import annotations

import numpy as np
from qdrant_client import QdrantClient

from sophia.memory.fusion import Hit
from sophia.memory.index import Filter, LocalIndex
from sophia.memory.ranking import rank, recall
from sophia.memory.records import Record, new_id
from sophia.memory.settings import MemorySettings
from sophia.memory.store import Store


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def hit(text: str, score: float, **fields: object) -> Hit:
    record = Record(id=new_id(), namespace="a", text=text, **fields)  # type: ignore[arg-type]
    return Hit(record, score, score, 0.0)


def test_a_repeated_text_goes_below_every_distinct_one() -> None:
    """ "Talk later!" said in three sessions takes one of k places, not three; the repeats stay, in order."""
    first, again, once_more = hit("Talk later!", 0.9), hit("talk  later!", 0.8), hit("Talk later!", 0.7)
    moved, tortoise = hit("We moved into a cottage.", 0.6), hit("We got a tortoise called Pixel.", 0.5)
    ranked = [h.record.id for h, _ in rank([tortoise, once_more, first, moved, again], penalty=0.05)]
    assert ranked == [first.record.id, moved.record.id, tortoise.record.id, again.record.id, once_more.record.id]


def test_a_superseded_version_never_ranks_above_its_successor() -> None:
    new = hit("Maria moved to Lisbon.", 0.5)
    old = hit("Maria lives in Porto.", 0.9, superseded_by=new.record.id)
    ranked = rank([old, new], penalty=0.05)
    assert [h.record.id for h, _ in ranked] == [new.record.id, old.record.id]
    assert ranked[1][1] == 0.9 - 0.05


async def test_a_hit_no_closer_than_the_namespace_average_is_nothing_relevant() -> None:
    """In a chat every turn is close to a question naming its speaker; a question about something never said
    is as close to the best turn as the turns are to each other: nothing relevant. A question one turn
    answers is closer to that turn than the average is, and gets it."""
    store = Store(QdrantClient(location=":memory:"), "t", 3, LocalIndex(3))
    await store.ensure_collection()
    chatter = [Record(id=new_id(), namespace="chat", text=f"talk later {i}") for i in range(6)]
    garden = Record(id=new_id(), namespace="chat", text="we moved into a house with a garden")
    vectors = np.stack([unit(1, 0.05 * i, 0) for i in range(6)] + [unit(0.7, 0, 0.7)])
    await store.add_many([*chatter, garden], vectors)
    settings = MemorySettings(specific_floor=0.0)
    never_said = await recall(
        store, settings, "which university did the son choose?", unit(1, 0.1, 0.1), Filter("chat"), 3
    )
    assert never_said.best_similarity > settings.relevance_floor  # the plain cosine alone would answer
    assert never_said.nothing_relevant
    without = await recall(store, MemorySettings(), "which university did the son choose?",
                           unit(1, 0.1, 0.1), Filter("chat"), 3)  # fmt: skip
    assert not without.nothing_relevant  # it is this floor that answered; off by default
    answered = await recall(store, settings, "where do they live now?", unit(0.5, 0, 0.85), Filter("chat"), 3)
    assert not answered.nothing_relevant and answered.hits[0][0].record.id == garden.id
