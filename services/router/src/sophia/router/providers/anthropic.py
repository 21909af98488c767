"""The Anthropic Messages wire format: `POST <base_url>/v1/messages`.

Streaming is SSE with named events: `message_start` (input tokens), `content_block_delta` (text),
`message_delta` (output tokens, stop reason), `message_stop`, and `error` mid-stream.
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

VERSION = "2023-06-01"


class AnthropicAdapter(Adapter):
    path = "v1/messages"

    def body(self, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {
            **call.params,
            "model": call.model,
            "max_tokens": call.max_tokens,
            "messages": [{"role": "user", "content": call.prompt}],
        }
        if system := call.system_text():
            body["system"] = system
        if call.temperature is not None:
            # Anthropic accepts 0..1; the router's range is OpenAI's 0..2.
            body["temperature"] = min(call.temperature, 1.0)
        if call.stream:
            body["stream"] = True
        return body

    def read_whole(self, raw: bytes) -> Reply:
        return _read_whole(raw)

    async def read_stream(self, response: httpx.Response, on_delta: OnDelta | None, started: float) -> Reply:
        return await _read_stream(response, on_delta, started)


def _input_tokens(usage: dict[str, Any]) -> int | None:
    # Prompt-cache reads and writes are input too (we never ask for caching; counted if a gateway does).
    base = as_int(usage.get("input_tokens"))
    if base is None:
        return None
    return (
        base
        + (as_int(usage.get("cache_creation_input_tokens")) or 0)
        + (as_int(usage.get("cache_read_input_tokens")) or 0)
    )


def _read_whole(raw: bytes) -> Reply:
    try:
        payload = json.loads(raw)
        blocks = payload["content"]
        text = "".join(b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderError("bad_response", "the provider answered malformed JSON", billed="unknown") from exc
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    tokens = Usage(_input_tokens(usage), as_int(usage.get("output_tokens")))
    if not text.strip():
        raise ProviderError(
            "bad_response",
            f"the reply has no text (stop_reason {payload.get('stop_reason')})",
            billed=billed_for(tokens),
            usage=tokens,
        )
    return reply_from(text, tokens, payload.get("stop_reason"), None)


async def _read_stream(response: httpx.Response, on_delta: OnDelta | None, started: float) -> Reply:
    parts: list[str] = []
    tokens = Usage()
    stop: str | None = None
    first_token_ms: float | None = None
    done = False
    async for event in events(response):
        try:
            data = json.loads(event.data)
        except ValueError as exc:
            raise ProviderError("bad_response", "the stream carried malformed JSON", billed="unknown") from exc
        if not isinstance(data, dict):
            raise ProviderError("bad_response", "the stream carried an unexpected value", billed="unknown")
        kind = data.get("type") or event.event
        if kind == "error":
            raise from_stream_error(data.get("error"))
        if kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            tokens.input_tokens = _input_tokens(usage)
            tokens.output_tokens = as_int(usage.get("output_tokens"))
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                parts.append(delta["text"])
                if on_delta is not None:
                    await on_delta(delta["text"])
        elif kind == "message_delta":
            # The output count here is cumulative, so the last one is the total.
            if (output := as_int((data.get("usage") or {}).get("output_tokens"))) is not None:
                tokens.output_tokens = output
            stop = (data.get("delta") or {}).get("stop_reason") or stop
        elif kind == "message_stop":
            done = True
            break
    text = "".join(parts)
    if not done:
        # Cut off mid-answer: what arrived is not the reply, and the provider may have billed it all.
        raise ProviderError("bad_response", "the stream ended before the answer did", billed="unknown")
    if not text.strip():
        raise ProviderError("bad_response", "the stream ended without text", billed=billed_for(tokens), usage=tokens)
    return reply_from(text, tokens, stop, first_token_ms)
