"""The router's `complete` tool over stateless MCP: how `query` writes its short synthesis.

Request and reply shapes come from `sophia.kit.wire` (one POST, no session). With the fleet's internal
credential configured, the call carries it, as the gateway's do. Any failure is an `LLMError` whose
message says what went wrong; `query` then answers without a synthesis.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from sophia.kit import inject_headers, wire
from sophia.kit.security import InternalCredential

CLIENT_INFO = {"name": "sophia-business", "version": "0.1.0"}


class LLMError(Exception):
    """The router could not be reached or answered with an error."""


class Router:
    def __init__(self, url: str, client: httpx.AsyncClient, timeout_s: float, credential: InternalCredential) -> None:
        self.url = url
        self._client = client
        self._timeout = timeout_s
        self._credential = credential
        self._ids = itertools.count(1)

    async def complete(self, prompt: str, system: str, max_tokens: int = 400) -> str:
        request_id = next(self._ids)
        arguments: dict[str, Any] = {"prompt": prompt, "system": system, "max_tokens": max_tokens}
        body = wire.request_body(
            "tools/call", {"name": "complete", "arguments": arguments}, request_id, wire.envelope(CLIENT_INFO)
        )
        headers = wire.request_headers("tools/call", "complete")
        authorization = self._credential.authorization()
        if authorization is not None:
            headers["authorization"] = authorization
        inject_headers(headers)
        try:
            response = await self._client.post(self.url, json=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise LLMError(f"the router is unreachable ({type(exc).__name__})") from None
        try:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                message = wire.reply_in_event_stream(response.text, request_id)
            else:
                message = response.json()
        except ValueError:
            raise LLMError(f"the router's answer is not MCP (HTTP {response.status_code})") from None
        result = message.get("result") if isinstance(message, dict) else None
        if not isinstance(result, dict) or result.get("isError"):
            raise LLMError(f"the router did not complete (HTTP {response.status_code})")
        structured = result.get("structuredContent")
        text = structured.get("text") if isinstance(structured, dict) else None
        if not isinstance(text, str):
            raise LLMError("the router's answer has no structuredContent.text")
        return text
