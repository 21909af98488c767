"""The six real services' tool catalog in this process, for planning without running any server.

Each service's tools are read from its own `Service` object (names, descriptions, input schemas, risk,
destructive flags, what they consume and produce) exactly as its Describe call would give them, and
registered in a gateway `Catalog`. Nothing can be called (there is no upstream): the planner only
ranks, fills arguments and decides which steps would be held. Servers that decide approval per call
cannot be asked here, so plans made this way count only tool risk and destructive flags (a lower
bound on what `/v1/intent` holds with the servers running).
"""

from __future__ import annotations

import importlib
from typing import Any

from mcp.server.subscriptions import InMemorySubscriptionBus

from sophia.gateway.catalog import Catalog
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


async def six_services() -> tuple[Catalog, Planner, IntentEngine, ToolIndex]:
    catalog = Catalog(InMemorySubscriptionBus())
    for name, modules in TOOL_MODULES.items():
        service: Any = None
        for module in modules:
            imported = importlib.import_module(module)
            service = getattr(imported, "service", service)
        if service is None:
            service = importlib.import_module(f"sophia.{name}.service").service
        definitions = [tool.model_dump(by_alias=True, exclude_none=True) for tool in await service.mcp.list_tools()]
        catalog.register(name, "kit", "in-process")
        await catalog.serving(name, version="bench", endpoint="in-process", upstream=None,  # type: ignore[arg-type]
                              tools=definitions, specs={spec.name: spec for spec in service.tools})  # fmt: skip
    graph = CapabilityGraph(catalog, load_edges(None, set(TOOL_MODULES)))
    intents = IntentEngine(RouterLLM(None, catalog, "off", 1.0))  # type: ignore[arg-type]
    tools = ToolIndex(intents)
    planner = Planner(catalog, graph, tools, lambda route: declared_risky(route, Risk.HIGH), probe=None)
    return catalog, planner, intents, tools
