"""The router: everything one process holds, and the routing decision `route` and `complete` share.

A decision reads the prompt's tier (`tiers.py`), sizes the call (`tokens.py`), reads what changes
at run time from Redis in one pipelined round trip (cooldowns, learned latency, budget status) and
ranks the deployments (`policy.py`). `route` stops there; `complete` (`completion.py`) walks the
ranking.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sophia.kit import ToolError
from sophia.kit.breaker import CircuitBreakers
from sophia.router import keys, policy, tokens
from sophia.router.budgets import Budgets
from sophia.router.cache import Cache, LazyEmbedder
from sophia.router.catalog import Catalog, Model, Tier, load_catalog
from sophia.router.health import Cooldowns
from sophia.router.inputs import Image, Tool, extra_input_tokens
from sophia.router.providers import Providers
from sophia.router.settings import RouterSettings, Weights
from sophia.router.tiers import Assessment, Estimator, Neighbours, load_examples
from sophia.router.usage import Usage

logger = logging.getLogger("sophia.router")

NOT_CONFIGURED = (
    "no LLM provider is configured: set SOPHIA_ROUTER_PROVIDERS (for example "
    '[{"name": "openai", "api_key_env": "OPENAI_API_KEY"}]); route still works from the catalog'
)


@dataclass(frozen=True)
class Request:
    prompt: str
    system: str | None = None
    max_tokens: int | None = None
    preset: str | None = None
    json: bool = False
    requires: frozenset[str] = frozenset()
    model: str | None = None
    tier: Tier | None = None
    principal: str = "anonymous"
    temperature: float | None = None
    stream: bool = False
    cache: bool = False
    fallback: bool = True
    min_quality: float | None = None  # the call's quality/cost knob; None: the preset's
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def capabilities(self) -> frozenset[str]:
        """What a model must support for this call: asked for explicitly, or implied by its content."""
        implied = {"json"} if self.json else set()
        implied |= {"tools"} if self.tools else set()
        implied |= {"vision"} if self.images else set()
        return self.requires | implied


@dataclass
class Decision:
    request: Request
    tier: Tier
    tier_source: str  # "estimated" or "caller"
    assessment: Assessment
    need: policy.Need
    ranking: policy.Ranking
    preset: str
    budget: list[dict[str, Any]]
    reasons: list[str] = field(default_factory=list)
    pool: str = "configured providers"

    @property
    def chosen(self) -> policy.Scored | None:
        return self.ranking.ranked[0] if self.ranking.ranked else None

    def view(self, max_attempts: int) -> dict[str, Any]:
        chosen = self.chosen
        assert chosen is not None
        return {
            "tier": self.tier.value,
            "model": chosen.model.id,
            "provider": chosen.model.provider,
            "reasons": self.reasons,
            "estimated_cost_usd": round(chosen.estimated_cost, 8),
            "max_cost_usd": round(chosen.max_cost, 8),
            "tier_source": self.tier_source,
            "tier_probabilities": {t.value: p for t, p in self.assessment.probabilities.items()},
            "expected_quality": {t.value: q for t, q in self.assessment.expected_quality().items()},
            "min_quality": self.assessment.min_quality,
            **({"expected_gain": self.assessment.gain} if self.assessment.gain is not None else {}),
            "preset": self.preset,
            "fallbacks": [s.model.id for s in self.ranking.ranked[1:max_attempts]],
            "candidates": [s.view() for s in self.ranking.ranked[:5]],
            "excluded": [{"model": e.model, "reason": e.reason} for e in self.ranking.excluded],
            "estimated_input_tokens": self.need.input_tokens,
            "expected_output_tokens": self.need.output_tokens,
            "max_output_tokens": chosen.max_output,
            "pool": self.pool,
        }


class Router:
    def __init__(
        self,
        settings: RouterSettings,
        catalog: Catalog,
        estimator: Estimator,
        providers: Providers,
        redis: Redis,
        raw_redis: Redis,
        embedder: LazyEmbedder,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.estimator = estimator
        self.providers = providers
        self.redis = redis
        self.raw_redis = raw_redis
        self.embedder = embedder
        defaults = {
            "global:daily": settings.global_daily_usd,
            "global:monthly": settings.global_monthly_usd,
            "principal:daily": settings.principal_daily_usd,
            "principal:monthly": settings.principal_monthly_usd,
        }
        self.budgets = Budgets(redis, defaults, settings.hold_ttl_s)
        self.usage = Usage(redis, settings.latency_samples, settings.latency_alpha)
        self.cooldowns = Cooldowns(redis)
        self.breakers = CircuitBreakers(settings.breaker_failures, settings.breaker_open_s)
        self.cache = Cache(
            raw_redis, embedder, settings.cache_threshold, settings.cache_ttl_s, settings.cache_max_entries
        )

    # -- the decision ------------------------------------------------------------------------------

    def weights(self, preset: str | None) -> tuple[str, Weights]:
        if preset is None or preset == "default":
            return "default", self.settings.weights
        if preset not in self.settings.presets:
            known = ", ".join(["default", *sorted(self.settings.presets)])
            raise ToolError(f"unknown preset {preset!r}; known presets: {known}")
        return preset, self.settings.presets[preset]

    def model(self, model_id: str) -> Model:
        model = self.catalog.get(model_id)
        if model is None:
            near = [m.id for m in self.catalog.models if model_id.split("/")[-1] in m.id][:5]
            hint = f"; did you mean {', '.join(near)}?" if near else "; the models tool lists the catalog"
            raise ToolError(f"unknown model {model_id!r}{hint}")
        return model

    async def assess(self, request: Request, weights: Weights) -> Assessment:
        embedding = None
        if self.settings.tier_embeddings and self.estimator.neighbours is not None:
            embedding = await self.embedder(f"{request.system or ''}\n{request.prompt}".strip())
        knob = request.min_quality if request.min_quality is not None else weights.min_quality
        return self.estimator.assess(request.prompt, request.system, embedding, knob)

    def need(self, request: Request, tier: Tier, assessment: Assessment) -> policy.Need:
        spec = self.catalog.tiers[tier]
        text = f"{request.system or ''}\n{request.prompt}"
        asked = assessment.features.requested_output_tokens
        if request.max_tokens is not None:
            cap = request.max_tokens
        else:
            cap = max(spec.max_output_tokens, math.ceil((asked or 0) * 1.3))
        cap = min(cap, self.settings.max_output_tokens)
        extra, extra_bound = extra_input_tokens(request.tools, request.images)
        return policy.Need(
            tier=tier,
            input_tokens=tokens.expected(text) + extra,
            input_bound=tokens.bound(text) + extra_bound,
            output_tokens=min(asked or spec.expected_output_tokens, cap),
            max_output=cap,
            capabilities=request.capabilities,
        )

    async def runtime_state(
        self, principal: str, tier: Tier | None
    ) -> tuple[dict[str, str], dict[str, float], list[dict[str, Any]]]:
        """Cooldowns, learned latency and budget status in one round trip (and the route counted)."""
        lines = list(self.budgets.lines(principal))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.COOLDOWNS)
            pipe.hgetall(keys.LATENCY)
            pipe.hgetall(keys.BUDGET_LIMITS)
            for line in lines:
                pipe.get(keys.budget_spent(line.scope, line.key))
                pipe.hgetall(keys.budget_held(line.scope, line.key))
            if tier is not None:
                self.usage.book_route(pipe, principal, tier.value)
            raw = await pipe.execute()
        cooldowns = Cooldowns.parse(raw[0])
        learned = Usage.parse_learned(raw[1])
        budget = self.budgets.read(lines, raw[2 : 3 + 2 * len(lines)])
        cooling = {m: f"cooling down {left:.0f} s more ({why})" for m, (left, why) in cooldowns.items()}
        return cooling, learned, budget

    async def decide(self, request: Request, *, for_call: bool) -> Decision:
        preset, weights = self.weights(request.preset)
        pinned = self.model(request.model) if request.model else None
        assessment = await self.assess(request, weights)
        tier, source = (request.tier, "caller") if request.tier is not None else (assessment.tier, "estimated")
        need = self.need(request, tier, assessment)
        reasons = [f"tier {tier.value} ({'set by the caller' if source == 'caller' else 'estimated'})"]
        if source == "estimated":
            reasons += assessment.reasons
            expected = ", ".join(f"{t.value} {q:.2f}" for t, q in assessment.expected_quality().items())
            knob = assessment.min_quality
            reasons.append(f"min_quality {knob:g}: the cheapest tier expected to be enough ({expected})")
        try:
            cooling, learned, rows = await self.runtime_state(request.principal, tier)
        except RedisError as exc:
            if for_call:
                raise ToolError(
                    "the budget store (Redis) is unavailable: no call is made without a budget check"
                ) from exc
            logger.warning("route without runtime state: Redis failed (%s)", type(exc).__name__)
            cooling, learned, rows = {}, {}, []
            reasons.append("Redis unavailable: cooldowns, learned latency and budgets not considered")
        unavailable, pool = self.unavailable(cooling, for_call)
        if pool != "configured providers":
            reasons.append("no provider is configured: ranked over the whole catalog")
        limited = [r["remaining_usd"] for r in rows if r["remaining_usd"] is not None]
        remaining = min(limited) if limited else None
        ranking = policy.rank(
            self.catalog.models,
            self.catalog,
            need,
            weights,
            today=datetime.now(UTC).date(),
            half_life_days=self.settings.freshness_half_life_days,
            latency=learned,
            unavailable=unavailable,
            remaining_usd=remaining,
            pinned=pinned.id if pinned else None,
        )
        if pinned is not None and not request.fallback:
            ranking = policy.Ranking([s for s in ranking.ranked if s.model.id == pinned.id], ranking.excluded)
        decision = Decision(request, tier, source, assessment, need, ranking, preset, rows, reasons, pool)
        decision.reasons += self._policy_reasons(decision, pinned, remaining)
        return decision

    def unavailable(self, cooling: dict[str, str], for_call: bool) -> tuple[dict[str, str], str]:
        """Deployments that cannot be called now, with why, and the pool the decision ranks. With no
        provider configured, `route` ranks the whole catalog: the decision is still useful advice."""
        unavailable = dict(cooling)
        pool = "configured providers"
        if self.providers.configured or for_call:
            for m in self.catalog.models:
                if not self.providers.has(m.provider):
                    unavailable[m.id] = f"provider {m.provider!r} is not configured"
        else:
            pool = "whole catalog (no provider configured)"
        for m in self.catalog.models:
            if m.id not in unavailable and not self.breakers[m.provider].available():
                unavailable[m.id] = f"circuit breaker of {m.provider!r} is open"
        return unavailable, pool

    def _policy_reasons(self, decision: Decision, pinned: Model | None, remaining: float | None) -> list[str]:
        tier, ranking = decision.tier, decision.ranking
        floor = self.catalog.tiers[tier].min_quality
        out = [f"{len(ranking.ranked)} eligible model(s): quality at least {floor:g}, enough context, callable now"]
        chosen = decision.chosen
        if chosen is not None:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in chosen.parts.items())
            lead = "pinned by the caller" if pinned and chosen.model.id == pinned.id else "best score"
            latency = (
                f"learned latency {chosen.latency_ms:.0f} ms"
                if chosen.latency_ms is not None
                else "latency not observed yet"
            )
            out.append(
                f"{chosen.model.id}: {lead} {chosen.score:.3f} under preset {decision.preset} ({parts}); {latency}"
            )
            out.append(
                f"estimated ${chosen.estimated_cost:.6f} for ~{decision.need.input_tokens:,} input and "
                f"~{decision.need.output_tokens:,} output tokens; at most ${chosen.max_cost:.6f} "
                f"(output capped at {chosen.max_output:,})"
            )
        kinds: dict[str, int] = {}
        for e in ranking.excluded:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        if kinds:
            out.append("excluded: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
        if remaining is not None:
            out.append(f"budget left ${remaining:.6f} (the tightest of the limits that apply)")
        return out

    def no_candidate(self, decision: Decision) -> ToolError:
        reasons = "; ".join(f"{e.model}: {e.reason}" for e in decision.ranking.excluded if e.kind != "quality")
        if decision.request.model and not decision.request.fallback:
            pinned = next((e for e in decision.ranking.excluded if e.model == decision.request.model), None)
            if pinned is not None:
                return ToolError(f"model {pinned.model} cannot take this call: {pinned.reason}")
        if (
            decision.ranking.excluded
            and all(e.kind in ("budget", "quality") for e in decision.ranking.excluded)
            and any(e.kind == "budget" for e in decision.ranking.excluded)
        ):
            return ToolError(
                f"budget exceeded: no {decision.tier.value} model fits what the budget has left ({reasons})"
            )
        return ToolError(f"no model is available for tier {decision.tier.value}: {reasons or 'none adequate'}")

    async def route(self, request: Request) -> dict[str, Any]:
        decision = await self.decide(request, for_call=False)
        if decision.chosen is None:
            raise self.no_candidate(decision)
        return decision.view(self.settings.max_attempts)

    # -- what the models tool shows -----------------------------------------------------------------

    async def models(self) -> dict[str, Any]:
        try:
            cooling, learned = await asyncio.gather(self.cooldowns.active(), self.usage.learned())
        except RedisError:
            cooling, learned = {}, {}
        rows = []
        for m in self.catalog.models:
            rows.append(
                {
                    **m.view(),
                    "highest_tier": self.catalog.tier_of(m).value,
                    "provider_configured": self.providers.has(m.provider),
                    "learned_latency_ms": learned.get(m.id),
                    "cooling_down_s": round(cooling[m.id][0], 1) if m.id in cooling else None,
                }
            )
        return {
            "tiers": {t.value: spec.model_dump() for t, spec in self.catalog.tiers.items()},
            "models": rows,
            "providers": self.providers.view(),
            "breakers": self.breakers.view(),
        }

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.redis.aclose()
        await self.raw_redis.aclose()


async def open_router(settings: RouterSettings) -> AsyncIterator[Router]:
    """A kit dependency: the process's router, built at start (catalog read, tier model trained)."""
    catalog = load_catalog(settings.catalog_path)
    embedder = LazyEmbedder(settings.embedding_threads)
    gain_data = tuple(path.read_text(encoding="utf-8") for path in settings.gain_data)
    estimator = await asyncio.to_thread(Estimator.from_library, None, settings.gain_model, gain_data)
    if settings.tier_embeddings:
        examples = load_examples()
        vectors = await embedder.many([f"{e.system or ''}\n{e.prompt}".strip() for e in examples])
        estimator.neighbours = Neighbours(np.asarray(vectors), [e.tier for e in examples])
    elif settings.preload_embeddings:
        await embedder.load()
    redis = Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
    raw_redis = Redis.from_url(settings.redis_url, decode_responses=False, health_check_interval=30)
    router = Router(settings, catalog, estimator, Providers(settings), redis, raw_redis, embedder)
    try:
        yield router
    finally:
        await router.aclose()
