"""TEST STAND-IN for LLM providers (we cannot call OpenAI or Anthropic from here): one Starlette app that
speaks both wire formats over real HTTP, checks the requests the way the real APIs would, and fails on
demand.

- OpenAI chat completions: `POST /v1/chat/completions`, JSON or SSE (`chat.completion.chunk`s,
  `data: [DONE]`, a usage chunk when `stream_options.include_usage`), errors as `{"error": {...}}`.
- Anthropic Messages: `POST /v1/messages`, JSON or SSE (`message_start`, `content_block_delta`,
  `message_delta`, `message_stop`), errors as `{"type": "error", "error": {...}}`.

Tool definitions and images are checked as the real APIs check them (OpenAI `tools` of type function and
`image_url` content parts; Anthropic `tools` with `input_schema` and `image` blocks with a base64 or URL
source), and a model not listed in `vision_models` / `tool_models` refuses them with a 400 as a real model
without the capability does. `call_tool[model] = (name, arguments)` makes that model answer with a tool call
(arguments as given: a dict, or a string sent raw to test malformed ones).

Faults are queued per model name (`StandIn.fail(model, fault, times)`); a model with no fault queued
answers normally: the text names the model and echoes the start of the prompt, and token counts are
the prompt's and reply's length in characters divided by four.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OPENAI_KEY = "sk-test-openai"
ANTHROPIC_KEY = "sk-ant-test"


@dataclass
class Fault:
    """What to do instead of answering: `kind` is one of
    429, 500, 503, 529, 401, 404, timeout, garbage, no_choices, empty, overflow, stream_garbage, stream_error,
    stream_cut, no_usage, invalid_json, slow."""

    kind: str
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class StandIn:
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    always: dict[str, Fault] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    reply_text: dict[str, str] = field(default_factory=dict)
    script: dict[str, str] = field(default_factory=dict)  # prompt substring -> reply; the first found wins
    url: str = ""
    called: threading.Event = field(default_factory=threading.Event)  # set by every request received
    vision_models: set[str] = field(default_factory=lambda: {"big-1", "claude-big"})
    tool_models: set[str] = field(default_factory=lambda: {"mid-1", "claude-mid", "big-1", "claude-big"})
    call_tool: dict[str, tuple[str, Any]] = field(default_factory=dict)
    in_flight: int = 0
    most_in_flight: int = 0  # the most requests being answered at once since the last reset

    def reset(self) -> None:
        self.in_flight = self.most_in_flight = 0
        self.faults.clear()
        self.always.clear()
        self.calls.clear()
        self.reply_text.clear()
        self.script.clear()
        self.called.clear()
        self.call_tool.clear()

    def fail(self, model: str, kind: str, times: int = 1, **options: Any) -> None:
        self.faults.setdefault(model, []).extend(Fault(kind, **options) for _ in range(times))

    def fail_always(self, model: str, kind: str, **options: Any) -> None:
        self.always[model] = Fault(kind, **options)

    def models_called(self) -> list[str]:
        return [c["body"]["model"] for c in self.calls]

    def _next_fault(self, model: str) -> Fault | None:
        queue = self.faults.get(model)
        if queue:
            return queue.pop(0)
        return self.always.get(model)

    def _text(self, model: str, prompt: str, json_mode: bool) -> str:
        for key, reply in self.script.items():
            if key in prompt:
                return reply
        if model in self.reply_text:
            return self.reply_text[model]
        if json_mode:
            return json.dumps({"model": model, "echo": prompt[:40]})
        return f"Answer from {model}: {prompt[:40]}"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._counted(self.openai), methods=["POST"]),
                Route("/v1/messages", self._counted(self.anthropic), methods=["POST"]),
            ]
        )

    def _counted(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def counted(request: Request) -> Response:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1

        return counted

    # -- OpenAI ---------------------------------------------------------------------------------------

    async def openai(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return JSONResponse(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}, 401
            )
        body = await request.json()
        self.calls.append({"wire": "openai", "body": body, "headers": dict(request.headers)})
        self.called.set()
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            return JSONResponse({"error": {"message": "messages and model are required"}}, 400)
        model = body["model"]
        try:
            prompt, images = _openai_user(body["messages"])
            _openai_tools(body.get("tools"))
        except ValueError as exc:
            return JSONResponse({"error": {"message": str(exc), "type": "invalid_request_error"}}, 400)
        if images and model not in self.vision_models:
            return JSONResponse({"error": {"message": "this model does not support image input"}}, 400)
        if body.get("tools") and model not in self.tool_models:
            return JSONResponse({"error": {"message": "tools is not supported with this model"}}, 400)
        fault = self._next_fault(model)
        early = await _openai_fault(fault)
        if early is not None:
            return early
        json_mode = (body.get("response_format") or {}).get("type") == "json_object"
        text = "not json at all" if fault and fault.kind == "invalid_json" else self._text(model, prompt, json_mode)
        usage = {"prompt_tokens": len(prompt) // 4 + 5, "completion_tokens": max(1, len(text) // 4)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        tool = self.call_tool.get(model) if body.get("tools") else None
        if body.get("stream"):
            include = (body.get("stream_options") or {}).get("include_usage")
            return _sse(_openai_stream(model, text, usage if include else None, fault, tool))
        answer: dict[str, Any] = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        if fault and fault.kind == "empty":
            answer["choices"][0]["message"]["content"] = ""
            answer["choices"][0]["finish_reason"] = "length"
        if not (fault and fault.kind == "no_usage"):
            answer["usage"] = usage
        if fault and fault.kind == "no_choices":
            answer.pop("choices")
        if body.get("tools") and model in self.call_tool:
            name, arguments = self.call_tool[model]
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": raw}}
            answer["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
            answer["choices"][0]["finish_reason"] = "tool_calls"
        return JSONResponse(answer)

    # -- Anthropic ------------------------------------------------------------------------------------

    async def anthropic(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != ANTHROPIC_KEY:
            return JSONResponse(
                {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, 401
            )
        if not request.headers.get("anthropic-version"):
            return _anthropic_error(400, "invalid_request_error", "anthropic-version header is required")
        body = await request.json()
        self.calls.append({"wire": "anthropic", "body": body, "headers": dict(request.headers)})
        self.called.set()
        if not isinstance(body.get("max_tokens"), int) or not body.get("messages") or not body.get("model"):
            return _anthropic_error(400, "invalid_request_error", "max_tokens, messages and model are required")
        if body.get("temperature") is not None and not 0 <= body["temperature"] <= 1:
            return _anthropic_error(400, "invalid_request_error", "temperature: range: 0..1")
        model = body["model"]
        try:
            prompt, images = _anthropic_user(body["messages"])
            _anthropic_tools(body.get("tools"))
        except ValueError as exc:
            return _anthropic_error(400, "invalid_request_error", str(exc))
        if images and model not in self.vision_models:
            return _anthropic_error(400, "invalid_request_error", "this model does not support image input")
        if body.get("tools") and model not in self.tool_models:
            return _anthropic_error(400, "invalid_request_error", "tools: not supported for this model")
        fault = self._next_fault(model)
        early = await _anthropic_fault(fault)
        if early is not None:
            return early
        json_mode = "JSON object" in (body.get("system") or "")
        text = "not json at all" if fault and fault.kind == "invalid_json" else self._text(model, prompt, json_mode)
        usage = {"input_tokens": len(prompt) // 4 + 5, "output_tokens": max(1, len(text) // 4)}
        if body.get("stream"):
            tool = self.call_tool.get(model) if body.get("tools") else None
            return _sse(_anthropic_stream(model, text, usage, fault, tool))
        answer: dict[str, Any] = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "" if fault and fault.kind == "empty" else text}],
            "stop_reason": "max_tokens" if fault and fault.kind == "empty" else "end_turn",
        }
        if not (fault and fault.kind == "no_usage"):
            answer["usage"] = usage
        if fault and fault.kind == "no_choices":
            answer.pop("content")
        if body.get("tools") and model in self.call_tool:
            name, arguments = self.call_tool[model]
            answer["content"] = [{"type": "tool_use", "id": "toolu_1", "name": name, "input": arguments}]
            answer["stop_reason"] = "tool_use"
        return JSONResponse(answer)


def _openai_user(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """The user turns' text and image count; content is a string or a list of text / image_url parts."""
    text, images = [], 0
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            text.append(content)
            continue
        for part in content if isinstance(content, list) else [None]:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                if not url.startswith(("https://", "http://", "data:image/")):
                    raise ValueError("Invalid image_url: expected a URL or a base64 data URI")
                images += 1
            else:
                raise ValueError("Invalid content part")
    return "".join(text), images


def _openai_tools(tools: Any) -> None:
    for tool in tools or []:
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not function.get("name"):
            raise ValueError("Invalid tools: each needs type 'function' and function.name")


def _anthropic_user(messages: list[dict[str, Any]]) -> tuple[str, int]:
    text, images = [], 0
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            text.append(content)
            continue
        for block in content if isinstance(content, list) else [None]:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                text.append(block["text"])
            elif isinstance(block, dict) and block.get("type") == "image":
                source = block.get("source") or {}
                if source.get("type") == "base64":
                    if source.get("media_type") not in ("image/png", "image/jpeg", "image/gif", "image/webp"):
                        raise ValueError("image source media_type: invalid")
                    if not source.get("data"):
                        raise ValueError("image source data: required")
                elif source.get("type") != "url" or not str(source.get("url", "")).startswith("http"):
                    raise ValueError("image source: expected base64 or url")
                images += 1
            else:
                raise ValueError("messages.0.content: invalid block")
    return "".join(text), images


def _anthropic_tools(tools: Any) -> None:
    for tool in tools or []:
        if not isinstance(tool, dict) or not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            raise ValueError("tools: each tool needs name and input_schema")


async def _openai_fault(fault: Fault | None) -> Response | None:
    if fault is None:
        return None
    if fault.kind in ("timeout", "slow"):
        await asyncio.sleep(fault.delay_s or 30)
        return None if fault.kind == "slow" else Response(status_code=504)
    status = {"429": 429, "500": 500, "503": 503, "529": 529, "401": 401, "404": 404}.get(fault.kind)
    if status is not None:
        headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
        message = {429: "Rate limit reached for requests", 404: "The model does not exist"}.get(status, "server error")
        return JSONResponse({"error": {"message": message, "type": "api_error"}}, status, headers=headers)
    if fault.kind == "garbage":
        return Response("<html>502 Bad Gateway</html>", 200, media_type="application/json")
    if fault.kind == "overflow":
        message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error", "code": "context_length_exceeded"}}, 400
        )
    return None


async def _anthropic_fault(fault: Fault | None) -> Response | None:
    if fault is None:
        return None
    if fault.kind in ("timeout", "slow"):
        await asyncio.sleep(fault.delay_s or 30)
        return None if fault.kind == "slow" else Response(status_code=504)
    errors = {
        "429": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        "500": (500, "api_error", "Internal server error"),
        "529": (529, "overloaded_error", "Overloaded"),
        "401": (401, "authentication_error", "invalid x-api-key"),
        "404": (404, "not_found_error", "model: no such model"),
        "overflow": (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    }
    if fault.kind in errors:
        status, kind, message = errors[fault.kind]
        response = _anthropic_error(status, kind, message)
        if fault.retry_after is not None:
            response.headers["retry-after"] = fault.retry_after
        return response
    if fault.kind == "garbage":
        return Response("{'this is': not json", 200, media_type="application/json")
    return None


def _anthropic_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)


def _sse(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream")


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


async def _openai_stream(
    model: str, text: str, usage: dict[str, int] | None, fault: Fault | None, tool: tuple[str, Any] | None = None
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {"id": "c1", "object": "chat.completion.chunk", "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if tool is not None:
        # As OpenAI streams a tool call: id and name first, then the arguments' JSON in fragments.
        name, arguments = tool
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": ""}}
        yield chunk({"tool_calls": [first]})
        for start in range(0, len(raw), 5):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": raw[start : start + 5]}}]})
        yield chunk({}, "tool_calls")
        if usage is not None:
            final = {"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": usage}
            yield f"data: {json.dumps(final)}\n\n"
        yield "data: [DONE]\n\n"
        return
    for i, word in enumerate(_words(text)):
        if fault and i == 1:
            if fault.kind == "stream_garbage":
                yield "data: {not json\n\n"
                return
            if fault.kind == "stream_error":
                yield f"data: {json.dumps({'error': {'code': 502, 'message': 'upstream provider failed'}})}\n\n"
                return
            if fault.kind == "stream_cut":
                return
        yield chunk({"content": word})
        await asyncio.sleep(0)
    yield chunk({}, "stop")
    if usage is not None and not (fault and fault.kind == "no_usage"):
        yield f"data: {json.dumps({'id': 'c1', 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


async def _anthropic_stream(
    model: str, text: str, usage: dict[str, int], fault: Fault | None, tool: tuple[str, Any] | None = None
) -> AsyncIterator[str]:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    start_usage = {"input_tokens": usage["input_tokens"], "output_tokens": 1}
    yield event("message_start", {"message": {"id": "msg_1", "model": model, "content": [], "usage": start_usage}})
    if tool is not None:
        # As Anthropic streams tool use: a tool_use block, its input as input_json_delta fragments.
        name, arguments = tool
        raw = json.dumps(arguments)
        block = {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}
        yield event("content_block_start", {"index": 0, "content_block": block})
        for start in range(0, len(raw), 5):
            delta = {"type": "input_json_delta", "partial_json": raw[start : start + 5]}
            yield event("content_block_delta", {"index": 0, "delta": delta})
        yield event("content_block_stop", {"index": 0})
        yield event("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}})
        yield event("message_stop", {})
        return
    yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    yield event("ping", {})
    for i, word in enumerate(_words(text)):
        if fault and i == 1:
            if fault.kind == "stream_garbage":
                yield "event: content_block_delta\ndata: {broken\n\n"
                return
            if fault.kind == "stream_error":
                yield event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
                return
            if fault.kind == "stream_cut":
                return
        yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}})
        await asyncio.sleep(0)
    yield event("content_block_stop", {"index": 0})
    yield event(
        "message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": usage["output_tokens"]}}
    )
    yield event("message_stop", {})
