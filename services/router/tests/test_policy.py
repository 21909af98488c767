"""Which deployments are eligible for a call and how the policy ranks them (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from sophia.router import policy
from sophia.router.catalog import Catalog, Tier, load_catalog
from sophia.router.settings import DEFAULT_PRESETS, DEFAULT_WEIGHTS, Weights

from .conftest import CATALOG

TODAY = date(2025, 7, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)


def need(tier: Tier = Tier.SIMPLE, **changes: object) -> policy.Need:
    values: dict[str, object] = {"tier": tier, "input_tokens": 200, "input_bound": 800, "output_tokens": 300,
                                 "max_output": 1000, "capabilities": frozenset()}  # fmt: skip
    values.update(changes)
    return policy.Need(**values)  # type: ignore[arg-type]


def rank(catalog: Catalog, call: policy.Need, weights: Weights = DEFAULT_WEIGHTS, **state: object) -> policy.Ranking:
    options: dict[str, object] = {"latency": {}, "unavailable": {}, "remaining_usd": None}
    options.update(state)
    return policy.rank(catalog.models, catalog, call, weights, today=TODAY, half_life_days=365, **options)  # type: ignore[arg-type]


def ids(ranking: policy.Ranking) -> list[str]:
    return [s.model.id for s in ranking.ranked]


def test_the_default_picks_the_cheapest_adequate_model(catalog: Catalog) -> None:
    assert ids(rank(catalog, need(Tier.SIMPLE)))[0] == "openai/small"
    assert ids(rank(catalog, need(Tier.BALANCED)))[0] == "openai/mid"
    assert ids(rank(catalog, need(Tier.PREMIUM)))[0] == "openai/big"


def test_models_below_the_tiers_quality_are_excluded_with_the_reason(catalog: Catalog) -> None:
    ranking = rank(catalog, need(Tier.PREMIUM))
    assert set(ids(ranking)) == {"openai/big", "anthropic/big"}
    reasons = {e.model: e.reason for e in ranking.excluded}
    assert reasons["openai/mid"] == "quality 80 is below 90 (premium)"


def test_the_quality_preset_prefers_the_best_model(catalog: Catalog) -> None:
    assert ids(rank(catalog, need(Tier.PREMIUM), DEFAULT_PRESETS["quality"]))[0] == "anthropic/big"


def test_the_fast_preset_prefers_the_lowest_learned_latency(catalog: Catalog) -> None:
    latency = {"openai/small": 900.0, "anthropic/small": 150.0, "openai/mid": 400.0}
    assert ids(rank(catalog, need(), DEFAULT_PRESETS["fast"], latency=latency))[0] == "anthropic/small"


def test_an_unobserved_deployment_scores_neutral_latency(catalog: Catalog) -> None:
    ranking = rank(catalog, need(), latency={"openai/small": 100.0, "openai/mid": 1000.0})
    parts = {s.model.id: s.parts["latency"] for s in ranking.ranked}
    assert (parts["openai/small"], parts["openai/mid"], parts["anthropic/small"]) == (1.0, 0.0, 0.5)


def test_freshness_halves_every_half_life(catalog: Catalog) -> None:
    ranking = policy.rank(catalog.models, catalog, need(), DEFAULT_WEIGHTS, today=date(2026, 1, 1), half_life_days=365,
                          latency={}, unavailable={}, remaining_usd=None)  # fmt: skip
    parts = {s.model.id: s.parts["freshness"] for s in ranking.ranked}
    assert parts["openai/small"] == pytest.approx(0.5)  # released 2025-01-01


def test_the_context_window_must_hold_the_input_and_the_output_cap(catalog: Catalog) -> None:
    ranking = rank(catalog, need(input_tokens=3500, max_output=1000))
    excluded = {e.model: e.reason for e in ranking.excluded}
    assert excluded["openai/small"] == "needs ~4,500 tokens, context window 4,000"


def test_a_capability_asked_for_narrows_the_choice(catalog: Catalog) -> None:
    ranking = rank(catalog, need(capabilities=frozenset({"vision"})))
    assert set(ids(ranking)) == {"openai/big", "anthropic/big"}
    assert {e.reason for e in ranking.excluded} == {"lacks vision"}


def test_unavailable_deployments_are_excluded_with_why(catalog: Catalog) -> None:
    ranking = rank(catalog, need(), unavailable={"openai/small": "cooling down 12 s more (rate_limited)"})
    assert "openai/small" not in ids(ranking)
    assert policy.Excluded("openai/small", "cooling down 12 s more (rate_limited)", "unavailable") in ranking.excluded


def test_a_model_whose_worst_case_exceeds_the_budget_is_excluded(catalog: Catalog) -> None:
    call = need(Tier.PREMIUM)
    big = catalog.get("anthropic/big")
    assert big is not None
    worst = policy.worst_case(big, call)
    assert worst == pytest.approx((800 * 5 + 1000 * 25) / 1e6)
    ranking = rank(catalog, call, remaining_usd=worst - 1e-6)
    assert ids(ranking) == ["openai/big"]
    assert any(e.kind == "budget" and e.model == "anthropic/big" for e in ranking.excluded)


def test_the_output_cap_never_exceeds_what_a_model_can_produce(catalog: Catalog) -> None:
    ranking = rank(catalog, need(Tier.SIMPLE, max_output=10_000, input_tokens=10))
    caps = {s.model.id: s.max_output for s in ranking.ranked}
    assert caps["openai/small"] == 2000 and caps["anthropic/big"] == 10_000


def test_a_pinned_model_comes_first_whatever_its_tier(catalog: Catalog) -> None:
    ranking = rank(catalog, need(Tier.PREMIUM), pinned="openai/small")
    assert ids(ranking)[0] == "openai/small"


def test_scores_are_reported_in_parts(catalog: Catalog) -> None:
    best = rank(catalog, need()).ranked[0]
    assert set(best.parts) == {"cost", "quality", "latency", "freshness"}
    expected = sum(getattr(DEFAULT_WEIGHTS, k) * v for k, v in best.parts.items()) / 1.0
    assert best.score == pytest.approx(expected)
