"""`complete` against the provider stand-in (real HTTP in both wire formats): answers, fallbacks on each kind
of failure, cooldowns, circuit breakers, budgets, streaming."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from sophia.kit import ToolError
from sophia.kit.testing import free_port
from sophia.router import completion, keys, tokens
from sophia.router.catalog import Tier
from sophia.router.engine import Request, Router, open_router
from sophia.router.settings import Provider, RouterSettings

from .conftest import CATALOG
from .llm_standin import StandIn

SIMPLE = "What is the capital of Portugal?"
# The worst case of SIMPLE on openai/small: input bounded by its bytes (system and prompt joined), 500 out.
WORST_SMALL = tokens.bound("\n" + SIMPLE) * 0.10 / 1e6 + 500 * 0.40 / 1e6


async def complete(router: Router, prompt: str = SIMPLE, **options: Any) -> dict[str, Any]:
    return await completion.complete(router, Request(prompt=prompt, **options))


async def cooldown(router: Router, model: str) -> float | None:
    active = await router.cooldowns.active()
    return active[model][0] if model in active else None


async def test_the_cheapest_adequate_model_answers(router: Router, standin: StandIn, principal: str) -> None:
    result = await complete(router, principal=principal)
    assert result["text"] == f"Answer from small-1: {SIMPLE}"
    assert (result["model"], result["tier"], result["cached"], result["attempts"]) == (
        "openai/small",
        "simple",
        False,
        [],
    )
    usage = result["usage"]
    assert usage == {
        "input_tokens": len(SIMPLE) // 4 + 5,
        "output_tokens": len(result["text"]) // 4,
        "estimated": False,
    }
    assert result["cost_usd"] == pytest.approx((usage["input_tokens"] * 0.10 + usage["output_tokens"] * 0.40) / 1e6)
    sent = standin.calls[0]["body"]
    assert sent["model"] == "small-1" and sent["max_tokens"] == 500 and "stream" not in sent


async def test_a_hard_prompt_goes_to_a_premium_model(router: Router, standin: StandIn, principal: str) -> None:
    result = await complete(router, "Prove that the square root of 2 is irrational.", principal=principal)
    assert result["tier"] == "premium"
    assert result["model"] in ("openai/big", "anthropic/big")
    # The reasoning model's cap travels under the name it expects.
    assert standin.calls[-1]["body"].get("max_completion_tokens") == 4000


async def test_429_falls_back_and_rests_the_deployment_for_retry_after(
    router: Router, standin: StandIn, principal: str
) -> None:
    standin.fail("small-1", "429", retry_after="7")
    result = await complete(router, principal=principal)
    assert result["model"] != "openai/small"
    assert [(a["model"], a["kind"]) for a in result["attempts"]] == [("openai/small", "rate_limited")]
    assert 5 < (await cooldown(router, "openai/small") or 0) <= 7
    # A 429 says the account is busy, not that the provider is down.
    assert router.breakers["openai"].failures == 0
    routed = await router.route(Request(prompt=SIMPLE, principal=principal))
    assert routed["model"] != "openai/small"
    assert any(e["model"] == "openai/small" and "cooling down" in e["reason"] for e in routed["excluded"])


async def test_429_without_retry_after_rests_the_configured_time(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "429")
    await complete(router)
    assert 18 < (await cooldown(router, "openai/small") or 0) <= 20


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("500", "server"), ("503", "overloaded"), ("garbage", "bad_response"), ("no_choices", "bad_response"),
     ("empty", "bad_response")],
)  # fmt: skip
async def test_server_errors_and_garbage_fall_back_and_cool_down(
    router: Router, standin: StandIn, fault: str, kind: str
) -> None:
    standin.fail("small-1", fault)
    result = await complete(router)
    assert result["model"] != "openai/small" and result["text"].startswith("Answer from")
    assert result["attempts"][0]["kind"] == kind
    assert 8 < (await cooldown(router, "openai/small") or 0) <= 10
    # Consecutive failures count: a success on the same provider resets them.
    assert router.breakers["openai"].failures == (0 if result["provider"] == "openai" else 1)


async def test_anthropic_overloaded_529_falls_back(router: Router, standin: StandIn) -> None:
    standin.fail("claude-small", "529", retry_after="3")
    result = await complete(router, model="anthropic/small")
    assert result["attempts"][0] == {**result["attempts"][0], "model": "anthropic/small", "kind": "overloaded"}
    assert 1 < (await cooldown(router, "anthropic/small") or 0) <= 3


async def test_a_timeout_falls_back_and_books_the_attempts_worst_case(
    router: Router, standin: StandIn, principal: str
) -> None:
    standin.fail("small-1", "timeout", delay_s=0.7)
    result = await complete(router, principal=principal)
    assert result["attempts"][0]["kind"] == "timeout"
    assert result["model"] != "openai/small"
    budget = await router.budgets.status(principal)
    # The timed-out attempt may have been billed: its worst case is booked, plus the real cost of the answer.
    assert budget[0]["spent_usd"] == pytest.approx(WORST_SMALL + result["cost_usd"], abs=2e-9)
    assert all(row["held_usd"] == 0 for row in budget)


async def test_context_overflow_moves_to_a_model_with_a_larger_window(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "overflow")
    result = await complete(router)
    assert result["attempts"][0]["kind"] == "context_overflow"
    used = router.catalog.get(result["model"])
    assert used is not None and used.context_window > 4000
    # Not the deployment's fault: no rest, no breaker failure.
    assert await cooldown(router, "openai/small") is None
    assert router.breakers["openai"].failures == 0


async def test_anthropic_prompt_too_long_is_an_overflow_with_nothing_larger_to_try(
    router: Router, standin: StandIn
) -> None:
    standin.fail("claude-big", "overflow")
    with pytest.raises(ToolError, match=r"all 1 attempt\(s\) failed: anthropic/big: .*prompt is too long"):
        await complete(router, "Prove that 7 is prime.", model="anthropic/big")
    # openai/big (128,000) and the other 200,000-token windows are no larger: not tried, nothing rests.
    assert standin.models_called() == ["claude-big"]
    assert await cooldown(router, "anthropic/big") is None


async def test_when_every_attempt_fails_the_error_lists_them(router: Router, standin: StandIn, principal: str) -> None:
    for model in ("small-1", "claude-small", "mid-1", "claude-mid", "big-1", "claude-big"):
        standin.fail_always(model, "500")
    with pytest.raises(ToolError) as failure:
        await complete(router, principal=principal)
    message = str(failure.value)
    assert message.startswith("all 4 attempt(s) failed: ")
    assert message.count("HTTP 500") == 4
    assert len(standin.calls) == router.settings.max_attempts
    stats = await router.usage.stats(principal)
    assert (stats["failed"], stats["completions"], stats["errors"]) == (1, 0, {"server": 4})


async def test_consecutive_failures_open_the_providers_breaker(settings: RouterSettings, standin: StandIn) -> None:
    for model in ("small-1", "mid-1", "big-1"):
        standin.fail_always(model, "500")
    # No cooldowns here, so that every call tries openai/small first and the breaker alone decides.
    async for router in open_router(settings.model_copy(update={"cooldown_s": 0})):
        await _breaker_opens(router, standin)


async def _breaker_opens(router: Router, standin: StandIn) -> None:
    for _ in range(2):
        result = await complete(router)
        assert result["provider"] == "anthropic"
    assert router.breakers["openai"].state() == "open"
    calls_before = len(standin.calls)
    routed = await router.route(Request(prompt=SIMPLE))
    assert all(m.startswith("anthropic/") for m in [routed["model"], *routed["fallbacks"]])
    assert any("circuit breaker of 'openai' is open" in e["reason"] for e in routed["excluded"])
    await complete(router)
    assert [c["wire"] for c in standin.calls[calls_before:]] == ["anthropic"]


async def test_refused_credentials_open_the_breaker_at_once(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "401")
    result = await complete(router)
    assert result["attempts"][0]["kind"] == "auth"
    assert "sk-test" not in json.dumps(result)
    assert router.breakers["openai"].state() == "open"


async def test_no_call_starts_when_its_worst_case_does_not_fit_the_budget(
    router: Router, standin: StandIn, principal: str
) -> None:
    await router.budgets.set_limits(principal, daily_usd=0.0001, monthly_usd=None, clear=[])
    with pytest.raises(ToolError, match="budget exceeded: no premium model fits what the budget has left"):
        await complete(router, "Prove that the square root of 2 is irrational.", principal=principal)
    assert standin.calls == []
    stats = await router.usage.stats(principal)
    assert stats["refused"] == {"budget": 1}


async def test_a_cheaper_model_is_used_when_the_best_does_not_fit_the_budget(
    router: Router, standin: StandIn, principal: str
) -> None:
    # openai/big's worst case is ~$0.032, anthropic/big's ~$0.10: with $0.05 left only the first fits.
    await router.budgets.set_limits(principal, daily_usd=0.05, monthly_usd=None, clear=[])
    result = await complete(router, "Prove that 7 is prime.", principal=principal, preset="quality")
    assert result["model"] == "openai/big"


async def test_concurrent_calls_never_exceed_a_budget_together(
    settings: RouterSettings, standin: StandIn, principal: str
) -> None:
    # A timeout long enough that no call here fails for time on a loaded machine: only the budget refuses.
    async for router in open_router(settings.model_copy(update={"request_timeout_s": 10.0})):
        await _concurrent_calls_stay_inside(router, standin, principal)


async def _concurrent_calls_stay_inside(router: Router, standin: StandIn, principal: str) -> None:
    # Each call's worst case is ~$0.000205: $0.001 admits at most four at once, whatever they really cost.
    limit = 0.001
    await router.budgets.set_limits(principal, daily_usd=limit, monthly_usd=None, clear=[])
    standin.fail_always("small-1", "slow", delay_s=0.2)
    outcomes = await asyncio.gather(
        *(complete(router, principal=principal, model="openai/small", fallback=False) for _ in range(12)),
        return_exceptions=True,
    )
    answered = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, ToolError)]
    assert len(answered) + len(refused) == 12
    # At most four held at once. On a loaded machine a call may start after earlier ones settled for less
    # than their worst case, so more than four may be answered in all: what never happens is spending past
    # the limit, or a fifth call in flight.
    assert answered and refused and standin.most_in_flight <= 4
    assert all("budget exceeded" in str(r) for r in refused)
    daily = (await router.budgets.status(principal))[2]
    assert daily["spent_usd"] == pytest.approx(sum(o["cost_usd"] for o in answered), abs=1e-8)
    assert daily["spent_usd"] <= limit and daily["held_usd"] == 0


async def test_a_cancelled_call_books_its_worst_case(router: Router, standin: StandIn, principal: str) -> None:
    standin.fail("small-1", "slow", delay_s=0.4)
    task = asyncio.create_task(complete(router, principal=principal, model="openai/small"))
    assert await asyncio.to_thread(standin.called.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    daily = (await router.budgets.status(principal))[2]
    assert (daily["spent_usd"], daily["held_usd"]) == (pytest.approx(WORST_SMALL, abs=2e-9), 0)


@pytest.mark.parametrize("model", ["openai/small", "anthropic/small"])
async def test_streaming_reports_the_text_as_it_arrives(router: Router, standin: StandIn, model: str) -> None:
    seen: list[tuple[float, str | None]] = []

    async def report(progress: float, message: str | None) -> None:
        seen.append((progress, message))

    result = await completion.complete(router, Request(prompt=SIMPLE, model=model, stream=True), report)
    assert standin.calls[-1]["body"]["stream"] is True
    assert "".join(message or "" for _, message in seen) == result["text"]
    assert [p for p, _ in seen] == sorted(p for p, _ in seen) and seen[-1][0] == len(result["text"])
    assert result["first_token_ms"] is not None and not result["usage"]["estimated"]
    assert result["usage"]["output_tokens"] == len(result["text"]) // 4


@pytest.mark.parametrize("fault", ["stream_garbage", "stream_error"])
@pytest.mark.parametrize("model", ["small-1", "claude-small"])
async def test_a_stream_that_breaks_falls_back(router: Router, standin: StandIn, model: str, fault: str) -> None:
    standin.fail(model, fault)
    pinned = "openai/small" if model == "small-1" else "anthropic/small"
    result = await complete(router, model=pinned, stream=True)
    assert result["model"] != pinned and result["attempts"][0]["model"] == pinned
    assert result["attempts"][0]["kind"] in ("bad_response", "server", "overloaded")


async def test_json_mode_asks_for_json_and_rejects_a_reply_that_is_not(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "invalid_json")
    result = await complete(router, json=True)
    assert result["attempts"][0]["kind"] == "bad_response"
    assert isinstance(json.loads(result["text"]), dict)
    assert standin.calls[0]["body"]["response_format"] == {"type": "json_object"}


async def test_usage_a_provider_does_not_report_is_estimated_and_flagged(
    router: Router, standin: StandIn, principal: str
) -> None:
    standin.fail("small-1", "no_usage")
    result = await complete(router, principal=principal)
    assert result["usage"]["estimated"] is True and result["cost_usd"] > 0
    assert (await router.usage.stats(principal))["usage_estimated"] == 1


async def test_a_pinned_model_is_tried_first_even_above_the_tier(router: Router, standin: StandIn) -> None:
    result = await complete(router, model="anthropic/big")
    assert result["model"] == "anthropic/big" and result["tier"] == "simple"


async def test_without_fallback_a_pinned_models_failure_is_the_answer(router: Router, standin: StandIn) -> None:
    standin.fail("claude-mid", "500")
    with pytest.raises(ToolError, match=r"all 1 attempt\(s\) failed: anthropic/mid: HTTP 500"):
        await complete(router, model="anthropic/mid", fallback=False)


async def test_a_caller_can_force_the_tier(router: Router, standin: StandIn) -> None:
    result = await complete(router, tier=Tier.PREMIUM)
    assert (result["tier"], result["tier_source"]) == ("premium", "caller")


async def test_stats_report_what_happened(router: Router, standin: StandIn, principal: str) -> None:
    standin.fail("small-1", "429", retry_after="5")
    first = await complete(router, principal=principal)
    second = await complete(router, "Write a blog post about tea.", principal=principal)
    stats = await router.usage.stats(principal)
    assert (stats["completions"], stats["fallbacks"], stats["attempts"], stats["failed"]) == (2, 1, 3, 0)
    assert stats["tiers"]["completed"] == {"simple": 1, "balanced": 1, "premium": 0}
    assert stats["tiers"]["routed"] == {"simple": 1, "balanced": 1, "premium": 0}
    assert stats["errors"] == {"rate_limited": 1}
    assert stats["spend_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"], abs=2e-9)
    assert stats["input_tokens"] == first["usage"]["input_tokens"] + second["usage"]["input_tokens"]
    assert stats["by_model"]["openai/small"]["errors"] == 1
    assert stats["by_model"][first["model"]]["latency_ms"]["samples"] >= 1
    assert stats["router_overhead_ms"]["samples"] == 2
    everyone = await router.usage.stats(None)
    assert everyone["completions"] >= 2


async def test_learned_latency_moves_toward_each_observation(router: Router, standin: StandIn, redis_url: str) -> None:
    await complete(router, model="openai/small")
    first = (await router.usage.learned())["openai/small"]
    standin.fail("small-1", "slow", delay_s=0.3)
    await complete(router, model="openai/small", fallback=False)
    second = (await router.usage.learned())["openai/small"]
    # A weighted mean (alpha 0.2): a 300 ms call moves it by a fifth of the way, it does not replace it.
    assert first + 0.2 * (300 - first) <= second < 300
    redis = Redis.from_url(redis_url, decode_responses=True)
    assert await redis.hget(keys.LATENCY, "openai/small:n") == "2"
    await redis.aclose()


async def test_without_a_provider_complete_refuses_and_route_still_answers(clean_redis: str) -> None:
    settings = RouterSettings(redis_url=clean_redis, catalog_path=CATALOG)
    async for router in open_router(settings):
        with pytest.raises(ToolError, match="no LLM provider is configured"):
            await complete(router)
        routed = await router.route(Request(prompt=SIMPLE))
        assert routed["model"] == "openai/small" and routed["pool"].startswith("whole catalog")


async def test_a_provider_whose_key_variable_is_unset_is_not_configured(
    clean_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_TEST_NO_SUCH_KEY", raising=False)
    provider = Provider(name="openai", api_key_env="SOPHIA_TEST_NO_SUCH_KEY")
    settings = RouterSettings(redis_url=clean_redis, catalog_path=CATALOG, providers=[provider])
    async for router in open_router(settings):
        with pytest.raises(ToolError, match="no LLM provider is configured"):
            await complete(router)
        listed = (await router.models())["providers"]
        assert listed == [
            {"name": "openai", "configured": False, "why": "its key variable SOPHIA_TEST_NO_SUCH_KEY is not set"}
        ]


async def test_without_redis_route_degrades_and_complete_refuses(settings: RouterSettings, standin: StandIn) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async for router in open_router(down):
        routed = await router.route(Request(prompt=SIMPLE))
        assert routed["model"] == "openai/small"
        assert "Redis unavailable: cooldowns, learned latency and budgets not considered" in routed["reasons"]
        with pytest.raises(ToolError, match=r"the budget store \(Redis\) is unavailable: no call is made"):
            await complete(router)
    assert standin.calls == []


async def test_a_fallback_mid_stream_says_so_and_progress_only_grows(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "stream_error")
    seen: list[tuple[float, str | None]] = []

    async def report(progress: float, message: str | None) -> None:
        seen.append((progress, message))

    result = await completion.complete(router, Request(prompt=SIMPLE, model="openai/small", stream=True), report)
    values = [p for p, _ in seen]
    assert values == sorted(set(values))  # strictly increasing, as MCP requires
    messages = [m or "" for _, m in seen]
    note = next(i for i, m in enumerate(messages) if m.startswith("\n[router: openai/small failed"))
    assert "".join(messages[note + 1 :]) == result["text"]  # after the note, the answer starts over


async def test_a_short_retry_after_is_waited_out_on_the_same_deployment(
    router: Router, standin: StandIn, principal: str
) -> None:
    standin.fail("small-1", "429", retry_after="0.2")
    result = await complete(router, principal=principal)
    assert result["model"] == "openai/small" and result["attempts"] == [] and result["fallbacks"] == 0
    assert [r["model"] for r in result["retries"]] == ["openai/small"]
    assert "retried after 0.2 s" in result["retries"][0]["error"]
    assert standin.models_called() == ["small-1", "small-1"]
    assert await cooldown(router, "openai/small") is None  # it answered: no rest imposed
    stats = await router.usage.stats(principal)
    assert stats["retries"] == 1 and stats["by_model"]["openai/small"]["retries"] == 1


async def test_a_second_short_429_falls_back_and_rests_the_deployment(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "429", times=2, retry_after="0.2")
    result = await complete(router)
    assert standin.models_called()[:2] == ["small-1", "small-1"]
    assert result["model"] != "openai/small" and result["attempts"][0]["kind"] == "rate_limited"
    assert await cooldown(router, "openai/small") is not None


async def test_a_long_retry_after_falls_back_at_once(router: Router, standin: StandIn) -> None:
    standin.fail("small-1", "429", retry_after="5")
    result = await complete(router)
    assert standin.models_called()[0] == "small-1" and standin.models_called()[1] != "small-1"
    assert result["retries"] == []


async def test_stats_give_time_to_first_token_and_speed_per_deployment(
    router: Router, standin: StandIn, principal: str
) -> None:
    standin.reply_text["small-1"] = " ".join(["word"] * 60)
    streamed = await complete(router, principal=principal, stream=True)
    await complete(router, principal=principal)
    assert streamed["first_token_ms"] is not None and streamed["first_token_ms"] > 0
    row = (await router.usage.stats(principal))["by_model"]["openai/small"]
    # Only the streamed call knows when its first token came; both give an output speed.
    assert row["time_to_first_token_ms"]["samples"] == 1
    assert row["time_to_first_token_ms"]["p50"] == pytest.approx(streamed["first_token_ms"], abs=0.01)
    assert row["output_tokens_per_s"]["samples"] == 2 and row["output_tokens_per_s"]["p50"] > 0


async def test_a_short_retry_after_on_a_503_is_waited_out_on_the_same_deployment(
    router: Router, standin: StandIn
) -> None:
    """Overloaded for a moment (503 with a short Retry-After): worth the wait on the best candidate."""
    standin.fail("small-1", "503", retry_after="0.1")
    result = await complete(router)
    assert result["model"] == "openai/small" and result["fallbacks"] == 0
    assert standin.models_called() == ["small-1", "small-1"] and len(result["retries"]) == 1
    assert await cooldown(router, "openai/small") is None
