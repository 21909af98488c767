"""Which memories are worth deleting, and why. Pure functions: the server fetches, decides, applies.

A memory is a candidate when any rule says so; each rule adds its own reason:

- superseded: replaced by a newer version more than `prune_superseded_days` ago;
- stale: no recall has returned it for `prune_stale_days` (counted from creation if never);
- rarely accessed: older than `prune_rare_min_age_days` and returned fewer than `prune_rare_max_hits` times;
- low relevance: returned by recalls, but never with a score above `prune_low_relevance`;
- near-duplicate: cosine similarity ≥ `prune_duplicate_similarity` with another current memory that
  is kept (the one with more hits, then the newer one, survives).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sophia.kit.embeddings import Vectors
from sophia.memory.activity import Usage
from sophia.memory.records import Record
from sophia.memory.settings import MemorySettings

DAY = 86_400.0
# Rows compared per block when looking for near-duplicates: bounds memory to BLOCK x n floats.
BLOCK = 1024


@dataclass
class Candidate:
    record: Record
    reasons: list[str] = field(default_factory=list)

    def view(self) -> dict[str, object]:
        return {"id": self.record.id, "text": self.record.text, "kind": self.record.kind, "reasons": self.reasons}


def candidates(
    records: list[Record], vectors: Vectors, usage: dict[str, Usage], settings: MemorySettings, now: float
) -> list[Candidate]:
    found: dict[str, Candidate] = {}

    def flag(record: Record, reason: str) -> None:
        found.setdefault(record.id, Candidate(record)).reasons.append(reason)

    for record in records:
        used = usage.get(record.id, Usage())
        age_days = (now - record.created_at) / DAY
        if record.superseded_at is not None:
            days = (now - record.superseded_at) / DAY
            if days > settings.prune_superseded_days:
                flag(record, f"superseded by {record.superseded_by} {days:.0f} days ago")
            continue  # history is judged only by its age; access rules are for current memories
        idle_days = (now - (used.last_access or record.created_at)) / DAY
        if idle_days > settings.prune_stale_days:
            since = "last recalled" if used.last_access else "created, never recalled since"
            flag(record, f"stale: {since} {idle_days:.0f} days ago")
        if age_days > settings.prune_rare_min_age_days and used.hits < settings.prune_rare_max_hits:
            flag(record, f"rarely accessed: recalled {used.hits} times in {age_days:.0f} days")
        if used.hits and used.best_score is not None and used.best_score < settings.prune_low_relevance:
            flag(record, f"low relevance: best recall score {used.best_score:.2f} over {used.hits} recalls")
    for dropped, kept, similarity in near_duplicates(records, vectors, usage, settings.prune_duplicate_similarity):
        flag(dropped, f"near-duplicate of {kept.id} (similarity {similarity:.3f})")
    return sorted(found.values(), key=lambda c: c.record.created_at)


def near_duplicates(
    records: list[Record], vectors: Vectors, usage: dict[str, Usage], threshold: float
) -> list[tuple[Record, Record, float]]:
    """Pairs (dropped, kept, similarity) among current memories; each memory is dropped at most once."""
    rows = [i for i, r in enumerate(records) if r.current]
    if len(rows) < 2:
        return []
    current = vectors[rows]

    def keep_rank(i: int) -> tuple[int, float]:
        record = records[rows[i]]
        return usage.get(record.id, Usage()).hits, record.created_at

    dropped: set[int] = set()
    pairs: list[tuple[Record, Record, float]] = []
    for start in range(0, len(rows), BLOCK):
        similarity = current[start : start + BLOCK] @ current.T
        for offset, j in zip(*np.nonzero(similarity >= threshold), strict=True):
            i = start + int(offset)
            j = int(j)
            if i >= j or i in dropped or j in dropped:
                continue  # each pair once; a memory already dropped keeps nothing alive
            loser, winner = (i, j) if keep_rank(i) < keep_rank(j) else (j, i)
            dropped.add(loser)
            pairs.append((records[rows[loser]], records[rows[winner]], float(similarity[offset, j])))
    return pairs
