"""How recall fuses its three signals into one score, and what a recall hit carries.

score = (w_dense * specific + w_lexical * bm25 / best_bm25 + w_time * in_period) / (sum of the weights)

- specific: cosine in meaning minus `generic` times the memory's average cosine with the other memories
  of its namespace (from its dot product with the namespace's mean vector). A memory that resembles
  everything the namespace holds (small talk, boilerplate, the people it is about) looks close to any question:
  "Anika: Talk later!" scores 0.62 against "What was Anika up to in April?", above "Anika: Moving day is
  done". This is the hubness reduction of the embedding literature (CSLS); a namespace whose memories are
  alike (a chat) has a long mean vector and is corrected more than one of varied facts. `similarity` stays
  the plain cosine: the relevance floor reads it.
- bm25 / best_bm25: BM25 relative to the best BM25 among the namespace's candidates for this query (the
  normalisation Qdrant's distribution-based fusion also makes per query), so a name or date only one
  memory shares lifts that memory, while a word every candidate shares lifts them all alike.
- in_period: 1 when the memory happened in the period the question names ("in May 2023"), else 0.

A linear fusion, not reciprocal rank fusion: with RRF, lexical ties (five facts about Maria all matching
"Maria") become an arbitrary ranking that outvotes the dense order; here they cancel out (measured on
the dev split of bench/data/memory_paraphrase: RRF cost 0.2 of recall@1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sophia.kit.embeddings import Vectors
from sophia.memory.records import Record


@dataclass(frozen=True)
class Weights:
    dense: float
    lexical: float
    time: float
    generic: float = 0.0

    def fuse(self, specific: float, lexical: float, in_period: bool, period_asked: bool) -> float:
        total = self.dense + self.lexical + (self.time if period_asked else 0.0)
        score = self.dense * specific + self.lexical * lexical + (self.time if in_period else 0.0)
        return score / total if total > 0 else 0.0


def without_average(query: Vectors, average: tuple[Vectors, int] | None, generic: float) -> tuple[Vectors, float]:
    """The query shifted, and a constant, such that a memory's dot product with the one plus the other is
    its `specific` similarity: cosine minus `generic` times its average cosine with the *other* memories of
    its namespace (from their mean over `count` memories, itself included: n·(m·mean) - 1 over n - 1)."""
    if average is None or average[1] < 2 or generic == 0:
        return query, 0.0
    mean, count = average
    return (query - generic * count / (count - 1) * mean).astype(np.float32), generic / (count - 1)


@dataclass(frozen=True)
class Hit:
    record: Record
    score: float  # fused
    similarity: float  # cosine between query and memory (before the generic direction is taken out)
    lexical: float  # BM25 relative to the best candidate's, 0..1 (0: no term in common)
    specific: float = 0.0  # similarity with the namespace's average taken out (see above)
    focus: float = 0.0  # cosine with the question with its names left out (ranking.py; `similarity` if none)
