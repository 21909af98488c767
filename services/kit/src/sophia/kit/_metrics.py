"""Prometheus metrics of a capability server: calls, errors and latency per tool."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Buckets from 0.5 ms: most tools answer in milliseconds, and a coarser first bucket hides regressions.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ToolMetrics:
    """One registry per server, so several servers in one test process do not collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("sophia_tool_calls", "Tool calls served.", ["service", "tool"], registry=self.registry)
        self.errors = Counter(
            "sophia_tool_errors",
            "Tool calls that ended in an error.",
            ["service", "tool", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sophia_tool_latency_seconds",
            "Time spent in the tool.",
            ["service", "tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.service = service

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
