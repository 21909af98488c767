from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from qdrant_client import QdrantClient

from sophia.kit.embeddings import local_model
from sophia.memory.fusion import Hit
from sophia.memory.index import Filter, LocalIndex
from sophia.memory.ranking import focus_text, rank, recall, siblings_apart
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


WILHELMINA = [
    "Wilhelmina joined the company in March 2019.",
    "Wilhelmina reports to Bartholomew.",
    "Wilhelmina grew up speaking Finnish.",
    "Wilhelmina drinks green tea every afternoon.",
    "Wilhelmina is allergic to peanuts.",
    "Wilhelmina works from the Lisbon office.",
    "Wilhelmina plays the cello on weekends.",
]
ASKED = {  # question -> the one of her facts that answers it
    "When did Wilhelmina start here?": 0,
    "How long has Wilhelmina been employed here?": 0,
    "Who does Wilhelmina answer to?": 1,
    "Which language did Wilhelmina learn as a child?": 2,
    "Which foreign tongue does Wilhelmina know?": 2,
    "What beverage does Wilhelmina like?": 3,
    "What can Wilhelmina not eat?": 4,
    "What makes Wilhelmina ill?": 4,
    "In which city does Wilhelmina sit?": 5,
    "What does Wilhelmina do for fun?": 6,
}


async def test_of_the_facts_about_one_person_the_one_asked_for_comes_first() -> None:
    """The name every fact shares dominates their similarity to the question: with the local model,
    "Wilhelmina grew up speaking Finnish." outranks when she joined for "When did Wilhelmina start here?".
    The question without her name decides among them, and what was first already stays first."""
    model = local_model(2)
    store = Store(QdrantClient(location=":memory:"), "t", model.dimensions, LocalIndex(model.dimensions))
    await store.ensure_collection()
    records = [Record(id=new_id(), namespace="team", text=text) for text in WILHELMINA]
    await store.add_many(records, model.embed_sync(WILHELMINA))
    plain, focused = MemorySettings(focus_weight=0), MemorySettings()
    first_without, first_with = {}, {}
    for question in ASKED:
        focus = focus_text(question, focused)
        assert focus is not None and "Wilhelmina" not in focus
        assert focus_text(question, plain) is None  # off: one embedding, as before
        vector, name_free = model.embed_sync([question, focus])
        without = await recall(store, plain, question, vector, Filter("team"), 5)
        with_focus = await recall(store, focused, question, vector, Filter("team"), 5, name_free)
        first_without[question] = without.hits[0][0].record.id
        first_with[question] = with_focus.hits[0][0].record.id
        assert not with_focus.nothing_relevant
        assert {h.record.id for h, _ in with_focus.hits} == {h.record.id for h, _ in without.hits}
    expected = {question: records[i].id for question, i in ASKED.items()}
    assert first_with == expected
    # Without the name-free question two of them got a sibling fact first.
    wrong = {question for question in ASKED if first_without[question] != expected[question]}
    assert wrong == {"When did Wilhelmina start here?", "How long has Wilhelmina been employed here?"}


def test_only_the_siblings_that_share_the_name_move_and_none_rises() -> None:
    """A hit that does not mention the name keeps its score; the best-focused sibling keeps its own and the
    others go down by the weight times how much less focused they are."""
    greta_boss = replace(hit("Greta reports to Ingrid.", 0.60), focus=0.40)
    greta_team = replace(hit("Greta is Lena's manager.", 0.70), focus=0.30)
    other = replace(hit("Ingrid is based in Lisbon.", 0.65), focus=0.90)
    moved = siblings_apart([greta_team, other, greta_boss], {"greta"}, weight=2.0)
    assert [h.score for h in moved] == [pytest.approx(0.70 - 2.0 * 0.10), 0.65, 0.60]
    assert siblings_apart([greta_team, other], {"greta"}, weight=2.0) == [greta_team, other]  # one sibling: as is
