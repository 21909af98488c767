from __future__ import annotations

from sophia.memory.fusion import Hit
from sophia.memory.ranking import rank
from sophia.memory.records import Record, new_id


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
