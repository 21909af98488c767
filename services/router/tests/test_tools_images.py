"""Tool calls and images through `complete`, against the provider stand-in in both wire formats (real HTTP;
the stand-in refuses tools and images for models without the capability, as real models do)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sophia.kit import ToolError
from sophia.router import completion, inputs
from sophia.router.engine import Request, Router
from sophia.router.inputs import images_of, tool_choice_of, tools_of

from .llm_standin import StandIn

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


async def complete(router: Router, prompt: str, **options: Any) -> dict[str, Any]:
    return await completion.complete(router, Request(prompt=prompt, **options))


async def test_tools_go_only_to_tool_capable_models_and_the_call_comes_back(router: Router, standin: StandIn) -> None:
    standin.call_tool["mid-1"] = ("get_weather", {"city": "Porto"})
    result = await complete(router, "What's the weather in Porto?", tools=tools_of([WEATHER]), tool_choice="auto")
    # A simple prompt, but the simple models lack tools: the cheapest tool-capable model answers.
    assert result["model"] == "openai/mid"
    assert result["tool_calls"] == [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Porto"}}]
    sent = standin.calls[-1]["body"]
    assert sent["tools"][0] == {"type": "function", "function": WEATHER}
    assert sent["tool_choice"] == "auto"


async def test_anthropic_gets_its_own_tool_shape(router: Router, standin: StandIn) -> None:
    standin.call_tool["claude-mid"] = ("get_weather", {"city": "Oslo"})
    tools = tools_of([{"type": "function", "function": WEATHER}])  # OpenAI's shape is accepted too
    result = await complete(router, "Weather in Oslo?", tools=tools, tool_choice="get_weather", model="anthropic/mid")
    assert result["tool_calls"] == [{"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo"}}]
    sent = standin.calls[-1]["body"]
    assert sent["tools"] == [
        {"name": "get_weather", "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}


@pytest.mark.parametrize("model", ["openai/mid", "anthropic/mid"])
async def test_a_streamed_tool_call_is_assembled_from_its_fragments(
    router: Router, standin: StandIn, model: str
) -> None:
    arguments = {"city": "São Paulo", "units": "metric", "days": 3}
    standin.call_tool[{"openai/mid": "mid-1", "anthropic/mid": "claude-mid"}[model]] = ("get_weather", arguments)
    result = await complete(router, "Weather in São Paulo?", tools=tools_of([WEATHER]), model=model, stream=True)
    assert standin.calls[-1]["body"]["stream"] is True
    assert result["tool_calls"][0]["name"] == "get_weather" and result["tool_calls"][0]["arguments"] == arguments
    assert result["first_token_ms"] is not None


async def test_a_call_to_an_undeclared_tool_is_garbage_and_falls_back(router: Router, standin: StandIn) -> None:
    standin.call_tool["mid-1"] = ("delete_everything", {})
    for model in ("claude-mid", "big-1", "claude-big"):
        standin.call_tool[model] = ("get_weather", {"city": "Lima"})
    result = await complete(router, "Weather in Lima?", tools=tools_of([WEATHER]))
    assert result["attempts"][0]["model"] == "openai/mid"
    assert result["attempts"][0]["kind"] == "bad_response" and "not declared" in result["attempts"][0]["error"]
    assert result["model"] != "openai/mid" and result["tool_calls"][0]["arguments"] == {"city": "Lima"}


async def test_malformed_tool_arguments_are_not_passed_on(router: Router, standin: StandIn) -> None:
    standin.call_tool["mid-1"] = ("get_weather", "{city: Lima")
    result = await complete(router, "Weather in Lima?", tools=tools_of([WEATHER]))
    assert result["attempts"][0]["kind"] == "bad_response" and result["model"] != "openai/mid"


async def test_images_go_only_to_vision_models_in_each_wire_format(router: Router, standin: StandIn) -> None:
    url = "https://example.org/cat.jpg"
    result = await complete(router, "What animal is this?", images=images_of([url, PNG]))
    assert result["model"] in ("openai/big", "anthropic/big")
    sent = standin.calls[-1]["body"]["messages"][-1]["content"]
    if result["model"] == "openai/big":
        assert sent[0] == {"type": "text", "text": "What animal is this?"}
        assert [p["image_url"]["url"] for p in sent[1:]] == [url, PNG]
    anthropic = await complete(router, "What animal is this?", images=images_of([url, PNG]), model="anthropic/big")
    assert anthropic["model"] == "anthropic/big"
    blocks = standin.calls[-1]["body"]["messages"][-1]["content"]
    assert blocks[0] == {"type": "image", "source": {"type": "url", "url": url}}
    assert blocks[1]["source"]["type"] == "base64" and blocks[1]["source"]["media_type"] == "image/png"
    assert blocks[2] == {"type": "text", "text": "What animal is this?"}


async def test_a_route_with_images_excludes_models_without_vision(router: Router) -> None:
    view = await router.route(Request(prompt="Describe this chart.", images=images_of([PNG])))
    assert view["model"] in ("openai/big", "anthropic/big")
    assert {e["model"] for e in view["excluded"]} >= {"openai/small", "anthropic/small", "openai/mid"}
    # Images count toward the input estimate and the budget's worst case.
    assert view["estimated_input_tokens"] >= inputs.IMAGE_TOKENS


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([{"name": "bad name!"}], "the name must be 1 to 64"),
        ([WEATHER, WEATHER], "tool names must be unique"),
        ([{"name": "x", "parameters": {"type": "array"}}], "JSON schema of type object"),
        ([{"name": f"t{i}"} for i in range(inputs.MAX_TOOLS + 1)], "too many tools"),
        ([{"name": "x", "description": "d" * 20_000}], "larger than 16,000"),
    ],
)
def test_bad_tool_definitions_are_refused_clearly(raw: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tools_of(raw)


def test_tool_choice_must_name_a_declared_tool() -> None:
    tools = tools_of([WEATHER])
    assert tool_choice_of("get_weather", tools) == "get_weather"
    with pytest.raises(ToolError, match="tool_choice must be"):
        tool_choice_of("get_time", tools)
    with pytest.raises(ToolError, match="tool_choice needs tools"):
        tool_choice_of("auto", ())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["ftp://example.org/a.png"], "an http"),
        (["data:image/svg+xml;base64,PHN2Zz4="], "an http"),
        (["data:image/png;base64,@@@@"], "an http"),
        (["data:image/png;base64,abc"], "base64 data is invalid"),
        (["https://example.org/a b.png"], "without spaces"),
        ([PNG] * (inputs.MAX_IMAGES + 1), "too many images"),
        (["data:image/png;base64," + "A" * (8 * 1024 * 1024)], "larger than 5 MB"),
    ],
)
def test_bad_images_are_refused_clearly(raw: list[str], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        images_of(raw)


async def test_a_pinned_model_without_vision_is_refused_by_name_and_never_called(
    router: Router, standin: StandIn
) -> None:
    with pytest.raises(ToolError, match="model openai/small cannot take this call: lacks vision"):
        await complete(router, "Describe this chart.", images=images_of([PNG]), model="openai/small", fallback=False)
    assert standin.calls == []
    # Allowed to fall back, the call goes to a model that can see.
    result = await complete(router, "Describe this chart.", images=images_of([PNG]), model="openai/small")
    assert result["model"] in ("openai/big", "anthropic/big")


async def test_a_pinned_model_without_tools_is_refused_by_name(router: Router, standin: StandIn) -> None:
    with pytest.raises(ToolError, match="model anthropic/small cannot take this call: lacks tools"):
        await complete(router, "Weather?", tools=tools_of([WEATHER]), model="anthropic/small", fallback=False)
    assert standin.calls == []
