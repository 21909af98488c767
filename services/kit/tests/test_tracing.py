"""Tracing: a call carrying W3C trace context continues that trace; the kit propagates it both ways."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from mcp.client import Client
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sophia.kit import context_from_headers, inject_headers
from sophia.kit.testing import mcp_body, mcp_headers

from .conftest import build_ping_service

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"


def post_call(name: str, **headers: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Body and headers of a stateless tools/call."""
    return mcp_body("tools/call", {"name": name, "arguments": {}}), {**mcp_headers("tools/call", name), **headers}


def test_traceparent_header_continues_the_trace(sample_process: Any) -> None:
    body, headers = post_call("trace_id", traceparent=TRACEPARENT)
    response = httpx.post(sample_process.mcp_url, json=body, headers=headers)
    assert response.json()["result"]["structuredContent"] == {"result": TRACE_ID}


def test_call_without_traceparent_runs_in_a_new_trace(sample_process: Any) -> None:
    body, headers = post_call("trace_id")
    first = httpx.post(sample_process.mcp_url, json=body, headers=headers).json()["result"]["structuredContent"]
    second = httpx.post(sample_process.mcp_url, json=body, headers=headers).json()["result"]["structuredContent"]
    assert first["result"] not in (TRACE_ID, "0" * 32)
    assert first != second


async def test_tool_span_descends_from_the_callers_span(
    serve_http: Callable[..., AbstractAsyncContextManager[str]], spans: InMemorySpanExporter
) -> None:
    service = build_ping_service("traced")
    body, headers = post_call("ping", traceparent=TRACEPARENT)
    async with serve_http(service) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=body, headers=headers)
    assert response.status_code == 200
    by_id = {s.context.span_id: s for s in spans.get_finished_spans()}
    (span,) = [s for s in by_id.values() if s.name == "tool ping"]
    assert span.attributes is not None and span.attributes["sophia.tool"] == "ping"
    while span.parent is not None and span.parent.span_id in by_id:  # up through the SDK's request span
        span = by_id[span.parent.span_id]
    assert span.parent is not None and span.parent.is_remote
    assert format(span.parent.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID


async def test_tool_call_records_a_span_named_after_the_tool(spans: InMemorySpanExporter) -> None:
    service = build_ping_service("traced")
    async with Client(service.mcp) as client:
        await client.call_tool("ping", {})
    assert [s.name for s in spans.get_finished_spans() if s.name.startswith("tool ")] == ["tool ping"]


def test_inject_headers_carries_the_current_trace() -> None:
    with trace.get_tracer("test").start_as_current_span("outgoing") as span:
        headers = inject_headers({"accept": "application/json"})
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert headers["accept"] == "application/json"
    assert headers["traceparent"].split("-")[1] == trace_id


def test_context_from_headers_reads_the_callers_trace() -> None:
    context = context_from_headers({"traceparent": TRACEPARENT})
    span_context = trace.get_current_span(context).get_span_context()
    assert format(span_context.trace_id, "032x") == TRACE_ID
    assert format(span_context.span_id, "016x") == PARENT_SPAN_ID


def test_context_from_headers_without_trace_is_empty() -> None:
    context = context_from_headers({"accept": "application/json"})
    assert not trace.get_current_span(context).get_span_context().is_valid


async def test_propagators_set_to_none_still_serve_requests() -> None:
    """`OTEL_PROPAGATORS=none` installs an empty composite propagator, whose extract returns None; FastAPI's
    telemetry attached that as the current context and every request failed. The kit keeps extract total."""
    from fastapi import FastAPI
    from opentelemetry import propagate
    from opentelemetry.propagators.composite import CompositePropagator

    from sophia.kit.observability import configure_tracing

    before = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([]))  # what OTEL_PROPAGATORS=none loads
    try:
        configure_tracing("traced", "none")
        app = FastAPI()

        @app.get("/hello")
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/hello", headers={"traceparent": TRACEPARENT})
            plain = await http.get("/hello")
        assert (response.status_code, response.json()) == (200, {"hello": "world"})
        assert plain.status_code == 200
        assert context_from_headers({"traceparent": TRACEPARENT}) is not None
        assert inject_headers({}) == {}  # nothing propagates: that is what `none` asks
    finally:
        propagate.set_global_textmap(before)
