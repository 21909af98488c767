"""`bench external`'s lean load generator counts a call only when it succeeded: a throughput figure made of
failed calls would pass the target for nothing. Checked against a stand-in MCP server (a Starlette app on
loopback answering in the two eras' HTTP shapes), not the real reference server (the benchmark runs that)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.external import LEGACY, LeanClient
from sophia.kit.testing._serve import serve_asgi

SESSION = "session-7"


def reply(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def stand_in(seen: list[tuple[str, dict[str, str]]]) -> Starlette:
    """Answers `tools/call` by tool name: `ok` in JSON, `streamed` in an event stream after a progress
    notification, `fails` with an error result, `crashes` with HTTP 500. `initialize` opens a 2025-11-25
    session; a request naming another session gets 404, as the SDK server answers."""

    async def mcp(request: Request) -> Response:
        seen.append((request.method, dict(request.headers)))
        if request.method == "DELETE":
            return Response(status_code=200)
        message = json.loads(await request.body())
        session = request.headers.get("mcp-session-id")
        if message["method"] == "initialize":
            result = {"protocolVersion": LEGACY, "capabilities": {}, "serverInfo": {"name": "stand-in", "version": "1"}}
            return JSONResponse(reply(message["id"], result), headers={"mcp-session-id": SESSION})
        if message["method"] == "notifications/initialized":
            return Response(status_code=202)
        if session is not None and session != SESSION:
            return Response(status_code=404)
        tool = message["params"]["name"]
        if tool == "crashes":
            return Response("boom", status_code=500)
        if tool == "streamed":
            progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
            done = reply(message["id"], {"content": [], "isError": False})
            events = "".join(f"event: message\ndata: {json.dumps(m)}\n\n" for m in (progress, done))
            return Response(events, media_type="text/event-stream")
        return JSONResponse(reply(message["id"], {"content": [], "isError": tool == "fails"}))

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST", "DELETE"])])


async def test_a_call_counts_only_when_it_succeeded() -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    async with serve_asgi(stand_in(seen), lifespan=False) as base:
        for tool in ("ok", "streamed"):
            client = LeanClient(f"{base}/mcp", tool)
            try:
                await client.call()
                await client.call()  # the kept-alive connection serves the next call
            finally:
                await client.aclose()
        for tool, why in (("fails", "failed"), ("crashes", "HTTP 500")):
            client = LeanClient(f"{base}/mcp", tool)
            try:
                with pytest.raises(RuntimeError, match=why):
                    await client.call()
            finally:
                await client.aclose()
    assert all(headers["mcp-protocol-version"] == "2026-07-28" for _, headers in seen)


async def test_a_legacy_session_is_opened_once_used_by_every_call_and_ended() -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    async with serve_asgi(stand_in(seen), lifespan=False) as base:
        client = await LeanClient.legacy(f"{base}/mcp", "ok")
        try:
            for _ in range(3):
                await client.call()
        finally:
            await client.aclose()
    methods = [method for method, _ in seen]
    assert methods == ["POST", "POST", "POST", "POST", "POST", "DELETE"]  # initialize, initialized, 3 calls, end
    assert all(headers.get("mcp-session-id") == SESSION for _, headers in seen[1:])
    assert all(headers["mcp-protocol-version"] == LEGACY for _, headers in seen[1:])
