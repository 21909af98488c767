"""JSON logs: one object per line with level, service, msg, structured extras and the active trace id."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx
from opentelemetry import trace

from sophia.kit.observability import JsonFormatter
from sophia.kit.testing import wait_until


def record(msg: str, *args: object, level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("sophia.memory")
    exc_info = extra.pop("exc_info", None)
    return logger.makeRecord(logger.name, level, __file__, 1, msg, args, exc_info, extra=extra)


def test_record_is_one_json_object_with_level_service_and_msg() -> None:
    line = JsonFormatter("memory").format(record("recalled %d items", 3, level=logging.WARNING))
    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["level"], entry["service"], entry["logger"], entry["msg"]) == (
        "warning",
        "memory",
        "sophia.memory",
        "recalled 3 items",
    )
    assert entry["ts"].endswith("+00:00")


def test_trace_id_is_added_inside_a_span() -> None:
    with trace.get_tracer("test").start_as_current_span("work") as span:
        entry = json.loads(JsonFormatter("memory").format(record("inside")))
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_no_trace_id_outside_a_span() -> None:
    assert "trace_id" not in json.loads(JsonFormatter("memory").format(record("outside")))


def test_extra_fields_travel_as_structured_data() -> None:
    entry = json.loads(JsonFormatter("memory").format(record("stored", namespace="team-a", count=2)))
    assert (entry["namespace"], entry["count"], entry["msg"]) == ("team-a", 2, "stored")


def test_exception_stays_on_the_same_line() -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        line = JsonFormatter("memory").format(record("failed", level=logging.ERROR, exc_info=sys.exc_info()))
    assert "\n" not in line
    assert "ValueError: bad input" in json.loads(line)["exc"]


def test_server_log_is_one_json_object_per_line(sample_process: Any) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "crash",
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "crash",
    }
    httpx.post(sample_process.mcp_url, json=body, headers=headers)
    wait_until(lambda: "tool crash raised" in sample_process.process.log(), 5, "the crash to be logged")
    entries = [json.loads(line) for line in sample_process.process.log().splitlines()]
    assert all({"ts", "level", "service", "msg"} <= entry.keys() for entry in entries)
    assert {entry["service"] for entry in entries} == {"sample"}
    crashes = [entry for entry in entries if entry["msg"] == "tool crash raised RuntimeError"]
    assert crashes and all(c["level"] == "error" and "hunter2" in c["exc"] and "trace_id" in c for c in crashes)
