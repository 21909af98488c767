"""What every provider adapter shares: the request, the reply, and one error type with a `kind`.

Errors are translated once, here, from HTTP status, headers and body to a `ProviderError` whose
`kind` decides what the router does next (fall back, cool the deployment down, count a breaker
failure) and whose `billed` says what the failed attempt may have cost.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from sophia.router.inputs import MAX_ARGUMENTS_CHARS, MAX_TOOL_CALLS, Image, Tool, ToolCall, tool_call

ErrorKind = Literal[
    "rate_limited",  # 429
    "overloaded",  # 503, 529
    "server",  # other 5xx
    "timeout",
    "connect",
    "context_overflow",
    "auth",  # 401, 403
    "not_found",  # 404: no such model at this provider
    "bad_request",  # other 4xx
    "bad_response",  # 200 with garbage: not JSON, missing fields, no text, invalid JSON in json mode
]
# "no": the provider refused before doing work. "unknown": it may have (a timeout mid-answer, a garbled
# 200); the router then books the attempt's worst case against the budget rather than guess low.
Billed = Literal["no", "unknown", "exact"]

OnDelta = Callable[[str], Awaitable[None]]
JSON_INSTRUCTION = "Answer with a single JSON object and nothing else."

_CONTEXT_OVERFLOW = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|"
    r"exceeds? the (maximum|model'?s|context)|reduce the length|max_tokens.{0,40}(too large|exceed)",
    re.I,
)


@dataclass(frozen=True)
class Call:
    """One request to one model."""

    model: str
    prompt: str
    system: str | None
    max_tokens: int
    temperature: float | None = None
    json: bool = False
    stream: bool = False
    max_tokens_field: str = "max_tokens"
    params: dict[str, Any] = field(default_factory=dict)
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None  # auto, none, required, or a tool's name
    images: tuple[Image, ...] = ()

    def system_text(self) -> str | None:
        if not self.json:
            return self.system
        return f"{self.system}\n\n{JSON_INSTRUCTION}" if self.system else JSON_INSTRUCTION


@dataclass(frozen=True)
class Reply:
    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str | None
    usage_reported: bool = True
    first_token_ms: float | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


class ProviderError(Exception):
    """A provider attempt failed; `kind` says how."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        billed: Billed = "no",
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.billed = billed
        self.usage = usage

    def __str__(self) -> str:
        return self.message


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from `retry-after-ms`, `retry-after` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def error_message(body: bytes) -> tuple[str, str | None]:
    """(message, code or type) from an OpenAI- or Anthropic-style error body; never the whole body."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return (body[:200].decode("utf-8", "replace").strip() or "no body"), None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return str(error.get("message") or code or "error")[:300], (str(code) if code is not None else None)
    if isinstance(error, str):
        return error[:300], None
    return str(payload)[:200], None


def from_status(response_status: int, headers: httpx.Headers, body: bytes) -> ProviderError:
    """The error for a non-2xx answer."""
    message, code = error_message(body)
    status = response_status
    text = f"HTTP {status}: {message}"
    if status == 429:
        return ProviderError("rate_limited", text, status=status, retry_after_s=retry_after(headers))
    if code == "context_length_exceeded" or (status in (400, 413, 422) and _CONTEXT_OVERFLOW.search(message)):
        return ProviderError("context_overflow", text, status=status)
    if status in (503, 529) or code == "overloaded_error":
        return ProviderError("overloaded", text, status=status, retry_after_s=retry_after(headers))
    if status >= 500:
        return ProviderError("server", text, status=status)
    if status in (401, 403):
        return ProviderError("auth", f"HTTP {status}: the provider refused the credentials", status=status)
    if status == 404:
        return ProviderError("not_found", text, status=status)
    return ProviderError("bad_request", text, status=status)


def from_stream_error(error: Any) -> ProviderError:
    """An error event inside a stream (OpenRouter's `{"error": ...}` chunk, Anthropic's `error` event)."""
    if not isinstance(error, dict):
        return ProviderError("bad_response", "the stream reported an unreadable error", billed="unknown")
    kind_name = str(error.get("type") or error.get("code") or "")
    message = str(error.get("message") or kind_name or "error")[:300]
    if kind_name in ("overloaded_error", "503", "529"):
        return ProviderError("overloaded", f"stream error: {message}", billed="unknown")
    if kind_name in ("rate_limit_error", "429"):
        return ProviderError("rate_limited", f"stream error: {message}", billed="unknown")
    if _CONTEXT_OVERFLOW.search(message):
        return ProviderError("context_overflow", f"stream error: {message}")
    return ProviderError("server", f"stream error: {message}", billed="unknown")


def transport_error(exc: httpx.HTTPError, started_answering: bool) -> ProviderError:
    """A connection or timeout failure. Once the provider started answering it may bill the attempt."""
    billed: Billed = "unknown" if started_answering else "no"
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError("connect", "connection timed out", billed="no")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError("timeout", f"no answer in time ({type(exc).__name__})", billed="unknown")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError("connect", "connection refused or failed", billed="no")
    return ProviderError("server", f"transport failed: {type(exc).__name__}", billed=billed)


def check_json(text: str) -> None:
    """In JSON mode the reply must be one JSON object (a fenced block is tolerated)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError("bad_response", "the reply is not the JSON object asked for", billed="exact")


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def billed_for(tokens: Usage) -> Billed:
    return "exact" if tokens.input_tokens is not None and tokens.output_tokens is not None else "unknown"


def reply_from(
    text: str,
    tokens: Usage,
    finish: str | None,
    first_token_ms: float | None,
    tool_calls: tuple[ToolCall, ...] = (),
) -> Reply:
    """A reply; when the provider reported no usage the router estimates it (`usage_reported` False)."""
    return Reply(
        text=text,
        input_tokens=tokens.input_tokens or 0,
        output_tokens=tokens.output_tokens or 0,
        finish_reason=finish,
        usage_reported=billed_for(tokens) == "exact",
        first_token_ms=first_token_ms,
        tool_calls=tool_calls,
    )


def bad_tool_call(exc: Exception, tokens: Usage) -> ProviderError:
    """A reply whose tool call the caller could not run (undeclared tool, arguments not a JSON object)."""
    return ProviderError("bad_response", f"unusable tool call: {exc}"[:200], billed=billed_for(tokens), usage=tokens)


def no_text(what: str, tokens: Usage) -> ProviderError:
    """A 200 without text: billed as far as the provider reported usage."""
    return ProviderError("bad_response", what, billed=billed_for(tokens), usage=tokens)


def event_json(data: str) -> dict[str, Any]:
    """One SSE event's JSON object."""
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ProviderError("bad_response", "the stream carried malformed JSON", billed="unknown") from exc
    if not isinstance(value, dict):
        raise ProviderError("bad_response", "the stream carried an unexpected value", billed="unknown")
    return value


@dataclass
class _ToolCallParts:
    id: Any = None
    name: Any = None
    arguments: list[str] = field(default_factory=list)
    size: int = 0


class Streamed:
    """A streamed answer as it arrives: text passed on to the caller, tool calls assembled from their
    fragments (kept back until whole: half a call is of no use), the time to the first token, usage."""

    def __init__(self, on_delta: OnDelta | None, started: float, declared: tuple[Tool, ...] = ()) -> None:
        self._on_delta = on_delta
        self._started = started
        self._declared = declared
        self._parts: list[str] = []
        self._calls: dict[int, _ToolCallParts] = {}
        self.tokens = Usage()
        self.first_token_ms: float | None = None

    def _first_token(self) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = (time.perf_counter() - self._started) * 1000

    async def text(self, delta: str) -> None:
        self._first_token()
        self._parts.append(delta)
        if self._on_delta is not None:
            await self._on_delta(delta)

    def tool_call_part(self, index: Any, call_id: Any = None, name: Any = None, arguments: Any = None) -> None:
        """A fragment of tool call `index`: its id and name (first fragment) or a piece of its JSON arguments."""
        if not isinstance(index, int) or not 0 <= index < MAX_TOOL_CALLS:
            raise ProviderError("bad_response", "a streamed tool call has an invalid index", billed="unknown")
        self._first_token()
        parts = self._calls.setdefault(index, _ToolCallParts())
        parts.id = parts.id or call_id
        parts.name = parts.name or name
        if isinstance(arguments, str) and arguments:
            parts.size += len(arguments)
            if parts.size > MAX_ARGUMENTS_CHARS:
                raise ProviderError("bad_response", "a streamed tool call's arguments are too large", billed="unknown")
            parts.arguments.append(arguments)

    def reply(self, finished: bool, finish_reason: str | None) -> Reply:
        if not finished:
            # Cut off mid-answer: what arrived is not the reply, and the provider may have billed it all.
            raise ProviderError("bad_response", "the stream ended before the answer did", billed="unknown")
        text = "".join(self._parts)
        try:
            calls = tuple(
                tool_call(p.id, p.name, "".join(p.arguments), self._declared) for _, p in sorted(self._calls.items())
            )
        except ValueError as exc:
            raise bad_tool_call(exc, self.tokens) from exc
        if not calls and not text.strip():
            raise no_text("the stream ended without text", self.tokens)
        return reply_from(text, self.tokens, finish_reason, self.first_token_ms, calls)


class Adapter:
    """One wire format: how a call becomes a request body, and how a whole or streamed answer becomes a
    `Reply`. The request itself (status, stream or not, errors) is the same for every format."""

    path: str

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    def body(self, call: Call) -> dict[str, Any]:
        raise NotImplementedError

    def read_whole(self, raw: bytes, call: Call) -> Reply:
        raise NotImplementedError

    async def read_stream(self, response: httpx.Response, streamed: Streamed) -> Reply:
        raise NotImplementedError

    async def __call__(self, call: Call, on_delta: OnDelta | None, timeout_s: float) -> Reply:
        started = time.perf_counter()
        answered = False
        try:
            async with self._client.stream(
                "POST", self.path, json=self.body(call), timeout=httpx.Timeout(timeout_s)
            ) as response:
                answered = True
                if response.status_code >= 300:
                    raise from_status(response.status_code, response.headers, await response.aread())
                if call.stream and response.headers.get("content-type", "").startswith("text/event-stream"):
                    reply = await self.read_stream(response, Streamed(on_delta, started, call.tools))
                else:
                    reply = self.read_whole(await response.aread(), call)
        except httpx.HTTPError as exc:
            raise transport_error(exc, answered) from exc
        if call.json and not reply.tool_calls:
            check_json(reply.text)
        return reply
