"""The router client against a local stand-in MCP endpoint that checks what a 2026-07-28 stateless call must carry
(method and name headers matching the body, the per-request envelope, the fleet's internal token) and answers as
JSON or as an SSE stream. The fleet's real router stand-in is exercised in test_change.py and test_http.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import mcp_types
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sophia.code.llm import LLMError, Router
from sophia.kit.security import InternalCredential
from sophia.kit.testing import serve_asgi

TOKEN = "internal-token-for-tests-0123456789"


def endpoint(seen: list[dict[str, Any]], answer: str) -> Starlette:
    async def mcp(request: Request) -> Response:
        body = await request.json()
        seen.append({"headers": dict(request.headers), "body": body})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "missing or invalid internal credential"}, status_code=401)
        assert request.headers["mcp-method"] == body["method"] == "tools/call"
        assert request.headers["mcp-name"] == body["params"]["name"] == "complete"
        envelope = body["params"]["_meta"]
        assert envelope[mcp_types.PROTOCOL_VERSION_META_KEY] == request.headers["mcp-protocol-version"]
        prompt = body["params"]["arguments"]["prompt"]
        result: dict[str, Any] = {"content": [{"type": "text", "text": prompt.upper()}],
                                  "structuredContent": {"text": prompt.upper(), "model": "stand-in"}}  # fmt: skip
        if prompt == "fail":
            result = {"content": [{"type": "text", "text": "budget exhausted"}], "isError": True}
        message = {"jsonrpc": "2.0", "id": body["id"], "result": result}
        if answer == "sse":
            progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
            stream = f"event: message\ndata: {json.dumps(progress)}\n\nevent: message\ndata: {json.dumps(message)}\n\n"
            return Response(stream, media_type="text/event-stream")
        return JSONResponse(message)

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])


@pytest.mark.parametrize("answer", ["json", "sse"])
async def test_complete_sends_a_stateless_call_with_the_internal_token(answer: str) -> None:
    seen: list[dict[str, Any]] = []
    async with serve_asgi(endpoint(seen, answer), lifespan=False) as url, httpx.AsyncClient() as client:
        router = Router(f"{url}/mcp", client, 5, 321, InternalCredential(SecretStr(TOKEN)))
        assert await router.complete("hello", system="be brief") == "HELLO"
        with pytest.raises(LLMError, match="the router failed: budget exhausted"):
            await router.complete("fail")
    arguments = seen[0]["body"]["params"]["arguments"]
    assert arguments == {"prompt": "hello", "system": "be brief", "max_tokens": 321}


async def test_a_missing_token_is_reported() -> None:
    async with serve_asgi(endpoint([], "json"), lifespan=False) as url, httpx.AsyncClient() as client:
        router = Router(f"{url}/mcp", client, 5, 100, InternalCredential())
        with pytest.raises(LLMError, match="internal credential"):
            await router.complete("hello")
        unreachable = Router("http://127.0.0.1:9/mcp", client, 5, 100)
        with pytest.raises(LLMError, match="unreachable"):
            await unreachable.complete("hello")
        with pytest.raises(LLMError, match="not configured"):
            await Router(None, client, 5, 100).complete("hello")
