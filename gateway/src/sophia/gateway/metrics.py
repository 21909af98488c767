"""Prometheus metrics of the gateway."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sophia.kit.observability import LATENCY_BUCKETS


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "sophia_gateway_tool_calls",
            "Tool calls forwarded, by outcome.",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sophia_gateway_tool_latency_seconds",
            "Time from receiving a tool call to its answer.",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.servers = Gauge(
            "sophia_gateway_servers", "Servers known to the gateway, by status.", ["status"], registry=self.registry
        )
        self.tools = Gauge("sophia_gateway_tools", "Tools exposed to clients.", registry=self.registry)
