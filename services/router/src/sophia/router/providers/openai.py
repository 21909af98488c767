"""The OpenAI chat-completions wire format: OpenAI, OpenRouter, Portkey, vLLM, Ollama, LiteLLM.

`POST <base_url>/chat/completions`; streaming is SSE of `chat.completion.chunk` objects ending in
`data: [DONE]`, with `stream_options.include_usage` asking for a final chunk that carries usage.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from sophia.router.providers.base import (
    Adapter,
    Call,
    OnDelta,
    ProviderError,
    Reply,
    Usage,
    as_int,
    billed_for,
    from_stream_error,
    reply_from,
)
from sophia.router.providers.sse import events


class OpenAIAdapter(Adapter):
    path = "chat/completions"

    def body(self, call: Call) -> dict[str, Any]:
        messages = []
        if system := call.system_text():
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": call.prompt})
        body: dict[str, Any] = {**call.params, "model": call.model, "messages": messages}
        body[call.max_tokens_field] = call.max_tokens
        if call.temperature is not None:
            body["temperature"] = call.temperature
        if call.json:
            body["response_format"] = {"type": "json_object"}
        if call.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def read_whole(self, raw: bytes) -> Reply:
        return _read_whole(raw)

    async def read_stream(self, response: httpx.Response, on_delta: OnDelta | None, started: float) -> Reply:
        return await _read_stream(response, on_delta, started)


def _read_whole(raw: bytes) -> Reply:
    try:
        payload = json.loads(raw)
        choice = payload["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ProviderError("bad_response", "the provider answered malformed JSON", billed="unknown") from exc
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    tokens = Usage(as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens")))
    if not isinstance(text, str) or not text.strip():
        reason = choice.get("finish_reason")
        raise ProviderError(
            "bad_response", f"the reply has no text (finish_reason {reason})", billed=billed_for(tokens), usage=tokens
        )
    return reply_from(text, tokens, choice.get("finish_reason"), None)


async def _read_stream(response: httpx.Response, on_delta: OnDelta | None, started: float) -> Reply:
    parts: list[str] = []
    tokens = Usage()
    finish: str | None = None
    first_token_ms: float | None = None
    done = False
    async for event in events(response):
        if event.data.strip() == "[DONE]":
            done = True
            break
        try:
            chunk = json.loads(event.data)
        except ValueError as exc:
            raise ProviderError("bad_response", "the stream carried malformed JSON", billed="unknown") from exc
        if not isinstance(chunk, dict):
            raise ProviderError("bad_response", "the stream carried an unexpected value", billed="unknown")
        if "error" in chunk:
            raise from_stream_error(chunk["error"])
        if isinstance(usage := chunk.get("usage"), dict):
            tokens = Usage(as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens")))
        for choice in chunk.get("choices") or []:
            delta = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
            if isinstance(delta, str) and delta:
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                parts.append(delta)
                if on_delta is not None:
                    await on_delta(delta)
            if isinstance(choice, dict) and choice.get("finish_reason"):
                finish = choice["finish_reason"]
    text = "".join(parts)
    if not done and finish is None:
        # Cut off mid-answer: what arrived is not the reply, and the provider may have billed it all.
        raise ProviderError("bad_response", "the stream ended before the answer did", billed="unknown")
    if not text.strip():
        raise ProviderError("bad_response", "the stream ended without text", billed=billed_for(tokens), usage=tokens)
    return reply_from(text, tokens, finish, first_token_ms)
