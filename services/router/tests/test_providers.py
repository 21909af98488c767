"""The OpenAI-compatible and Anthropic adapters against the provider stand-in (real HTTP): what they send,
what they read back, and how each failure is named."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from sophia.kit.testing import free_port
from sophia.router.providers import Call, ProviderError, Providers
from sophia.router.providers.base import from_status, retry_after
from sophia.router.settings import Provider, RouterSettings

from .conftest import providers_for
from .llm_standin import ANTHROPIC_KEY, OPENAI_KEY, StandIn


@pytest.fixture
async def providers(standin: StandIn) -> AsyncIterator[Providers]:
    built = Providers(RouterSettings(providers=providers_for(standin), request_timeout_s=1.0))
    yield built
    await built.aclose()


def call(model: str, **options: object) -> Call:
    options.setdefault("system", None)
    return Call(model=model, prompt="Say hi", max_tokens=64, **options)  # type: ignore[arg-type]


async def test_openai_request_and_reply(providers: Providers, standin: StandIn) -> None:
    reply = await providers.accounts["openai"].call(call("small-1", system="Be brief", temperature=0.3), None, 5)
    assert (reply.text, reply.input_tokens, reply.output_tokens) == ("Answer from small-1: Say hi", 6, 6)
    assert reply.usage_reported and reply.finish_reason == "stop"
    sent = standin.calls[0]
    assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent["body"] == {
        "model": "small-1",
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hi"}],
        "max_tokens": 64,
        "temperature": 0.3,
    }


async def test_openai_reasoning_models_get_max_completion_tokens_and_params(
    providers: Providers, standin: StandIn
) -> None:
    options = {"max_tokens_field": "max_completion_tokens", "params": {"reasoning_effort": "low"}}
    await providers.accounts["openai"].call(call("big-1", **options), None, 5)
    body = standin.calls[0]["body"]
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body and body["reasoning_effort"] == "low"


async def test_anthropic_request_and_reply(providers: Providers, standin: StandIn) -> None:
    reply = await providers.accounts["anthropic"].call(call("claude-mid", system="Be brief", temperature=1.5), None, 5)
    assert (reply.text, reply.input_tokens, reply.output_tokens, reply.finish_reason) == (
        "Answer from claude-mid: Say hi",
        6,
        7,
        "end_turn",
    )
    sent = standin.calls[0]
    assert sent["headers"]["x-api-key"] == ANTHROPIC_KEY and sent["headers"]["anthropic-version"] == "2023-06-01"
    # Anthropic's temperature range is 0..1: a 1.5 (valid for OpenAI) is clamped, not refused.
    assert sent["body"] == {
        "model": "claude-mid",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hi"}],
        "system": "Be brief",
        "temperature": 1.0,
    }


@pytest.mark.parametrize(("account", "model"), [("openai", "small-1"), ("anthropic", "claude-small")])
async def test_streaming_assembles_text_and_usage(
    providers: Providers, standin: StandIn, account: str, model: str
) -> None:
    deltas: list[str] = []

    async def on_delta(text: str) -> None:
        deltas.append(text)

    reply = await providers.accounts[account].call(call(model, stream=True), on_delta, 5)
    assert reply.text == f"Answer from {model}: Say hi" == "".join(deltas) and len(deltas) == 5
    assert reply.usage_reported and reply.output_tokens == len(reply.text) // 4
    assert reply.first_token_ms is not None
    if account == "openai":
        assert standin.calls[0]["body"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("account", "model", "fault", "kind"),
    [
        ("openai", "small-1", "429", "rate_limited"),
        ("openai", "small-1", "500", "server"),
        ("openai", "small-1", "503", "overloaded"),
        ("openai", "small-1", "404", "not_found"),
        ("openai", "small-1", "overflow", "context_overflow"),
        ("openai", "small-1", "garbage", "bad_response"),
        ("openai", "small-1", "no_choices", "bad_response"),
        ("openai", "small-1", "empty", "bad_response"),
        ("anthropic", "claude-small", "429", "rate_limited"),
        ("anthropic", "claude-small", "500", "server"),
        ("anthropic", "claude-small", "529", "overloaded"),
        ("anthropic", "claude-small", "overflow", "context_overflow"),
        ("anthropic", "claude-small", "garbage", "bad_response"),
        ("anthropic", "claude-small", "no_choices", "bad_response"),
    ],
)
async def test_each_failure_has_its_kind(
    providers: Providers, standin: StandIn, account: str, model: str, fault: str, kind: str
) -> None:
    standin.fail(model, fault)
    with pytest.raises(ProviderError) as failure:
        await providers.accounts[account].call(call(model), None, 5)
    assert failure.value.kind == kind
    # Nothing was produced for a refusal; a garbled 200 may have been billed.
    assert failure.value.billed == ("unknown" if fault in ("garbage", "no_choices") else failure.value.billed)


@pytest.mark.parametrize(("account", "model"), [("openai", "small-1"), ("anthropic", "claude-small")])
@pytest.mark.parametrize(("fault", "kind"), [("stream_garbage", "bad_response"), ("stream_cut", "bad_response")])
async def test_a_broken_stream_is_a_bad_response(
    providers: Providers, standin: StandIn, account: str, model: str, fault: str, kind: str
) -> None:
    standin.fail(model, fault)
    with pytest.raises(ProviderError) as failure:
        await providers.accounts[account].call(call(model, stream=True), None, 5)
    assert (failure.value.kind, failure.value.billed) == (kind, "unknown")


async def test_an_error_event_mid_stream_keeps_its_meaning(providers: Providers, standin: StandIn) -> None:
    standin.fail("claude-small", "stream_error")
    with pytest.raises(ProviderError) as failure:
        await providers.accounts["anthropic"].call(call("claude-small", stream=True), None, 5)
    assert failure.value.kind == "overloaded"


async def test_a_slow_provider_times_out(providers: Providers, standin: StandIn) -> None:
    standin.fail("small-1", "slow", delay_s=0.5)
    with pytest.raises(ProviderError) as failure:
        await providers.accounts["openai"].call(call("small-1"), None, 0.3)
    assert failure.value.kind == "timeout" and failure.value.billed == "unknown"


async def test_a_provider_that_is_down_is_a_connection_failure() -> None:
    down = Provider(name="vllm", base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=SecretStr("x"))
    providers = Providers(RouterSettings(providers=[down]))
    with pytest.raises(ProviderError) as failure:
        await providers.accounts["vllm"].call(call("m"), None, 2)
    assert (failure.value.kind, failure.value.billed) == ("connect", "no")
    await providers.aclose()


async def test_json_mode_is_requested_on_both_wires(providers: Providers, standin: StandIn) -> None:
    await providers.accounts["openai"].call(call("small-1", json=True), None, 5)
    await providers.accounts["anthropic"].call(call("claude-small", json=True), None, 5)
    openai, anthropic = (c["body"] for c in standin.calls)
    assert openai["response_format"] == {"type": "json_object"}
    # OpenAI refuses JSON mode unless a message mentions JSON; Anthropic has no JSON mode: both get the instruction.
    assert "JSON object" in openai["messages"][0]["content"] and "JSON object" in anthropic["system"]


def test_retry_after_is_read_in_all_its_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after": "12"})) == 12
    assert retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    in_30_s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after(httpx.Headers({"retry-after": in_30_s})) or 0) <= 30
    assert retry_after(httpx.Headers({})) is None
    assert retry_after(httpx.Headers({"retry-after": "soon"})) is None


def test_error_bodies_are_summarised_never_echoed_whole() -> None:
    error = from_status(400, httpx.Headers(), b'{"error": {"message": "bad things", "type": "invalid_request_error"}}')
    assert (error.kind, error.message) == ("bad_request", "HTTP 400: bad things")
    auth = from_status(401, httpx.Headers(), b'{"error": {"message": "Incorrect API key provided: sk-abc...xyz"}}')
    assert auth.kind == "auth" and "sk-" not in auth.message
    vllm = from_status(400, httpx.Headers(), b'{"message": "This model\'s maximum context length is 4096 tokens"}')
    assert vllm.kind == "context_overflow"
    assert from_status(413, httpx.Headers(), b"request entity too large: input is too long").kind == "context_overflow"


async def test_a_streamed_reply_that_is_not_an_event_stream_is_a_malformed_answer() -> None:
    from sophia.router.providers.sse import events

    sent = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=b": hi\n\nevent: a\ndata: 1\ndata: 2\n\n"
    )
    assert [(e.event, e.data) async for e in events(sent)] == [("a", "1\n2")]
    plain = httpx.Response(200, headers={"content-type": "application/json"}, content=b'{"choices": []}')
    with pytest.raises(ProviderError) as caught:
        [e async for e in events(plain)]
    assert caught.value.kind == "bad_response"
