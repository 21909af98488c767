"""Choosing among deployments: which are eligible for a call, and how the eligible ones rank.

Eligible: adequate for the tier (quality at least the tier's `min_quality`), enough context window
for the expected input plus the output cap, the capabilities asked for, callable now (provider
configured, breaker closed, not cooling down), and a worst-case cost inside what the budgets have
left. The eligible are scored on four criteria in [0, 1], weighted by the preset:

- cost: the estimated cost of this call, on a log scale between the cheapest and the dearest
  candidate (prices span three orders of magnitude);
- quality: the catalog's score, between the lowest and highest candidate;
- latency: learned at run time, on a log scale; a deployment not yet observed scores 0.5, so it is
  tried rather than shunned;
- freshness: halves every `freshness_half_life_days` since release.

Pure functions: everything that changes (latency, cooldowns, budget) comes in as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sophia.router.catalog import Catalog, Model, Tier
from sophia.router.settings import Weights

CRITERIA = ("cost", "quality", "latency", "freshness")
UNKNOWN_LATENCY = 0.5
FREE = 1e-7  # a price of 0 (a local model) on the log scale


@dataclass(frozen=True)
class Need:
    """What one call asks of a model."""

    tier: Tier
    input_tokens: int  # expected
    input_bound: int  # at most (UTF-8 bytes: a byte-level tokenizer never makes more tokens than bytes)
    output_tokens: int  # expected
    max_output: int  # the cap that will be sent
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scored:
    model: Model
    score: float
    parts: dict[str, float]
    estimated_cost: float
    max_cost: float
    max_output: int
    latency_ms: float | None

    def view(self) -> dict[str, object]:
        return {
            "model": self.model.id,
            "score": round(self.score, 4),
            "parts": {k: round(v, 3) for k, v in self.parts.items()},
            "estimated_cost_usd": round(self.estimated_cost, 8),
            "max_cost_usd": round(self.max_cost, 8),
            "learned_latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
        }


@dataclass(frozen=True)
class Excluded:
    model: str
    reason: str
    kind: str  # quality, context, capability, unavailable, budget


@dataclass(frozen=True)
class Ranking:
    ranked: list[Scored]
    excluded: list[Excluded]


def output_cap(model: Model, need: Need) -> int:
    return min(need.max_output, model.max_output_tokens)


def worst_case(model: Model, need: Need) -> float:
    return model.cost(need.input_bound, output_cap(model, need))


def rank(
    models: Iterable[Model],
    catalog: Catalog,
    need: Need,
    weights: Weights,
    *,
    today: date,
    half_life_days: float,
    latency: Mapping[str, float],
    unavailable: Mapping[str, str],
    remaining_usd: float | None,
    pinned: str | None = None,
) -> Ranking:
    """Eligible deployments best first (a `pinned` model first, whatever its tier), and the rest with why."""
    eligible: list[Model] = []
    excluded: list[Excluded] = []
    floor = catalog.tiers[need.tier].min_quality
    for model in models:
        cap = output_cap(model, need)
        missing = sorted(need.capabilities - model.capabilities)
        if model.id != pinned and model.quality < floor:
            excluded.append(
                Excluded(model.id, f"quality {model.quality:g} is below {floor:g} ({need.tier})", "quality")
            )
        elif need.input_tokens + cap > model.context_window:
            excluded.append(
                Excluded(
                    model.id,
                    f"needs ~{need.input_tokens + cap:,} tokens, context window {model.context_window:,}",
                    "context",
                )
            )
        elif missing:
            excluded.append(Excluded(model.id, f"lacks {', '.join(missing)}", "capability"))
        elif model.id in unavailable:
            excluded.append(Excluded(model.id, unavailable[model.id], "unavailable"))
        elif remaining_usd is not None and worst_case(model, need) > remaining_usd:
            excluded.append(
                Excluded(
                    model.id,
                    f"worst case ${worst_case(model, need):.6f} exceeds the ${remaining_usd:.6f} the budget has left",
                    "budget",
                )
            )
        else:
            eligible.append(model)
    scored = score(eligible, need, weights, today=today, half_life_days=half_life_days, latency=latency)
    scored.sort(key=lambda s: (s.model.id != pinned, -s.score, s.estimated_cost, s.model.id))
    return Ranking(scored, excluded)


def score(
    models: list[Model],
    need: Need,
    weights: Weights,
    *,
    today: date,
    half_life_days: float,
    latency: Mapping[str, float],
) -> list[Scored]:
    if not models:
        return []
    costs = {m.id: m.cost(need.input_tokens, min(need.output_tokens, output_cap(m, need))) for m in models}
    log_cost = {k: math.log(v + FREE) for k, v in costs.items()}
    qualities = [m.quality for m in models]
    observed = {m.id: latency[m.id] for m in models if m.id in latency and latency[m.id] > 0}
    log_latency = {k: math.log(v) for k, v in observed.items()}
    total = weights.cost + weights.quality + weights.latency + weights.freshness
    result = []
    for m in models:
        parts = {
            "cost": 1 - _unit(log_cost[m.id], min(log_cost.values()), max(log_cost.values()), 0.0),
            "quality": _unit(m.quality, min(qualities), max(qualities), 1.0),
            "latency": (
                1 - _unit(log_latency[m.id], min(log_latency.values()), max(log_latency.values()), 0.0)
                if m.id in log_latency
                else UNKNOWN_LATENCY
            ),
            "freshness": 0.5 ** (max(0, (today - m.released).days) / half_life_days),
        }
        value = sum(getattr(weights, c) * parts[c] for c in CRITERIA) / total
        result.append(
            Scored(
                model=m,
                score=value,
                parts=parts,
                estimated_cost=costs[m.id],
                max_cost=worst_case(m, need),
                max_output=output_cap(m, need),
                latency_ms=observed.get(m.id),
            )
        )
    return result


def _unit(value: float, low: float, high: float, alone: float) -> float:
    """`value` placed in [low, high] as 0..1; `alone` when every candidate has the same value."""
    if high - low < 1e-12:
        return alone
    return (value - low) / (high - low)
