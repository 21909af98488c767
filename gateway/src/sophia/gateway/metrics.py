"""Prometheus metrics of the gateway."""

from __future__ import annotations

import collections

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
        # labels() takes a lock and builds a key on every call; the children are few and reusable.
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        #: Calls per tool since start: the compact tool list's ranking.
        self.usage: collections.Counter[str] = collections.Counter()

    def record(self, tool: str, outcome: str, seconds: float) -> None:
        self.usage[tool] += 1
        children = self._children.get((tool, outcome))
        if children is None:
            children = self.calls.labels(tool=tool, outcome=outcome), self.latency.labels(tool=tool)
            self._children[(tool, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)
