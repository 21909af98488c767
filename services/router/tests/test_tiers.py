"""Tier accuracy on our labelled set (`data/tiers.jsonl`, disjoint from the library the model trains on).

The set follows the fleet's tier convention: simple = lookups, greetings, formatting, one-line rewrites,
classification, extraction however long the input; balanced = multi-paragraph writing, moderate code,
summaries of long text, comparisons; premium = hard multi-step reasoning, proofs, architecture or
strategy trade-offs, concurrency debugging, high-stakes legal or financial analysis however short.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sophia.router.catalog import TIERS, Tier
from sophia.router.tiers import (
    Assessment,
    Estimator,
    Example,
    TierModel,
    calibration_groups,
    choose,
    fit_temperature,
    load_examples,
    shipped_model,
)

LABELLED = Path(__file__).parent / "data" / "tiers.jsonl"
BLIND = Path(__file__).parents[3] / "bench" / "data" / "router_blind.jsonl"
FLOORS = {Tier.SIMPLE: 0.9, Tier.BALANCED: 0.9, Tier.PREMIUM: 0.9}
LONG = 800  # characters: many times the instruction


@pytest.fixture(scope="module")
def labelled() -> list[Example]:
    return load_examples(LABELLED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def predictions(labelled: list[Example]) -> list[Assessment]:
    estimator = Estimator.from_library()
    return [estimator.assess(e.prompt, e.system) for e in labelled]


def accuracy(pairs: list[tuple[Example, Assessment]]) -> float:
    return sum(e.tier == a.tier for e, a in pairs) / len(pairs)


def test_the_labelled_set_is_large_balanced_and_disjoint_from_the_library(labelled: list[Example]) -> None:
    counts = Counter(e.tier for e in labelled)
    assert len(labelled) >= 100 and min(counts.values()) >= 30, counts
    library = {e.prompt for e in load_examples()}
    assert not library & {e.prompt for e in labelled}


def test_accuracy_per_tier_holds_its_floor(labelled: list[Example], predictions: list[Assessment]) -> None:
    pairs = list(zip(labelled, predictions, strict=True))
    per_tier = {t: accuracy([(e, a) for e, a in pairs if e.tier == t]) for t in TIERS}
    confusion = Counter((e.tier.value, a.tier.value) for e, a in pairs)
    print(
        f"\ntier accuracy {accuracy(pairs):.3f} on {len(pairs)} prompts:",
        {t.value: round(v, 3) for t, v in per_tier.items()},
    )
    print("confusion (label, predicted):", dict(sorted(confusion.items())))
    assert all(per_tier[t] >= FLOORS[t] for t in TIERS), per_tier


def test_long_but_trivial_prompts_stay_simple(labelled: list[Example], predictions: list[Assessment]) -> None:
    pairs = [
        (e, a) for e, a in zip(labelled, predictions, strict=True) if e.tier == Tier.SIMPLE and len(e.prompt) > LONG
    ]
    assert len(pairs) >= 20
    assert accuracy(pairs) >= 0.9


def test_short_but_hard_prompts_reach_premium(labelled: list[Example], predictions: list[Assessment]) -> None:
    pairs = [
        (e, a) for e, a in zip(labelled, predictions, strict=True) if e.tier == Tier.PREMIUM and len(e.prompt) < 120
    ]
    assert len(pairs) >= 30
    assert accuracy(pairs) >= 0.9


def test_every_assessment_gives_reasons_and_probabilities(predictions: list[Assessment]) -> None:
    for assessment in predictions:
        assert assessment.reasons and all(isinstance(r, str) and r for r in assessment.reasons)
        assert sum(assessment.probabilities.values()) == pytest.approx(1, abs=0.01)
        p = np.array([assessment.probabilities[t] for t in TIERS])
        assert choose(p, assessment.min_quality) == assessment.tier


def test_reasons_quote_the_words_that_decided() -> None:
    estimator = Estimator.from_library()
    proof = estimator.assess("Prove that every finite group of prime order is cyclic.")
    assert proof.tier == Tier.PREMIUM and any("proof ('prove')" in r for r in proof.reasons)
    contract = "This Agreement is made between Acme and Globex. " * 80
    lookup = estimator.assess(f"What is the date of this agreement?\n\n{contract}")
    assert lookup.tier == Tier.SIMPLE and any("length alone does not raise it" in r for r in lookup.reasons)


def test_training_is_deterministic() -> None:
    first, second = Estimator.from_library(load_examples()), Estimator.from_library(load_examples())
    assert np.array_equal(first.model.weights, second.model.weights)


def test_the_neighbour_vote_blends_in_when_an_embedding_is_given() -> None:
    """With `tier_embeddings`, the nearest library examples vote; a vote for premium lifts premium."""
    library = load_examples()
    vectors = np.eye(len(library), dtype=np.float32)
    from sophia.router.tiers import Neighbours

    estimator = Estimator(Estimator.from_library().model, Neighbours(vectors, [e.tier for e in library]))
    premium_index = next(i for i, e in enumerate(library) if e.tier == Tier.PREMIUM)
    plain = estimator.assess("Write a poem about the sea.")
    voted = estimator.assess("Write a poem about the sea.", embedding=vectors[premium_index])
    assert voted.probabilities[Tier.PREMIUM] > plain.probabilities[Tier.PREMIUM]
    assert "nearest labelled examples voted too" in voted.reasons


def test_the_library_is_large_varied_and_apart_from_the_blind_set() -> None:
    library = load_examples()
    counts = Counter(e.tier for e in library)
    assert len(library) >= 1500 and min(counts.values()) >= 300, counts
    assert len({e.group for e in library}) >= 200  # templates and handwritten prompts, not a few shapes
    blind = load_examples(BLIND.read_text(encoding="utf-8"))
    assert len(blind) >= 200 and not {e.prompt for e in library} & {e.prompt for e in blind}


def test_the_temperature_is_fitted_on_held_out_groups() -> None:
    library = load_examples()
    held = calibration_groups(library)
    assert 0.1 < len(held) / len({e.group for e in library}) < 0.3
    # Overconfident logits are cooled down, underconfident ones sharpened.
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    confident_and_often_wrong = np.array([[8.0, 0, 0], [0, 8, 0], [0, 0, 8], [0, 8, 0]] * 2)
    assert fit_temperature(confident_and_often_wrong, y) > 2
    right_but_timid = np.eye(3)[y] * 0.5
    assert fit_temperature(right_but_timid, y) < 0.5


def test_probabilities_are_calibrated_on_the_labelled_set(
    labelled: list[Example], predictions: list[Assessment]
) -> None:
    """Expected calibration error of the top probability: how far confidence is from accuracy, on average."""
    confidence = np.array([max(a.probabilities.values()) for a in predictions])
    correct = np.array(
        [
            max(a.probabilities, key=a.probabilities.__getitem__) == e.tier
            for e, a in zip(labelled, predictions, strict=True)
        ]
    )
    bins = np.minimum((confidence * 10).astype(int), 9)
    error = sum(abs(confidence[bins == b].mean() - correct[bins == b].mean()) * (bins == b).sum() for b in set(bins))
    print(f"\nexpected calibration error {error / len(labelled):.3f}")
    assert error / len(labelled) < 0.1


def test_min_quality_picks_the_cheapest_tier_expected_to_be_enough() -> None:
    p = np.array([0.2, 0.5, 0.3])
    assert choose(p, 0.5) == Tier.BALANCED  # premium would matter 30% of the time
    assert choose(p, 0.8) == Tier.PREMIUM  # ... which is more than the 20% this knob accepts
    assert choose(p, 0.1) == Tier.SIMPLE
    assert choose(np.array([0.0, 0.0, 1.0]), 0.0) == Tier.SIMPLE  # 0: always the cheapest


def test_a_higher_min_quality_never_lowers_a_tier(labelled: list[Example]) -> None:
    estimator = Estimator.from_library()
    for example in labelled[::5]:
        tiers = [TIERS.index(estimator.assess(example.prompt, min_quality=q).tier) for q in (0.2, 0.5, 0.8, 0.95)]
        assert tiers == sorted(tiers), example.prompt[:80]


def test_the_saved_tier_weights_are_what_training_on_the_shipped_library_gives() -> None:
    """The service loads `tier_weights.json` instead of training at start; a change to the library, the signals
    or the training without rerunning `library/build.py` fails here."""
    saved, trained = shipped_model(), TierModel.train(load_examples())
    assert saved.temperature == pytest.approx(trained.temperature, rel=1e-4)
    assert saved.vocabulary.tokens == trained.vocabulary.tokens
    for prompt in (
        "What is the capital of Portugal?",
        "Write a two-paragraph product update for the new export feature.",
        "Prove that every finite integral domain is a field.",
        "Our payment service double-charges under concurrent retries; find the race and fix it.",
    ):
        estimate = Estimator(saved).assess(prompt).probabilities
        assert estimate == pytest.approx(Estimator(trained).assess(prompt).probabilities, abs=1e-4)


def test_saved_tier_weights_for_other_signals_are_refused() -> None:
    saved = json.loads(shipped_model().to_json())
    saved["signals"] = saved["signals"][:-1]
    with pytest.raises(ValueError, match=r"build\.py"):
        TierModel.from_json(json.dumps(saved))
