"""The Anthropic Messages wire format: `POST <base_url>/v1/messages`.

Streaming is SSE with named events: `message_start` (input tokens), `content_block_delta` (text),
`message_delta` (output tokens, stop reason), `message_stop`, and `error` mid-stream.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from sophia.router.inputs import MAX_TOOL_CALLS, Image, ToolCall, tool_call
from sophia.router.providers.base import (
    Adapter,
    Call,
    ProviderError,
    Reply,
    Streamed,
    Usage,
    as_int,
    bad_tool_call,
    event_json,
    from_stream_error,
    no_text,
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
            "messages": [{"role": "user", "content": _content(call)}],
        }
        if call.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in call.tools
            ]
            choice = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
            if call.tool_choice is not None:
                body["tool_choice"] = choice.get(call.tool_choice, {"type": "tool", "name": call.tool_choice})
        if system := call.system_text():
            body["system"] = system
        if call.temperature is not None:
            # Anthropic accepts 0..1; the router's range is OpenAI's 0..2.
            body["temperature"] = min(call.temperature, 1.0)
        if call.stream:
            body["stream"] = True
        return body

    def read_whole(self, raw: bytes, call: Call) -> Reply:
        try:
            payload = json.loads(raw)
            blocks = payload["content"]
            text = "".join(b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError("bad_response", "the provider answered malformed JSON", billed="unknown") from exc
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        tokens = Usage(_input_tokens(usage), as_int(usage.get("output_tokens")))
        uses = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        calls: tuple[ToolCall, ...] = ()
        if uses:
            if len(uses) > MAX_TOOL_CALLS:
                raise bad_tool_call(ValueError("too many tool calls"), tokens)
            try:
                calls = tuple(tool_call(b.get("id"), b.get("name"), b.get("input"), call.tools) for b in uses)
            except ValueError as exc:
                raise bad_tool_call(exc, tokens) from exc
        if not calls and not text.strip():
            raise no_text(f"the reply has no text (stop_reason {payload.get('stop_reason')})", tokens)
        return reply_from(text, tokens, payload.get("stop_reason"), None, calls)

    async def read_stream(self, response: httpx.Response, streamed: Streamed) -> Reply:
        stop: str | None = None
        done = False
        async for event in events(response):
            data = event_json(event.data)
            kind = data.get("type") or event.event
            if kind == "error":
                raise from_stream_error(data.get("error"))
            if kind == "message_start":
                usage = (data.get("message") or {}).get("usage") or {}
                streamed.tokens = Usage(_input_tokens(usage), as_int(usage.get("output_tokens")))
            elif kind == "content_block_start":
                block = data.get("content_block") or {}
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    streamed.tool_call_part(data.get("index"), block.get("id"), block.get("name"))
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                    await streamed.text(delta["text"])
                elif delta.get("type") == "input_json_delta":
                    streamed.tool_call_part(data.get("index"), arguments=delta.get("partial_json"))
            elif kind == "message_delta":
                # The output count here is cumulative, so the last one is the total.
                if (output := as_int((data.get("usage") or {}).get("output_tokens"))) is not None:
                    streamed.tokens.output_tokens = output
                stop = (data.get("delta") or {}).get("stop_reason") or stop
            elif kind == "message_stop":
                done = True
                break
        return streamed.reply(done, stop)


def _content(call: Call) -> str | list[dict[str, Any]]:
    """The user turn: the prompt alone, or the images first and then the prompt (Anthropic's advice)."""
    if not call.images:
        return call.prompt
    return [*(_image(image) for image in call.images), {"type": "text", "text": call.prompt}]


def _image(image: Image) -> dict[str, Any]:
    if image.url:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": image.media_type, "data": image.data}}


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
