"""Recall's ranking, apart from the tool so the benchmark measures exactly what callers get: hybrid search,
superseded versions kept under their successors, and the relevance floor."""

from __future__ import annotations

from dataclasses import dataclass

from sophia.kit.embeddings import Vectors
from sophia.memory import lexical, periods
from sophia.memory.fusion import Hit, Weights
from sophia.memory.index import Filter, Query
from sophia.memory.settings import MemorySettings
from sophia.memory.store import Store


@dataclass(frozen=True)
class Answer:
    hits: list[tuple[Hit, float]]  # best first, with the score after the superseded penalty
    nothing_relevant: bool

    @property
    def best_similarity(self) -> float:
        return max((hit.similarity for hit, _ in self.hits), default=-1.0)


def weights(settings: MemorySettings) -> Weights:
    return Weights(settings.dense_weight, settings.lexical_weight, settings.time_weight)


async def recall(store: Store, settings: MemorySettings, text: str, vector: Vectors, where: Filter, k: int) -> Answer:
    asked = Query(vector, lexical.query(text), periods.period(text), settings.fusion_depth)
    # History can push the newest versions down: fetch a few more before re-ranking.
    found = await store.search(asked, where, k * 2 if where.include_superseded else k, weights(settings))
    ranked = rank(found, settings.superseded_penalty)[:k]
    return Answer(ranked, not any(relevant(hit, settings) for hit, _ in ranked))


def relevant(hit: Hit, settings: MemorySettings) -> bool:
    """Whether a hit is close enough to the query to make the answer worth returning at all."""
    return hit.similarity >= settings.relevance_floor


def rank(found: list[Hit], penalty: float) -> list[tuple[Hit, float]]:
    """Order by fused score, superseded versions lowered by `penalty`, and never above their successor."""
    ranked = sorted(
        ((hit, hit.score - (0 if hit.record.current else penalty)) for hit in found), key=lambda item: -item[1]
    )
    position = {hit.record.id: i for i, (hit, _) in enumerate(ranked)}
    for hit, _ in list(ranked):
        successor = hit.record.superseded_by
        if successor in position and position[successor] > position[hit.record.id]:
            item = ranked.pop(position[successor])
            ranked.insert(position[hit.record.id], item)
            position = {h.record.id: i for i, (h, _) in enumerate(ranked)}
    return ranked
