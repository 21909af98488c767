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
    unmentioned: frozenset[str] = frozenset()  # names the question uses that no hit mentions

    @property
    def best_similarity(self) -> float:
        return max((hit.similarity for hit, _ in self.hits), default=-1.0)


def weights(settings: MemorySettings) -> Weights:
    return Weights(settings.dense_weight, settings.lexical_weight, settings.time_weight, settings.generic_penalty)


async def recall(store: Store, settings: MemorySettings, text: str, vector: Vectors, where: Filter, k: int) -> Answer:
    asked = Query(vector, lexical.query(text), periods.period(text), settings.fusion_depth)
    # History and repeated texts can push the newest or other versions down: fetch more before re-ranking.
    found = await store.search(asked, where, k * 2, weights(settings))
    ranked = rank(found, settings.superseded_penalty)[:k]
    best = max((hit.similarity for hit, _ in ranked), default=-1.0)
    # Close in plain cosine, and closer to the question than to what the namespace holds in general: in a
    # chat every turn is close to a question naming its speaker.
    specific = max((hit.specific for hit, _ in ranked), default=-1.0)
    close = best >= settings.relevance_floor and specific > settings.specific_floor
    # A hit this close in meaning is trusted even when it calls the thing by another name.
    checked = settings.require_names and best < settings.names_trusted_similarity
    unmentioned = unmentioned_names(text, ranked) if checked else set()
    return Answer(ranked, not close or bool(unmentioned), frozenset(unmentioned))


def unmentioned_names(text: str, ranked: list[tuple[Hit, float]]) -> set[str]:
    """The relevance floor's second half: a question about a name (a person, a system) that none of the
    hits mentions is about something this namespace does not hold, however close the wording of the hits
    ("What does Wilhelmina drink?" when only Maria's drink is stored)."""
    asked = lexical.names(text)
    if not asked:
        return set()
    mentioned: set[str] = set()
    for hit, _ in ranked:
        mentioned.update(lexical.words(hit.record.text))
    return asked - mentioned


def rank(found: list[Hit], penalty: float) -> list[tuple[Hit, float]]:
    """Order by fused score, superseded versions lowered by `penalty` and never above their successor,
    repeated texts after distinct ones."""
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
    return repeats_last(ranked)


def repeats_last(ranked: list[tuple[Hit, float]]) -> list[tuple[Hit, float]]:
    """A memory whose text repeats a better-ranked one's ("Talk later!" said in ten sessions) goes below every
    distinct one, so k results say k different things; the repeats stay, in order, for a larger k."""
    seen: set[str] = set()
    distinct: list[tuple[Hit, float]] = []
    repeats: list[tuple[Hit, float]] = []
    for item in ranked:
        text = " ".join(item[0].record.text.casefold().split())
        (repeats if text in seen else distinct).append(item)
        seen.add(text)
    return distinct + repeats
