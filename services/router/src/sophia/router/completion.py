"""`complete`: route, then call the ranked deployments in turn until one answers.

Each attempt first reserves its worst case against every budget (`budgets.py`); an attempt the
budget cannot cover is skipped, never started. What an attempt's failure means:

| failure | next | deployment | provider breaker |
|---|---|---|---|
| 429 | next candidate | rests for Retry-After (or `rate_limit_cooldown_s`) | unchanged: the account is busy, not down |
| 503/529 overloaded | next | rests for Retry-After (or `cooldown_s`) | failure |
| other 5xx, timeout, connection, garbage | next | rests `cooldown_s` | failure |
| context overflow | next with a larger context window | no rest | unchanged |
| 401/403 | next | rests `max_cooldown_s` | opens at once |
| 404 (no such model there) | next | rests `max_cooldown_s` | unchanged |
| other 4xx | next | no rest | unchanged |

A failed attempt is settled at what it may have cost: nothing when the provider refused before
working, its reported usage when there was one, its worst case when the outcome is unknown (a
timeout mid-answer, a garbled 200, a cancelled call).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from sophia.kit import ToolError
from sophia.kit.embeddings import EmbeddingError
from sophia.router import cache as semantic
from sophia.router import tokens
from sophia.router.budgets import Hold, OverBudget, usd
from sophia.router.engine import NOT_CONFIGURED, Decision, Request, Router
from sophia.router.policy import Scored
from sophia.router.providers import Call, ProviderError, Reply
from sophia.router.usage import Completion

logger = logging.getLogger("sophia.router")

Report = Callable[[float, str | None], Awaitable[None]]


class Progress:
    """What the caller sees while it waits: streamed text, and a note when a fallback starts over.
    MCP wants progress to only grow, so it counts characters and notes across every attempt."""

    def __init__(self, report: Report | None) -> None:
        self._report = report
        self.sent = 0.0

    @property
    def wanted(self) -> bool:
        return self._report is not None

    async def text(self, delta: str) -> None:
        self.sent += len(delta)
        if self._report is not None:
            await self._report(self.sent, delta)

    async def note(self, message: str) -> None:
        self.sent += 1
        if self._report is not None:
            await self._report(self.sent, message)


@dataclass(frozen=True)
class Attempt:
    model: str
    kind: str
    error: str
    ms: float

    def view(self) -> dict[str, Any]:
        return {"model": self.model, "kind": self.kind, "error": self.error, "ms": round(self.ms, 1)}


async def complete(router: Router, request: Request, report: Report | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    if not router.providers.configured:
        raise ToolError(NOT_CONFIGURED)
    context = vector = None
    # Answers about images or with tool calls are not reused: the cache keys on the prompt's text.
    if request.cache and not (request.tools or request.images):
        context = semantic.context_key(
            system=request.system,
            json=request.json,
            model=request.model,
            tier=request.tier,
            preset=request.preset,
            min_quality=request.min_quality,
            max_tokens=request.max_tokens,
        )
        hit, vector = await _lookup(router, request, context)
        if hit is not None:
            return {
                **hit.entry,
                "prompt": None,
                "cost_usd": 0.0,
                "original_cost_usd": hit.entry.get("cost_usd"),
                "cached": True,
                "similarity": hit.similarity,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "principal": request.principal,
            }
    decision = await router.decide(request, for_call=True)
    result = await _attempts(router, decision, started, Progress(report))
    if context is not None:
        entry = {k: result[k] for k in ("text", "model", "provider", "tier", "usage", "cost_usd", "finish_reason")}
        try:
            await router.cache.store(request.principal, context, request.prompt, entry, vector)
        except RedisError:
            logger.warning("the answer was not cached: Redis failed")
    return result


async def _lookup(router: Router, request: Request, context: str) -> tuple[Any, Any]:
    try:
        hit, vector = await router.cache.lookup(request.principal, context, request.prompt)
        await router.usage.book_cache(request.principal, hit is not None)
        return hit, vector
    except (RedisError, EmbeddingError) as exc:
        # The cache is an optimisation: without it the call still goes out (the budget check then decides).
        logger.warning("semantic cache skipped: %s", type(exc).__name__)
        return None, None


async def _attempts(router: Router, decision: Decision, started: float, progress: Progress) -> dict[str, Any]:
    settings = router.settings
    request = decision.request
    deadline = started + settings.complete_timeout_s
    failed: list[Attempt] = []
    refusals: list[str] = []
    skipped: list[str] = []
    retried: list[Attempt] = []
    if decision.chosen is None:
        budget = any(e.kind == "budget" for e in decision.ranking.excluded)
        await _book_failure(router, request.principal, [], "budget" if budget else "unavailable")
        raise router.no_candidate(decision)
    overflow_window = 0
    timed_out = False
    for candidate in decision.ranking.ranked:
        if len(failed) >= settings.max_attempts:
            break
        model = candidate.model
        if overflow_window and model.context_window <= overflow_window:
            skipped.append(f"{model.id}: context window no larger than one that overflowed")
            continue
        left = deadline - time.perf_counter()
        if left <= 0.05:
            timed_out = True
            break
        breaker = router.breakers[model.provider]
        if not breaker.allow():
            skipped.append(f"{model.id}: circuit breaker of {model.provider!r} is open")
            continue
        try:
            hold = await router.budgets.reserve(request.principal, candidate.max_cost)
        except OverBudget as exc:
            breaker.release()
            refusals.append(f"{model.id}: {exc}")
            continue
        except RedisError as exc:
            breaker.release()
            raise ToolError("the budget store (Redis) is unavailable: no call is made without a budget check") from exc
        if failed:
            # Streamed text from the failed attempt is void: the note says the answer starts over.
            await progress.note(f"\n[router: {failed[-1].model} failed ({failed[-1].kind}); trying {model.id}]\n")
        attempt_started = time.perf_counter()
        try:
            reply, call_ms = await _call_with_retries(router, decision, candidate, deadline, progress, retried)
        except ProviderError as err:
            ms = (time.perf_counter() - attempt_started) * 1000
            await router.budgets.settle(hold, _failure_cost(err, candidate, hold))
            await _after_failure(router, candidate, err)
            failed.append(Attempt(model.id, err.kind, err.message, ms))
            if err.kind == "context_overflow":
                overflow_window = max(overflow_window, model.context_window)
            continue
        except BaseException:
            # Cancelled or broken mid-call: the provider may have billed it, so book the worst case.
            breaker.release()
            await asyncio.shield(router.budgets.settle(hold, usd(hold.amount)))
            raise
        breaker.success()
        # The answering call alone is the deployment's latency; retries and their waits were time in calls too.
        in_calls_ms = (time.perf_counter() - attempt_started) * 1000
        timing = (call_ms, in_calls_ms)
        return await _succeeded(router, decision, candidate, reply, hold, failed, started, timing, retried)
    await _book_failure(router, request.principal, failed, "budget" if refusals and not failed else "")
    if refusals and not failed:
        raise ToolError(f"budget exceeded, no call was made: {refusals[0]}")
    if not failed:
        if timed_out:
            raise ToolError(f"no answer within {settings.complete_timeout_s:g} s")
        raise (
            router.no_candidate(decision)
            if not skipped
            else ToolError("no model could be tried: " + "; ".join(skipped))
        )
    summary = "; ".join(f"{a.model}: {a.error}" for a in failed)
    extra = f" (also skipped over budget: {len(refusals)})" if refusals else ""
    raise ToolError(f"all {len(failed)} attempt(s) failed: {summary}{extra}")


async def _call_with_retries(
    router: Router,
    decision: Decision,
    candidate: Scored,
    deadline: float,
    progress: Progress,
    retried: list[Attempt],
) -> tuple[Reply, float]:
    """One deployment's attempt: a 429 or 503 whose Retry-After is short (`retry_same_max_s`) is waited out
    and the same deployment asked again, up to `retry_same_times`: it is usually the best candidate, and a
    second of waiting beats a worse model. A refusal before work is billed nothing, so the hold carries over."""
    settings = router.settings
    for retry in range(settings.retry_same_times + 1):
        left = deadline - time.perf_counter()
        started = time.perf_counter()
        try:
            reply = await _call(router, decision, candidate, min(settings.request_timeout_s, left), progress)
            return reply, (time.perf_counter() - started) * 1000
        except ProviderError as err:
            wait = err.retry_after_s
            short = (
                err.kind in ("rate_limited", "overloaded") and wait is not None and wait <= settings.retry_same_max_s
            )
            # Waiting must leave time for the retry itself and for a fallback after it.
            if not short or retry == settings.retry_same_times or time.perf_counter() + wait + 1.0 >= deadline:
                raise
            assert wait is not None
            ms = (time.perf_counter() - started) * 1000
            retried.append(Attempt(candidate.model.id, err.kind, f"{err.message}; retried after {wait:g} s", ms))
            logger.info("%s answered %s with Retry-After %.2f s: retrying it", candidate.model.id, err.kind, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


async def _call(router: Router, decision: Decision, candidate: Scored, timeout_s: float, progress: Progress) -> Reply:
    model = candidate.model
    request = decision.request
    call = Call(
        model=model.model,
        prompt=request.prompt,
        system=request.system,
        max_tokens=candidate.max_output,
        temperature=request.temperature,
        json=request.json,
        stream=request.stream,
        max_tokens_field=model.max_tokens_field,
        params=dict(model.params),
        tools=request.tools,
        tool_choice=request.tool_choice,
        images=request.images,
    )
    on_delta = progress.text if request.stream and progress.wanted else None
    adapter = router.providers.accounts[model.provider].call
    try:
        async with asyncio.timeout(timeout_s):
            return await adapter(call, on_delta, timeout_s)
    except TimeoutError as exc:
        raise ProviderError("timeout", f"no complete answer within {timeout_s:.1f} s", billed="unknown") from exc


def _failure_cost(err: ProviderError, candidate: Scored, hold: Hold) -> float:
    if err.billed == "exact" and err.usage is not None:
        return candidate.model.cost(err.usage.input_tokens or 0, err.usage.output_tokens or 0)
    if err.billed == "unknown":
        return usd(hold.amount)
    return 0.0


async def _after_failure(router: Router, candidate: Scored, err: ProviderError) -> None:
    settings = router.settings
    model = candidate.model
    breaker = router.breakers[model.provider]
    rest = 0.0
    if err.kind == "rate_limited":
        rest = err.retry_after_s if err.retry_after_s is not None else settings.rate_limit_cooldown_s
        breaker.release()
    elif err.kind in ("overloaded", "server", "timeout", "connect", "bad_response"):
        rest = err.retry_after_s if err.retry_after_s is not None else settings.cooldown_s
        breaker.failure()
    elif err.kind == "auth":
        rest = settings.max_cooldown_s
        breaker.trip()
    elif err.kind == "not_found":
        rest = settings.max_cooldown_s
        breaker.release()
    else:
        breaker.release()
    logger.warning("%s failed (%s): %s", model.id, err.kind, err.message)
    try:
        await router.cooldowns.cool(model.id, min(rest, settings.max_cooldown_s), err.kind)
    except RedisError:
        logger.warning("cooldown of %s not recorded: Redis failed", model.id)


async def _succeeded(
    router: Router,
    decision: Decision,
    candidate: Scored,
    reply: Reply,
    hold: Hold,
    failed: list[Attempt],
    started: float,
    timing: tuple[float, float],
    retried: list[Attempt],
) -> dict[str, Any]:
    model = candidate.model
    provider_ms, in_calls_ms = timing
    request = decision.request
    if reply.usage_reported:
        input_tokens, output_tokens = reply.input_tokens, reply.output_tokens
    else:
        input_tokens, output_tokens = decision.need.input_tokens, tokens.expected(reply.text)
    cost = model.cost(input_tokens, output_tokens)
    spent_in_calls = in_calls_ms + sum(a.ms for a in failed)
    overhead_ms = (time.perf_counter() - started) * 1000 - spent_in_calls
    done = Completion(
        principal=request.principal,
        model=model.id,
        tier=decision.tier.value,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        provider_ms=provider_ms,
        overhead_ms=overhead_ms,
        failed_attempts=tuple((a.model, a.kind) for a in failed),
        usage_estimated=not reply.usage_reported,
        first_token_ms=reply.first_token_ms,
        tokens_per_s=_tokens_per_s(output_tokens, provider_ms, reply.first_token_ms),
        retries=len(retried),
    )
    # Settlement and counters go out together (two scripts, two connections): one round trip of bookkeeping.
    # The sample booked there cannot include that round trip; the answer's own figure does.
    try:
        await asyncio.gather(router.budgets.settle(hold, cost), router.usage.book_completion(done))
    except RedisError:
        # The answer is paid for: hand it over. Its hold (the worst case) stays until it expires, so the budget
        # stays safe meanwhile, but the real spend is missing from the counters afterwards: say so loudly.
        logger.error(
            "Redis failed after %s answered: $%.9f for principal %s not booked", model.id, cost, done.principal
        )
    overhead_ms = (time.perf_counter() - started) * 1000 - spent_in_calls
    return {
        "text": reply.text,
        "tool_calls": [c.view() for c in reply.tool_calls],
        "model": model.id,
        "provider": model.provider,
        "tier": decision.tier.value,
        "tier_source": decision.tier_source,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, "estimated": not reply.usage_reported},
        "cost_usd": round(cost, 9),
        "cached": False,
        "finish_reason": reply.finish_reason,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "provider_latency_ms": round(provider_ms, 2),
        "first_token_ms": None if reply.first_token_ms is None else round(reply.first_token_ms, 2),
        "router_overhead_ms": round(overhead_ms, 3),
        "attempts": [a.view() for a in failed],
        "retries": [a.view() for a in retried],
        "fallbacks": len(failed),
        "principal": request.principal,
        "reasons": decision.reasons,
    }


def _tokens_per_s(output_tokens: int, provider_ms: float, first_token_ms: float | None) -> float | None:
    """Output speed: tokens over the time spent producing them (after the first token when streamed, else the
    whole call, which then includes the wait for the first token)."""
    producing_ms = provider_ms - (first_token_ms or 0.0)
    if output_tokens <= 1 or producing_ms <= 1:
        return None
    return output_tokens / (producing_ms / 1000)


async def _book_failure(router: Router, principal: str, failed: list[Attempt], why: str) -> None:
    try:
        await router.usage.book_failed_call(principal, tuple((a.model, a.kind) for a in failed), why)
    except RedisError:
        logger.warning("a failed call was not counted: Redis failed")
