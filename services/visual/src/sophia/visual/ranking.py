"""How candidates become results: scores, and why each one matched.

Text queries: cosine similarity of the query to the image's OCR text (MiniLM), plus a keyword bonus for
query words read in the image (so exact words such as an invoice number or a button label win). Image
queries: the layout-and-colour vector and the pHash, plus the OCR text when the example has text (a
crop or a recompressed copy keeps its words even when its pixels change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sophia.visual import keywords, signature
from sophia.visual.store import Hit

KEYWORD_WEIGHT = 0.5
# Image queries: weights of layout cosine, pHash similarity and OCR-text cosine.
LAYOUT_WEIGHT, PHASH_WEIGHT, TEXT_WEIGHT = 0.4, 0.2, 0.4


@dataclass(frozen=True)
class Ranked:
    hit: Hit
    score: float
    why: dict[str, Any]


def _labels(payload: dict[str, Any]) -> str:
    return " ".join([str(payload.get("title") or ""), *map(str, payload.get("tags") or [])])


def rank_text(query: str, hits: list[Hit], learned: dict[str, float] | None = None) -> list[Ranked]:
    """Order `hits` (found by text vector, and by the learned vector when one is active) for `query`."""
    terms = keywords.query_terms(query)
    ranked = []
    for hit in hits:
        found = keywords.match(terms, hit.payload.get("ocr_lines") or [], _labels(hit.payload))
        semantic = hit.score
        score = semantic + KEYWORD_WEIGHT * found.score
        why: dict[str, Any] = {
            "text_similarity": round(semantic, 4),
            "keyword_score": round(found.score, 4),
            "matched_words": found.matched,
            "regions": found.regions,
        }
        if learned is not None and hit.id in learned:
            why["learned_similarity"] = round(learned[hit.id], 4)
            score += learned[hit.id]
        ranked.append(Ranked(hit, score, why))
    return sorted(ranked, key=lambda r: -r.score)


def rank_image(
    query_phash: str,
    by_layout: dict[str, float],
    by_text: dict[str, float],
    hits: dict[str, Hit],
    query_words: list[str],
) -> list[Ranked]:
    """Order candidates for an example image: layout cosine, pHash similarity, and OCR text when present."""
    ranked = []
    text_weight = TEXT_WEIGHT if by_text else 0.0
    total = LAYOUT_WEIGHT + PHASH_WEIGHT + text_weight
    for point_id, hit in hits.items():
        layout = by_layout.get(point_id, 0.0)
        text = by_text.get(point_id, 0.0)
        phash = signature.phash_similarity(query_phash, str(hit.payload.get("phash", "0" * 16)))
        score = (LAYOUT_WEIGHT * layout + PHASH_WEIGHT * phash + text_weight * text) / total
        found = keywords.match(query_words, hit.payload.get("ocr_lines") or []) if query_words else None
        ranked.append(
            Ranked(
                hit,
                score,
                {
                    "layout_similarity": round(layout, 4),
                    "phash_similarity": round(phash, 4),
                    "text_similarity": round(text, 4),
                    "matched_words": found.matched if found else [],
                    "regions": found.regions if found else [],
                },
            )
        )
    return sorted(ranked, key=lambda r: -r.score)
