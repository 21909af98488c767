"""What happened, in Redis: counters per principal and overall, latency samples, learned latency.

Every number `stats` reports is counted here from real calls: nothing is estimated except where a
provider reported no token counts, and those calls are counted apart (`usage_estimated`).
A call is booked with one script: its counters go to the principal's hash and the global one, its
latency into capped sample lists, and the deployment's learned latency (an exponentially weighted
mean) is updated from its current value inside Redis, so concurrent replicas never lose an
observation. One command instead of some twenty-five keeps the bookkeeping after an answer to one
short round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from sophia.router import keys
from sophia.router.budgets import NANO, usd
from sophia.router.catalog import TIERS

BOOK = """
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  redis.call('HINCRBY', KEYS[1], ARGV[2 + 2 * i], ARGV[3 + 2 * i])
  redis.call('HINCRBY', KEYS[2], ARGV[2 + 2 * i], ARGV[3 + 2 * i])
end
local at = 2 + 2 * n
local cap = tonumber(ARGV[at + 2])
if ARGV[at] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[at])
  redis.call('LTRIM', KEYS[3], 0, cap - 1)
  local model, alpha, x = ARGV[at + 3], tonumber(ARGV[at + 4]), tonumber(ARGV[at])
  local current = redis.call('HGET', KEYS[5], model)
  if current then x = alpha * x + (1 - alpha) * tonumber(current) end
  redis.call('HSET', KEYS[5], model, string.format('%.3f', x))
  redis.call('HINCRBY', KEYS[5], model .. ':n', 1)
end
if ARGV[at + 1] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[at + 1])
  redis.call('LTRIM', KEYS[4], 0, cap - 1)
end
for j = 0, 1 do
  if ARGV[at + 5 + j] ~= '' then
    redis.call('LPUSH', KEYS[6 + j], ARGV[at + 5 + j])
    redis.call('LTRIM', KEYS[6 + j], 0, cap - 1)
  end
end
return 1
"""
OVERHEAD = "overhead"
TTFT = "ttft"  # sample lists per model: time to first token (ms), output tokens per second
SPEED = "tps"


@dataclass(frozen=True)
class Completion:
    """One successful `complete`, as booked."""

    principal: str
    model: str
    tier: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    provider_ms: float
    overhead_ms: float
    failed_attempts: tuple[tuple[str, str], ...]  # (model id, error kind)
    usage_estimated: bool
    first_token_ms: float | None = None  # streamed calls only
    tokens_per_s: float | None = None
    retries: int = 0  # short Retry-After waits on the deployment that answered


class Usage:
    def __init__(self, redis: Redis, samples: int, alpha: float) -> None:
        self._redis = redis
        self._samples = samples
        self._alpha = alpha
        self._book = redis.register_script(BOOK)

    async def _run(
        self, principal: str, counts: dict[str, int], model: str = "", provider_ms: float | None = None,
        overhead_ms: float | None = None, first_token_ms: float | None = None, tokens_per_s: float | None = None,
    ) -> None:  # fmt: skip
        pairs = [item for field, amount in counts.items() for item in (field, amount)]
        args: list[Any] = [len(counts), *pairs]
        args += [
            "" if provider_ms is None else f"{provider_ms:.3f}",
            "" if overhead_ms is None else f"{overhead_ms:.3f}",
        ]
        args += [self._samples, model, self._alpha]
        args += [
            "" if first_token_ms is None else f"{first_token_ms:.3f}",
            "" if tokens_per_s is None else f"{tokens_per_s:.2f}",
        ]
        book_keys = [
            keys.usage("global"), keys.usage(f"p:{principal}"), keys.samples(model or "-"), keys.samples(OVERHEAD),
            keys.LATENCY, keys.samples(f"{model or '-'}:{TTFT}"), keys.samples(f"{model or '-'}:{SPEED}"),
        ]  # fmt: skip
        await self._book(keys=book_keys, args=args)

    @staticmethod
    def _failures(failed: tuple[tuple[str, str], ...], counts: dict[str, int]) -> dict[str, int]:
        counts["attempts"] = counts.get("attempts", 0) + len(failed)
        for model, kind in failed:
            counts[f"model:{model}:errors"] = counts.get(f"model:{model}:errors", 0) + 1
            counts[f"error:{kind}"] = counts.get(f"error:{kind}", 0) + 1
        return counts

    async def book_completion(self, done: Completion) -> None:
        cost = round(done.cost_usd * NANO)
        counts = {
            "completions": 1,
            "attempts": 1,
            "input_tokens": done.input_tokens,
            "output_tokens": done.output_tokens,
            "cost_nusd": cost,
            f"tier:{done.tier}": 1,
            f"model:{done.model}:calls": 1,
            f"model:{done.model}:input_tokens": done.input_tokens,
            f"model:{done.model}:output_tokens": done.output_tokens,
            f"model:{done.model}:cost_nusd": cost,
        }
        if done.failed_attempts:
            counts["fallbacks"] = 1
        if done.usage_estimated:
            counts["usage_estimated"] = 1
        if done.retries:
            counts["retries"] = done.retries
            counts[f"model:{done.model}:retries"] = done.retries
        counts = self._failures(done.failed_attempts, counts)
        await self._run(
            done.principal, counts, done.model, done.provider_ms, done.overhead_ms, done.first_token_ms,
            done.tokens_per_s,
        )  # fmt: skip

    async def book_failed_call(self, principal: str, failed: tuple[tuple[str, str], ...], why: str) -> None:
        counts = {"failed": 1, f"refused:{why}": 1} if why else {"failed": 1}
        await self._run(principal, self._failures(failed, counts))

    async def book_cache(self, principal: str, hit: bool) -> None:
        await self._run(principal, {"cache:hits" if hit else "cache:misses": 1})

    def book_route(self, pipe: Pipeline, principal: str, tier: str) -> None:
        """Counted in the decision's own pipeline (a script there would cost a SCRIPT EXISTS round trip)."""
        for scope in ("global", f"p:{principal}"):
            pipe.hincrby(keys.usage(scope), "routes", 1)
            pipe.hincrby(keys.usage(scope), f"route:{tier}", 1)

    async def learned(self) -> dict[str, float]:
        """Learned latency (ms) per deployment that has been observed."""
        raw = cast(dict[str, str], await self._redis.hgetall(keys.LATENCY))
        return self.parse_learned(raw)

    @staticmethod
    def parse_learned(raw: dict[str, str]) -> dict[str, float]:
        return {k: float(v) for k, v in raw.items() if not k.endswith(":n")}

    async def stats(self, principal: str | None) -> dict[str, Any]:
        scope = "global" if principal is None else f"p:{principal}"
        raw_counters = cast(dict[str, str], await self._redis.hgetall(keys.usage(scope)))
        counters = {k: int(v) for k, v in raw_counters.items()}
        models = sorted({k[len("model:") : k.rindex(":")] for k in counters if k.startswith("model:")})
        async with self._redis.pipeline(transaction=False) as pipe:
            for model in models:
                pipe.lrange(keys.samples(model), 0, -1)
                pipe.lrange(keys.samples(f"{model}:{TTFT}"), 0, -1)
                pipe.lrange(keys.samples(f"{model}:{SPEED}"), 0, -1)
            pipe.lrange(keys.samples(OVERHEAD), 0, -1)
            pipe.hgetall(keys.LATENCY)
            raw = await pipe.execute()
        learned = raw[-1]
        by_model = {}
        per_model = [raw[i : i + 3] for i in range(0, 3 * len(models), 3)]
        for model, (samples, ttft, speed) in zip(models, per_model, strict=True):
            by_model[model] = {
                "calls": counters.get(f"model:{model}:calls", 0),
                "errors": counters.get(f"model:{model}:errors", 0),
                "input_tokens": counters.get(f"model:{model}:input_tokens", 0),
                "output_tokens": counters.get(f"model:{model}:output_tokens", 0),
                "spend_usd": usd(counters.get(f"model:{model}:cost_nusd", 0)),
                "latency_ms": percentiles([float(s) for s in samples]),
                "time_to_first_token_ms": percentiles([float(s) for s in ttft]),
                "output_tokens_per_s": percentiles([float(s) for s in speed]),
                "retries": counters.get(f"model:{model}:retries", 0),
                "learned_latency_ms": float(learned[model]) if model in learned else None,
            }
        hits, misses = counters.get("cache:hits", 0), counters.get("cache:misses", 0)
        return {
            "scope": "global" if principal is None else "principal",
            "principal": principal,
            "completions": counters.get("completions", 0),
            "failed": counters.get("failed", 0),
            "fallbacks": counters.get("fallbacks", 0),
            "retries": counters.get("retries", 0),
            "attempts": counters.get("attempts", 0),
            "usage_estimated": counters.get("usage_estimated", 0),
            "input_tokens": counters.get("input_tokens", 0),
            "output_tokens": counters.get("output_tokens", 0),
            "spend_usd": usd(counters.get("cost_nusd", 0)),
            "by_model": by_model,
            "tiers": {
                "routed": {t.value: counters.get(f"route:{t.value}", 0) for t in TIERS},
                "completed": {t.value: counters.get(f"tier:{t.value}", 0) for t in TIERS},
            },
            "errors": {k[len("error:") :]: v for k, v in counters.items() if k.startswith("error:")},
            "refused": {k[len("refused:") :]: v for k, v in counters.items() if k.startswith("refused:")},
            "cache": {
                "hits": hits,
                "misses": misses,
                "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
            },
            "router_overhead_ms": percentiles([float(s) for s in raw[-2]]),
        }


def percentiles(values: list[float]) -> dict[str, Any]:
    """p50 and p95 of the recent samples (nearest rank), or nulls when there are none."""
    if not values:
        return {"p50": None, "p95": None, "samples": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 3)

    return {"p50": rank(0.5), "p95": rank(0.95), "samples": len(ordered)}
