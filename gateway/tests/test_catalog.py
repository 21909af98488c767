"""The catalog exposes `<service>_<tool>` for serving servers only and announces every change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from mcp.server.subscriptions import InMemorySubscriptionBus, ServerEvent, ToolsListChanged

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import UnknownTool
from sophia.kit import Risk, ToolSpec


class NoUpstream:
    service = "mem"

    async def list_tools(self) -> list[dict[str, Any]]:
        return []

    async def call_tool(self, tool: str, arguments: Mapping[str, Any] | None, timeout: float) -> dict[str, Any]:
        raise AssertionError("not called")


TOOLS = [{"name": "recall", "description": "Recall.", "inputSchema": {"type": "object"}}, {"name": "forget"}]
SPECS = {"forget": ToolSpec("forget", "Forget.", risk=Risk.HIGH, destructive=True)}


@pytest.fixture
def catalog_events() -> tuple[Catalog, list[ServerEvent]]:
    bus = InMemorySubscriptionBus()
    events: list[ServerEvent] = []
    bus.subscribe(events.append)
    return Catalog(bus), events


async def serve(catalog: Catalog, tools: list[dict[str, Any]] = TOOLS) -> None:
    await catalog.serving("mem", version="1", endpoint="http://m/mcp", upstream=NoUpstream(), tools=tools, specs=SPECS)


async def test_serving_server_exposes_prefixed_tools(catalog_events: tuple[Catalog, list[ServerEvent]]) -> None:
    catalog, events = catalog_events
    catalog.register("mem", "kit", "mem:50051")
    await serve(catalog)
    assert [t["name"] for t in catalog.listing()] == ["mem_recall", "mem_forget"]
    assert catalog.route("mem_forget").spec.risk is Risk.HIGH
    assert catalog.route("mem_recall").spec.name == "recall"
    assert events == [ToolsListChanged()]


async def test_down_server_tools_vanish_and_listeners_hear_it(
    catalog_events: tuple[Catalog, list[ServerEvent]],
) -> None:
    catalog, events = catalog_events
    catalog.register("mem", "kit", "mem:50051")
    await serve(catalog)
    await catalog.down("mem", "unreachable")
    assert catalog.listing() == []
    with pytest.raises(UnknownTool, match="Unknown tool: mem_recall"):
        catalog.route("mem_recall")
    assert catalog.server("mem").error == "unreachable"  # type: ignore[union-attr]
    assert len(events) == 2


async def test_unchanged_relisting_is_not_announced(catalog_events: tuple[Catalog, list[ServerEvent]]) -> None:
    catalog, events = catalog_events
    catalog.register("mem", "kit", "mem:50051")
    await serve(catalog)
    await serve(catalog)
    assert len(events) == 1


async def test_nameless_tools_from_a_server_are_ignored(catalog_events: tuple[Catalog, list[ServerEvent]]) -> None:
    catalog, _ = catalog_events
    catalog.register("mem", "kit", "mem:50051")
    await serve(catalog, [{"description": "no name"}, {"name": ""}, {"name": "ok"}])
    assert [t["name"] for t in catalog.listing()] == ["mem_ok"]


def test_two_servers_with_one_name_are_refused(catalog_events: tuple[Catalog, list[ServerEvent]]) -> None:
    catalog, _ = catalog_events
    catalog.register("mem", "kit", "a:1")
    with pytest.raises(ValueError, match="two servers are named 'mem'"):
        catalog.register("mem", "kit", "b:1")


async def test_unprefixed_server_keeps_its_names_and_a_collision_is_refused_naming_both() -> None:
    """`prefix: never`: tools keep their own names; a second server with one of those names is refused."""
    from sophia.gateway.catalog import NameCollision

    catalog = Catalog(InMemorySubscriptionBus(), reserved={"ask"})
    catalog.register("mem", "url", "http://m/mcp").prefixed = False
    catalog.register("other", "url", "http://o/mcp").prefixed = False
    await serve(catalog)
    assert sorted(t["name"] for t in catalog.listing()) == ["forget", "recall"]
    assert catalog.route("recall").spec.name == "recall"
    with pytest.raises(NameCollision, match="'mem' and 'other' both expose 'recall'"):
        await catalog.serving("other", version="", endpoint="", upstream=NoUpstream(), tools=TOOLS[:1], specs={})
    assert catalog.server("other").status == "starting"  # type: ignore[union-attr]
    assert sorted(t["name"] for t in catalog.listing()) == ["forget", "recall"]  # the first one keeps them

    await catalog.down("mem", "gone")  # a server that is down keeps its names: a restart cannot steal them
    with pytest.raises(NameCollision):
        await catalog.serving("other", version="", endpoint="", upstream=NoUpstream(), tools=TOOLS[:1], specs={})
    assert catalog.known_down("recall") is not None  # a call says "server down", not "unknown tool"

    with pytest.raises(NameCollision, match="tool of the gateway itself"):
        await catalog.serving(
            "other", version="", endpoint="", upstream=NoUpstream(), tools=[{"name": "ask"}], specs={}
        )
