"""Keyword scoring on OCR text and the explanation of a match."""

from __future__ import annotations

from sophia.visual.keywords import match, query_terms
from sophia.visual.ranking import rank_text
from sophia.visual.store import Hit

LINES = [
    {"text": "Checkoutpage-Ordersummary", "box": [0.0, 0.0, 0.5, 0.1]},
    {"text": "Place order", "box": [0.6, 0.7, 0.9, 0.8]},
    {"text": "Login", "box": [0.1, 0.9, 0.2, 0.95]},
]


def test_query_terms_drop_filler_words_but_keep_all_filler_queries() -> None:
    assert query_terms("find the mockup of the checkout page with the blue button") == ["checkout", "blue", "button"]
    assert query_terms("the page") == ["the", "page"]


def test_words_run_together_by_ocr_still_match_and_short_words_do_not() -> None:
    found = match(["checkout", "order", "in"], LINES)
    assert found.matched == ["checkout", "order"]  # "in" is inside "Login" but too short to count
    assert found.score == 2 / 3
    assert [r["text"] for r in found.regions] == ["Checkoutpage-Ordersummary", "Place order"]


def test_labels_count_as_matches_without_a_region() -> None:
    found = match(["redesign"], LINES, extra_text="Shop redesign")
    assert found.matched == ["redesign"] and found.regions == []


def test_exact_words_lift_an_image_over_a_closer_meaning() -> None:
    invoice = Hit("a", 0.30, {"ocr_lines": [{"text": "Invoice number INV-2041", "box": [0, 0, 1, 0.1]}]})
    similar = Hit("b", 0.45, {"ocr_lines": [{"text": "Invoice number INV-1999", "box": [0, 0, 1, 0.1]}]})
    ranked = rank_text("invoice INV-2041", [similar, invoice])
    assert [r.hit.id for r in ranked] == ["a", "b"]
    assert ranked[0].why["matched_words"] == ["invoice", "inv-2041"]
