"""The public surface is deliberate: a name is added to `__all__` on purpose, and this test with it."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "sophia.kit",
            {
                "ApprovalCheck",
                "Context",
                "Depends",
                "Risk",
                "Service",
                "ServiceSettings",
                "ToolError",
                "ToolSpec",
                "comma_list",
                "context_from_headers",
                "inject_headers",
            },
        ),
        (
            "sophia.kit.testing",
            {
                "KitServer",
                "ManagedProcess",
                "RedisUnavailable",
                "ToolClient",
                "free_port",
                "mcp_body",
                "mcp_headers",
                "redis_server",
                "serve_asgi",
                "started",
                "wait_until",
            },
        ),
        ("sophia.kit.serving", {"DeadlineHttpProtocol", "raise_open_file_limit", "uvicorn_limits"}),
        ("sophia.kit.ports", {"free_port", "free_ports"}),
        ("sophia.kit.processes", {"Child", "stop_all"}),
        (
            "sophia.kit.observability",
            {"LATENCY_BUCKETS", "JsonFormatter", "TraceContextMiddleware", "configure_logging", "configure_tracing"},
        ),
    ],
)
def test_all_is_exactly_the_deliberate_list(module: str, names: set[str]) -> None:
    imported = importlib.import_module(module)
    assert set(imported.__all__) == names
    assert all(hasattr(imported, name) for name in names)
