"""A gateway's call pipeline, executor and planner over in-process servers, for tests without a fleet.

Each server is an object that speaks the gateway's `Upstream` interface and answers each tool with a
function of its arguments (the test says what the tool returns); every call that reaches it is recorded.
Redis is a real throwaway server (the approval queue); the pipeline is the gateway's own, every stage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from mcp.server.subscriptions import InMemorySubscriptionBus
from pydantic import SecretStr

from sophia.gateway.approvals import ApprovalStore
from sophia.gateway.catalog import Catalog
from sophia.gateway.executor import Executor
from sophia.gateway.graph import CapabilityGraph, known_services, load_edges
from sophia.gateway.metrics import GatewayMetrics
from sophia.gateway.pipeline.approval import declared_risky, probe
from sophia.gateway.pipeline.build import build_pipeline
from sophia.gateway.planner import Planner
from sophia.gateway.security.audit import AuditLog
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal
from sophia.kit import Risk, ToolSpec
from sophia.kit.approvals import DECLARES, GRANT, PROBE, approval_required_result, probe_result
from sophia.kit.breaker import CircuitBreakers
from sophia.kit.security import InternalCredential

LOCAL = Principal(name="local", roles=("admin",), via="anonymous")
Answer = Callable[[dict[str, Any]], Any]


def structured(content: Any) -> dict[str, Any]:
    """A tool result with structured content, as a kit server answers."""
    return {"content": [{"type": "text", "text": "(structured)"}], "structuredContent": content, "isError": False}


def error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


@dataclass
class Tool:
    name: str
    schema: dict[str, Any]
    spec: ToolSpec
    answer: Answer
    # Server-declared approval: whether this call would wait, and why (None: it runs), as a kit server's
    # per-call check answers the gateway's probe and holds the call itself.
    approval: Callable[[dict[str, Any]], str | None] | None = None


def tool(
    name: str,
    properties: dict[str, Any],
    required: list[str],
    answer: Answer,
    approval: Callable[[dict[str, Any]], str | None] | None = None,
    **spec: Any,
) -> Tool:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return Tool(name, schema, ToolSpec(name, name.replace("_", " "), **spec), answer, approval)


@dataclass
class InProcessServer:
    service: str
    tools: dict[str, Tool]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def list_tools(self) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "description": t.spec.description, "inputSchema": t.schema}
            | ({"_meta": {DECLARES: "per-call"}} if t.approval is not None else {})
            for t in self.tools.values()
        ]

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        meta: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        check = self.tools[tool].approval
        if check is not None:
            reason = check(dict(arguments or {}))
            if (meta or {}).get(PROBE):
                return probe_result(reason).model_dump(by_alias=True, exclude_none=True)
            if reason is not None and not (meta or {}).get(GRANT):
                return approval_required_result(reason).model_dump(by_alias=True, exclude_none=True)
        self.calls.append((tool, dict(arguments or {})))
        answer = await _maybe_await(self.tools[tool].answer(dict(arguments or {})))
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    def called(self, tool: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == tool]


async def _maybe_await(value: Any) -> Any:
    if hasattr(value, "__await__"):
        return await value
    return value


@dataclass
class Gateway:
    catalog: Catalog
    executor: Executor
    planner: Planner
    approvals: ApprovalStore
    servers: dict[str, InProcessServer]
    client: redis.Redis

    async def close(self) -> None:
        await self.client.aclose()


async def gateway(redis_url: str, servers: dict[str, list[Tool]]) -> Gateway:
    """The gateway's pipeline, executor and planner (shipped edges, approvals at high risk) over `servers`."""
    client = redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    catalog = Catalog(InMemorySubscriptionBus())
    running: dict[str, InProcessServer] = {}
    for service, tools in servers.items():
        server = InProcessServer(service, {t.name: t for t in tools})
        running[service] = server
        catalog.register(service, "kit", "in-process")
        await catalog.serving(
            service,
            version="1",
            endpoint="in-process",
            upstream=server,
            tools=await server.list_tools(),
            specs={t.name: t.spec for t in tools},
        )
    store = ApprovalStore(client, 3600, 3600, lambda: (b"k" * 32,))
    pipeline = build_pipeline(
        catalog=catalog,
        local={},
        guard=Guard(Policy.load(None), LOCAL, None, AuditLog(client, 1000)),
        approvals=store,
        credential=InternalCredential(SecretStr("in-process-tests-token")),
        approval_risk=Risk.HIGH,
        breakers=CircuitBreakers(3, 0.2),
        retries=0,
        call_timeout_s=5,
        metrics=GatewayMetrics(),
    )
    graph = CapabilityGraph(catalog, load_edges(None, known_services([])))
    planner = Planner(
        catalog,
        graph,
        None,  # type: ignore[arg-type]
        lambda route: declared_risky(route, Risk.HIGH),
        probe,
    )
    return Gateway(catalog, Executor(pipeline, 5), planner, store, running, client)
