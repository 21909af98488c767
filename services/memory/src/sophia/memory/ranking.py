"""Recall's ranking, apart from the tool so the benchmark measures exactly what callers get: hybrid search,
superseded versions kept under their successors, siblings about one name told apart by what the question asks
of it, and the relevance floor."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


#: The question with its names replaced by this (see `focus_text`).
STAND_IN = "they"
#: Siblings are told apart among at least this many of the best hits: a recall of k=1 gets k=5's first hit.
FOCUS_POOL = 5


def focus_text(text: str, settings: MemorySettings) -> str | None:
    """What the question asks about the names it uses, for a second, name-free embedding: None when it uses
    none (or focusing is off), so such a recall embeds one text only."""
    if settings.focus_weight == 0 or not lexical.names(text):
        return None
    return lexical.without_names(text, STAND_IN)


async def recall(
    store: Store,
    settings: MemorySettings,
    text: str,
    vector: Vectors,
    where: Filter,
    k: int,
    focused: Vectors | None = None,
) -> Answer:
    """The k best memories for the question `text` (embedded as `vector`; `focused` is the embedding of
    `focus_text(text)`, when it has one)."""
    asked = Query(vector, lexical.query(text), periods.period(text), settings.fusion_depth, focused)
    pool = max(k, FOCUS_POOL) if focused is not None else k
    # History and repeated texts can push the newest or other versions down: fetch more before re-ranking.
    found = await store.search(asked, where, pool * 2, weights(settings))
    ranked = rank(found, settings.superseded_penalty)[:pool]
    if focused is not None:
        refocused = siblings_apart([hit for hit, _ in ranked], lexical.names(text), settings.focus_weight)
        ranked = rank(refocused, settings.superseded_penalty)
    ranked = ranked[:k]
    best = max((hit.similarity for hit, _ in ranked), default=-1.0)
    # Close in plain cosine, and closer to the question than to what the namespace holds in general: in a
    # chat every turn is close to a question naming its speaker.
    specific = max((hit.specific for hit, _ in ranked), default=-1.0)
    close = best >= settings.relevance_floor and specific > settings.specific_floor
    # A hit this close in meaning is trusted even when it calls the thing by another name.
    checked = settings.require_names and best < settings.names_trusted_similarity
    unmentioned = unmentioned_names(text, ranked) if checked else set()
    return Answer(ranked, not close or bool(unmentioned), frozenset(unmentioned))


def siblings_apart(hits: list[Hit], asked: set[str], weight: float) -> list[Hit]:
    """Hits that mention a name the question uses, each scored down by `weight` times how much less its
    `focus` (cosine with the question without its names) is than the best such hit's.

    A question that names someone asks one thing about them ("Which foreign tongue does Greta know?"); the
    memories about Greta share her name, and the name dominates their similarity to the question, so a
    sibling fact ("Greta reports to Ingrid.") can outrank the one asked for ("Greta grew up speaking
    Japanese."). Without the name the question says only what it asks ("Which foreign tongue does they
    know?"), and the sibling that answers that is closest to it. Only the hits that mention the name move:
    the others are not alike in that way, and a hit's focus is not comparable with its fused score. The
    best such hit keeps its score and the others only go down, so nothing unrelated is lifted."""
    named = [i for i, hit in enumerate(hits) if asked & set(lexical.words(hit.record.text))]
    if len(named) < 2:
        return hits
    best = max(hits[i].focus for i in named)
    moved = list(hits)
    for i in named:
        moved[i] = replace(hits[i], score=hits[i].score - weight * (best - hits[i].focus))
    return moved


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
