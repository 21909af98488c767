"""The OpenAI chat-completions wire format: OpenAI, OpenRouter, Portkey, vLLM, Ollama, LiteLLM.

`POST <base_url>/chat/completions`; streaming is SSE of `chat.completion.chunk` objects ending in
`data: [DONE]`, with `stream_options.include_usage` asking for a final chunk that carries usage.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from sophia.router.inputs import MAX_TOOL_CALLS, Tool, ToolCall, tool_call
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


class OpenAIAdapter(Adapter):
    path = "chat/completions"

    def body(self, call: Call) -> dict[str, Any]:
        messages = []
        if system := call.system_text():
            messages.append({"role": "system", "content": system})
        content: str | list[dict[str, Any]] = call.prompt
        if call.images:
            content = [
                {"type": "text", "text": call.prompt},
                *({"type": "image_url", "image_url": {"url": image.as_url}} for image in call.images),
            ]
        messages.append({"role": "user", "content": content})
        body: dict[str, Any] = {**call.params, "model": call.model, "messages": messages}
        if call.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in call.tools
            ]
            if call.tool_choice in ("auto", "none", "required"):
                body["tool_choice"] = call.tool_choice
            elif call.tool_choice is not None:
                body["tool_choice"] = {"type": "function", "function": {"name": call.tool_choice}}
        body[call.max_tokens_field] = call.max_tokens
        if call.temperature is not None:
            body["temperature"] = call.temperature
        if call.json:
            body["response_format"] = {"type": "json_object"}
        if call.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def read_whole(self, raw: bytes, call: Call) -> Reply:
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError("bad_response", "the provider answered malformed JSON", billed="unknown") from exc
        tokens = _usage(payload.get("usage"))
        calls = _tool_calls(message.get("tool_calls"), call.tools, tokens) if call.tools else ()
        if not calls and (not isinstance(text, str) or not text.strip()):
            raise no_text(f"the reply has no text (finish_reason {choice.get('finish_reason')})", tokens)
        return reply_from(text if isinstance(text, str) else "", tokens, choice.get("finish_reason"), None, calls)

    async def read_stream(self, response: httpx.Response, streamed: Streamed) -> Reply:
        finish: str | None = None
        done = False
        async for event in events(response):
            if event.data.strip() == "[DONE]":
                done = True
                break
            chunk = event_json(event.data)
            if "error" in chunk:
                raise from_stream_error(chunk["error"])
            if isinstance(chunk.get("usage"), dict):
                streamed.tokens = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                content = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(content, str) and content:
                    await streamed.text(content)
                for part in (delta.get("tool_calls") if isinstance(delta, dict) else None) or []:
                    function = part.get("function") if isinstance(part, dict) else None
                    if not isinstance(function, dict):
                        raise ProviderError("bad_response", "a streamed tool call is malformed", billed="unknown")
                    streamed.tool_call_part(
                        part.get("index"), part.get("id"), function.get("name"), function.get("arguments")
                    )
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        return streamed.reply(done or finish is not None, finish)


def _tool_calls(raw: Any, declared: tuple[Tool, ...], tokens: Usage) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_TOOL_CALLS:
        raise bad_tool_call(ValueError("tool_calls is not a list of bounded length"), tokens)
    calls = []
    for entry in raw:
        try:
            function = entry["function"]
            calls.append(tool_call(entry.get("id"), function.get("name"), function.get("arguments"), declared))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise bad_tool_call(exc, tokens) from exc
    return tuple(calls)


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens")))
