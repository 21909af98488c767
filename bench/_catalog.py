"""The six real services' tool catalog in this process, for planning without running any server.

Each service's tools are read from its own `Service` object (names, descriptions, input schemas, risk,
destructive flags, what they consume and produce) exactly as its Describe call would give them, and
registered in a gateway `Catalog`. No tool body can be called (there is no upstream): the planner only
ranks, fills arguments and decides which steps would be held. By default servers that decide approval per
call are not asked, so plans count only tool risk and destructive flags (a lower bound on what
`/v1/intent` holds with the servers running). With `ask_servers` (a scratch directory) those services are
started in this process with their default settings (a fresh install's policy: protected branches,
production stacks, customer channels; no credentials) and the planner asks each one's own per-call
check (`Service.would_hold`), as `/v1/intent` probes them over MCP: what it holds with the fleet up.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from mcp.server.subscriptions import InMemorySubscriptionBus

from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.graph import CapabilityGraph, load_edges
from sophia.gateway.intent.engine import IntentEngine
from sophia.gateway.llm import RouterLLM
from sophia.gateway.pipeline.approval import declared_risky
from sophia.gateway.planner import Planner
from sophia.gateway.toolsearch import ToolIndex
from sophia.kit import Risk

# The modules that register each service's tools (importing the service object alone registers none).
TOOL_MODULES = {
    "router": ["sophia.router.server"],
    "code": ["sophia.code.server"],
    "infra": ["sophia.infra.tools"],
    "business": ["sophia.business.server"],
    "memory": ["sophia.memory.server"],
    "visual": ["sophia.visual.server"],
}


def _service(name: str) -> Any:
    service: Any = None
    for module in TOOL_MODULES[name]:
        imported = importlib.import_module(module)
        service = getattr(imported, "service", service)
    return service if service is not None else importlib.import_module(f"sophia.{name}.service").service


async def _started_checkers(scratch: Path) -> dict[str, Any]:
    """The services that declare per-call approvals, started here (dependencies built, state under `scratch`)."""
    started: dict[str, Any] = {}
    for name in TOOL_MODULES:
        service = _service(name)
        if not service.checked_per_call:
            continue
        overrides = {"data_dir": scratch / name} if "data_dir" in service.settings_type.model_fields else {}
        await service.start(service.load_settings(**overrides))
        started[name] = service
    return started


async def six_services(ask_servers: Path | None = None) -> tuple[Catalog, Planner, IntentEngine, ToolIndex]:
    catalog = Catalog(InMemorySubscriptionBus())
    for name in TOOL_MODULES:
        service = _service(name)
        definitions = [tool.model_dump(by_alias=True, exclude_none=True) for tool in await service.mcp.list_tools()]
        catalog.register(name, "kit", "in-process")
        await catalog.serving(name, version="bench", endpoint="in-process", upstream=None,  # type: ignore[arg-type]
                              tools=definitions, specs={spec.name: spec for spec in service.tools})  # fmt: skip
    graph = CapabilityGraph(catalog, load_edges(None, set(TOOL_MODULES)))
    intents = IntentEngine(RouterLLM(None, catalog, "off", 1.0))  # type: ignore[arg-type]
    tools = ToolIndex(intents)
    probe = None
    if ask_servers is not None:
        checkers = await _started_checkers(ask_servers)

        async def probe(route: Route, arguments: dict[str, Any]) -> str | None:
            return await checkers[route.service].would_hold(route.spec.name, arguments)

    planner = Planner(catalog, graph, tools, lambda route: declared_risky(route, Risk.HIGH), probe=probe)
    return catalog, planner, intents, tools
