"""The router's `complete` tool over MCP: how review and generate reach an LLM.

Stateless MCP 2026-07-28, as the gateway speaks it (request and reply shapes from `sophia.kit.wire`):
one POST per call, no session, no handshake. The reply (JSON, or SSE when the router streams) is a
``CallToolResult`` whose ``structuredContent.text`` is the completion. With the fleet's internal
credential configured (``SOPHIA_INTERNAL_TOKEN``), every call carries it, as the gateway's do: the
router, like every kit server, refuses calls without it. One `httpx.AsyncClient` per process is shared
with the GitHub client.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from sophia.kit import inject_headers, wire
from sophia.kit.security import InternalCredential

CLIENT_INFO = {"name": "sophia-code", "version": "0.1.0"}
REFUSED = "the router refused the call: missing or invalid internal credential (SOPHIA_INTERNAL_TOKEN)"
NOT_CONFIGURED = "the LLM is not configured (set SOPHIA_CODE_ROUTER_URL to the router's MCP endpoint)"


class LLMError(Exception):
    """The router could not be reached, or answered with an error; the message says which."""


class Router:
    def __init__(
        self,
        url: str | None,
        client: httpx.AsyncClient,
        timeout_s: float,
        max_tokens: int,
        credential: InternalCredential | None = None,
    ) -> None:
        self.url = url
        self._client = client
        self._credential = credential
        self._timeout = timeout_s
        self.max_tokens = max_tokens
        self._ids = itertools.count(1)

    @property
    def configured(self) -> bool:
        return bool(self.url)

    async def complete(self, prompt: str, system: str | None = None, max_tokens: int | None = None) -> str:
        """The completion text for `prompt`; an LLMError when there is none."""
        if not self.url:
            raise LLMError(NOT_CONFIGURED)
        request_id = next(self._ids)
        arguments: dict[str, Any] = {"prompt": prompt, "max_tokens": max_tokens or self.max_tokens}
        if system:
            arguments["system"] = system
        body = wire.request_body(
            "tools/call", {"name": "complete", "arguments": arguments}, request_id, wire.envelope(CLIENT_INFO)
        )
        headers = wire.request_headers("tools/call", "complete")
        authorization = self._credential.authorization() if self._credential is not None else None
        if authorization is not None:
            headers["authorization"] = authorization  # the router is a fleet server: it wants the internal token
        inject_headers(headers)
        try:
            response = await self._client.post(self.url, json=body, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise LLMError(f"the router did not answer within {self._timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"the router is unreachable ({type(exc).__name__})") from exc
        if response.status_code == 401:
            raise LLMError(REFUSED)
        message = _message(response, request_id)
        if isinstance(message.get("error"), dict):
            raise LLMError(f"the router refused the call: {message['error'].get('message', 'unknown error')}")
        result = message.get("result")
        if not isinstance(result, dict):
            raise LLMError(f"the router answered without a result (HTTP {response.status_code})")
        if result.get("isError"):
            raise LLMError(f"the router failed: {_text_of(result) or 'no message'}")
        structured = result.get("structuredContent")
        text = structured.get("text") if isinstance(structured, dict) else None
        if not isinstance(text, str):
            raise LLMError("the router's answer has no structuredContent.text")
        return text


def _message(response: httpx.Response, request_id: int) -> dict[str, Any]:
    content_type = response.headers.get("content-type", "")
    try:
        if content_type.startswith("text/event-stream"):
            return wire.reply_in_event_stream(response.text, request_id)
        parsed = response.json()
    except ValueError as exc:
        raise LLMError(f"the router's answer is not MCP (HTTP {response.status_code})") from exc
    if not isinstance(parsed, dict):
        raise LLMError(f"the router's answer is not MCP (HTTP {response.status_code})")
    return parsed


def _text_of(result: dict[str, Any]) -> str:
    content = result.get("content")
    if not isinstance(content, list):
        return ""
    return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))[:500]
