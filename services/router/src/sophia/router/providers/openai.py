"""The OpenAI chat-completions wire format: OpenAI, OpenRouter, Portkey, vLLM, Ollama, LiteLLM.

`POST <base_url>/chat/completions`; streaming is SSE of `chat.completion.chunk` objects ending in
`data: [DONE]`, with `stream_options.include_usage` asking for a final chunk that carries usage.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from sophia.router.providers.base import (
    Adapter,
    Call,
    ProviderError,
    Reply,
    Streamed,
    Usage,
    as_int,
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
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError("bad_response", "the provider answered malformed JSON", billed="unknown") from exc
        tokens = _usage(payload.get("usage"))
        if not isinstance(text, str) or not text.strip():
            raise no_text(f"the reply has no text (finish_reason {choice.get('finish_reason')})", tokens)
        return reply_from(text, tokens, choice.get("finish_reason"), None)

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
                delta = (choice.get("delta") or {}).get("content")
                if isinstance(delta, str) and delta:
                    await streamed.text(delta)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        return streamed.reply(done or finish is not None, finish)


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens")))
