"""The tools through the MCP SDK client (in memory): the fleet's contract, and bad input refused clearly."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from sophia.kit.testing import started
from sophia.router import RouterSettings, service

from .conftest import Tools
from .llm_standin import StandIn


async def test_the_tools_and_their_declarations(tools: Tools) -> None:
    async with Client(tools.mcp) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == {"route", "complete", "stats", "models", "set_budget"}
    assert listed["route"].annotations is not None and listed["route"].annotations.read_only_hint
    assert listed["stats"].annotations is not None and listed["stats"].annotations.read_only_hint
    assert listed["complete"].annotations is not None and not listed["complete"].annotations.read_only_hint
    risks = {spec.name: spec.risk.value for spec in service.tools}
    assert risks == {"route": "low", "complete": "low", "stats": "low", "models": "low", "set_budget": "medium"}
    # The gateway and the code service call complete with exactly these; route needs only the prompt.
    complete = listed["complete"].input_schema
    assert {"prompt", "system", "max_tokens"} <= set(complete["properties"]) and complete["required"] == ["prompt"]
    assert listed["route"].input_schema["required"] == ["prompt"]
    assert "ctx" not in complete["properties"] and "router" not in complete["properties"]


async def test_route_answers_the_contract_without_calling_a_model(tools: Tools, standin: StandIn) -> None:
    routed = await tools.ok("route", prompt="Prove that there are infinitely many primes.")
    assert routed["tier"] == "premium" and routed["model"] in ("openai/big", "anthropic/big")
    assert routed["reasons"] and all(isinstance(r, str) for r in routed["reasons"])
    assert routed["estimated_cost_usd"] > 0 and routed["max_cost_usd"] >= routed["estimated_cost_usd"]
    assert standin.calls == []


async def test_complete_answers_the_gateways_arguments_with_text(tools: Tools, standin: StandIn) -> None:
    reply = await tools.ok("complete", prompt="What is the capital of Peru?", system="Be brief.", max_tokens=40)
    assert reply["text"] == "Answer from small-1: What is the capital of Peru?"
    assert {"model", "tier", "usage", "cost_usd", "cached", "latency_ms"} <= set(reply)
    sent = standin.calls[0]["body"]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."} and sent["max_tokens"] == 40


async def test_complete_streams_progress_notifications(tools: Tools, standin: StandIn) -> None:
    seen: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, message))

    async with Client(tools.mcp) as client:
        result = await client.call_tool(
            "complete", {"prompt": "What is the capital of Peru?", "stream": True}, progress_callback=progress
        )
    assert result.structured_content is not None
    text = result.structured_content["text"]
    assert "".join(m or "" for _, m in seen) == text and seen[-1][0] == len(text)


async def test_stats_and_models_report(tools: Tools, standin: StandIn, principal: str) -> None:
    await tools.ok("complete", prompt="What is the capital of Peru?", namespace=principal)
    stats = await tools.ok("stats", namespace=principal)
    assert stats["completions"] == 1 and stats["principal"] == principal
    assert {b["scope"] for b in stats["budgets"]} == {"global", "principal"}
    everyone = await tools.ok("stats")
    assert everyone["scope"] == "global" and {b["scope"] for b in everyone["budgets"]} == {"global"}
    listed = await tools.ok("models")
    small = next(m for m in listed["models"] if m["id"] == "openai/small")
    assert small["provider_configured"] and small["learned_latency_ms"] is not None
    assert {p["name"] for p in listed["providers"]} == {"openai", "anthropic"}
    assert "sk-" not in str(listed)


async def test_set_budget_then_a_call_it_cannot_cover_is_refused(
    tools: Tools, standin: StandIn, principal: str
) -> None:
    answer = await tools.ok("set_budget", daily_usd=0.0, namespace=principal)
    daily = next(b for b in answer["budgets"] if b["scope"] == "principal" and b["period"] == "daily")
    assert daily["limit_usd"] == 0.0 and daily["source"] == "set_budget"
    error = await tools.error("complete", prompt="Say hello", namespace=principal)
    assert "budget exceeded: no simple model fits what the budget has left" in error
    assert standin.calls == []
    await tools.ok("set_budget", clear=["daily"], principal=principal)
    await tools.ok("complete", prompt="Say hello", principal=principal)


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("route", {"prompt": ""}, "prompt is empty"),
        ("complete", {"prompt": "   \n"}, "prompt is empty"),
        ("route", {"prompt": "hi", "model": "openai/gpt-17"}, "unknown model 'openai/gpt-17'"),
        ("complete", {"prompt": "hi", "model": "nope"}, "unknown model 'nope'"),
        ("route", {"prompt": "hi", "preset": "turbo"}, "unknown preset 'turbo'; known presets: default, cheap, fast"),
        ("complete", {"prompt": "hi", "max_tokens": 0}, "max_tokens must be between 1 and 32768"),
        ("complete", {"prompt": "hi", "max_tokens": 10**6}, "max_tokens must be between 1 and 32768"),
        ("complete", {"prompt": "hi", "temperature": 3}, "temperature must be between 0 and 2"),
        ("route", {"prompt": "hi", "namespace": "a:b"}, "invalid principal 'a:b'"),
        ("route", {"prompt": "hi", "namespace": "a", "principal": "b"}, "disagree"),
        ("set_budget", {"daily_usd": -1}, "daily_usd must be a finite amount of 0 or more, got -1"),
        ("set_budget", {"monthly_usd": -0.01, "namespace": "x"}, "monthly_usd must be a finite amount"),
        ("set_budget", {}, "nothing to change"),
        ("set_budget", {"daily_usd": 1, "clear": ["daily"]}, "both set and cleared"),
        ("stats", {"namespace": "no spaces allowed"}, "invalid principal"),
        ("route", {"prompt": "hi", "min_quality": 1.5}, "min_quality must be between 0 and 1, got 1.5"),
        ("complete", {"prompt": "hi", "tools": [{"name": "a b"}]}, "tools[0]: the name must be"),
        ("complete", {"prompt": "hi", "tool_choice": "auto"}, "tool_choice needs tools"),
        ("complete", {"prompt": "hi", "images": ["file:///etc/passwd"]}, "images[0]: an http(s) URL"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message(
    tools: Tools, standin: StandIn, tool: str, arguments: dict[str, Any], message: str
) -> None:
    assert message in await tools.error(tool, **arguments)
    assert standin.calls == []


async def test_a_negative_budget_changes_nothing(tools: Tools, principal: str) -> None:
    await tools.error("set_budget", daily_usd=-5, namespace=principal)
    stats = await tools.ok("stats", namespace=principal)
    assert all(b["limit_usd"] is None for b in stats["budgets"])


async def test_an_oversized_prompt_is_refused(tools: Tools, standin: StandIn) -> None:
    error = await tools.error("complete", prompt="x" * 400_001)
    assert error.endswith("prompt is too long: 400,001 characters, at most 400,000")


async def test_without_a_provider_complete_says_so_in_the_words_the_gateway_waits_for(
    settings: RouterSettings,
) -> None:
    """The gateway's `auto` LLM mode rests a router whose complete says "no LLM provider is configured"."""
    async with started(service, settings.model_copy(update={"providers": []})) as client:
        assert "no LLM provider is configured" in await client.error("complete", prompt="hi")
        assert (await client.ok("route", prompt="hi"))["pool"] == "whole catalog (no provider configured)"


async def test_a_provider_answering_garbage_everywhere_is_a_clear_error(tools: Tools, standin: StandIn) -> None:
    for model in ("small-1", "claude-small", "mid-1", "claude-mid", "big-1", "claude-big"):
        standin.fail_always(model, "garbage")
    error = await tools.error("complete", prompt="Say hello")
    assert "all 4 attempt(s) failed:" in error and error.count("the provider answered malformed JSON") == 4


async def test_the_quality_cost_knob_per_call_and_per_preset(tools: Tools, standin: StandIn) -> None:
    prompt = "Compare tea and coffee for an afternoon slump."
    plain = await tools.ok("route", prompt=prompt)
    assert plain["min_quality"] == 0.6 and set(plain["expected_quality"]) == {"simple", "balanced", "premium"}
    assert plain["expected_quality"]["premium"] == 1.0
    # Knob at 1: any chance that the stronger tier matters pays for it; at 0: always the cheapest tier.
    assert (await tools.ok("route", prompt=prompt, min_quality=1.0))["tier"] == "premium"
    assert (await tools.ok("route", prompt=prompt, min_quality=0.0))["tier"] == "simple"
    quality = await tools.ok("route", prompt=prompt, preset="quality")
    assert quality["min_quality"] == 0.8
    assert any(r.startswith("min_quality 0.8: the cheapest tier expected to be enough") for r in quality["reasons"])
    # The call's own knob wins over the preset's.
    assert (await tools.ok("route", prompt=prompt, preset="quality", min_quality=0.3))["min_quality"] == 0.3
    assert standin.calls == []


async def test_complete_returns_tool_calls_over_mcp(tools: Tools, standin: StandIn) -> None:
    standin.call_tool["mid-1"] = ("lookup_order", {"order_id": "A-17"})
    spec = {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}
    result = await tools.ok("complete", prompt="Where is order A-17?", tools=[spec], tool_choice="required")
    assert result["tool_calls"] == [{"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "A-17"}}]
    assert standin.calls[-1]["body"]["tool_choice"] == "required"
