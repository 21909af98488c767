"""`Service`: what a declared tool looks like to MCP clients, how calls behave, what declarations are refused."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mcp.client import Client
from mcp_types import CallToolResult, Tool
from pydantic import BaseModel

from sophia.kit import Context, Depends, Risk, Service, ToolError
from sophia.v1 import capabilities_pb2 as pb


class Shelf:
    """An injected dependency: one per process."""

    def __init__(self) -> None:
        self.books = ["Dune", "Emma", "Dubliners"]


def open_shelf() -> Shelf:
    return Shelf()


class Found(BaseModel):
    titles: list[str]


def build_service() -> Service:
    service = Service("library", version="2.0.0")

    @service.tool(read_only=True, tags={"books", "search"}, consumes=["query"], produces=["title"])
    async def search(prefix: str, limit: int = 5, shelf: Shelf = Depends(open_shelf)) -> Found:
        """Return up to `limit` titles on the shelf that start with `prefix`."""
        return Found(titles=[b for b in shelf.books if b.startswith(prefix)][:limit])

    @service.tool(risk=Risk.CRITICAL, destructive=True, tags={"books"})
    async def burn(title: str, shelf: Shelf = Depends(open_shelf)) -> bool:
        """Remove `title` from the shelf for good."""
        shelf.books.remove(title)
        return True

    @service.tool(idempotent=True)
    def where() -> dict[str, int]:
        """Report the thread this sync tool runs on."""
        return {"thread": threading.get_ident()}

    @service.tool()
    async def refuse(reason: str) -> str:
        """Fail with `reason` as an anticipated error."""
        raise ToolError(f"refused: {reason}")

    @service.tool()
    async def explode() -> str:
        """Fail unexpectedly with internal details."""
        raise RuntimeError("db password is hunter2")

    @service.tool(name="whoami")
    async def request_id(ctx: Context) -> str:
        """Return the id of the MCP request."""
        return str(ctx.request_id)

    return service


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    service = build_service()
    await service.start(service.load_settings())
    yield service
    await service.stop()


@pytest.fixture
async def tools(service: Service) -> dict[str, Tool]:
    async with Client(service.mcp) as client:
        return {tool.name: tool for tool in (await client.list_tools()).tools}


async def call(service: Service, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
    """One tools/call through the MCP SDK client, in memory."""
    async with Client(service.mcp) as client:
        return await client.call_tool(name, arguments or {})


# -- tools/list ----------------------------------------------------------------------------------


async def test_every_declared_tool_is_listed(tools: dict[str, Tool]) -> None:
    assert set(tools) == {"search", "burn", "where", "refuse", "explode", "whoami"}


async def test_docstring_is_the_description(tools: dict[str, Tool]) -> None:
    assert tools["search"].description == "Return up to `limit` titles on the shelf that start with `prefix`."


async def test_input_schema_comes_from_type_hints(tools: dict[str, Tool]) -> None:
    schema = tools["search"].input_schema
    assert schema["properties"]["prefix"]["type"] == "string"
    assert schema["properties"]["limit"] == {"default": 5, "title": "Limit", "type": "integer"}
    assert schema["required"] == ["prefix"]


async def test_depends_parameters_are_absent_from_the_schema(tools: dict[str, Tool]) -> None:
    assert "shelf" not in tools["search"].input_schema["properties"]
    assert list(tools["burn"].input_schema["properties"]) == ["title"]


async def test_context_parameter_is_injected_and_absent_from_the_schema(
    service: Service, tools: dict[str, Tool]
) -> None:
    assert tools["whoami"].input_schema.get("properties", {}) == {}
    result = await call(service, "whoami", {})
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["result"]


async def test_output_schema_comes_from_the_return_type(tools: dict[str, Tool]) -> None:
    assert tools["search"].output_schema is not None
    assert tools["search"].output_schema["properties"]["titles"]["type"] == "array"


async def test_read_only_tool_is_annotated_read_only_and_idempotent(tools: dict[str, Tool]) -> None:
    hints = tools["search"].annotations
    assert hints is not None
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (True, False, True)


async def test_destructive_tool_is_annotated_destructive(tools: dict[str, Tool]) -> None:
    hints = tools["burn"].annotations
    assert hints is not None
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (False, True, False)


async def test_idempotent_flag_is_annotated(tools: dict[str, Tool]) -> None:
    hints = tools["where"].annotations
    assert hints is not None
    assert (hints.read_only_hint, hints.idempotent_hint) == (False, True)


async def test_risk_and_tags_travel_in_meta(tools: dict[str, Tool]) -> None:
    assert tools["search"].meta == {"sophia/risk": "low", "sophia/tags": ["books", "search"]}
    assert tools["burn"].meta is not None and tools["burn"].meta["sophia/risk"] == "critical"


# -- tools/call ----------------------------------------------------------------------------------


async def test_async_tool_returns_structured_content(service: Service) -> None:
    result = await call(service, "search", {"prefix": "D"})
    assert not result.is_error
    assert result.structured_content == {"titles": ["Dune", "Dubliners"]}


async def test_sync_tool_runs_in_a_worker_thread(service: Service) -> None:
    result = await call(service, "where", {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["thread"] != threading.get_ident()


async def test_tool_error_message_reaches_the_caller(service: Service) -> None:
    result = await call(service, "refuse", {"reason": "quota exceeded"})
    assert result.is_error
    assert "refused: quota exceeded" in result.content[0].text  # type: ignore[union-attr]


async def test_unexpected_exception_is_masked(service: Service) -> None:
    result = await call(service, "explode", {})
    assert result.is_error
    text = result.model_dump_json()
    assert "explode failed with an internal error" in text
    assert "hunter2" not in text
    assert "RuntimeError" not in text


async def test_invalid_arguments_return_the_validation_error(service: Service) -> None:
    result = await call(service, "search", {"prefix": "D", "limit": "many"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "limit" in text and "valid integer" in text


async def test_calls_are_counted_per_tool(service: Service, metric: Callable[..., float]) -> None:
    await call(service, "search", {"prefix": "D"})
    await call(service, "search", {"prefix": "E"})
    await call(service, "refuse", {"reason": "no"})
    assert metric(service, "sophia_tool_calls_total", tool="search") == 2
    assert metric(service, "sophia_tool_calls_total", tool="refuse") == 1


async def test_errors_are_counted_by_kind(service: Service, metric: Callable[..., float]) -> None:
    await call(service, "refuse", {"reason": "no"})
    await call(service, "explode", {})
    await call(service, "search", {"prefix": "D"})
    assert metric(service, "sophia_tool_errors_total", tool="refuse", kind="tool") == 1
    assert metric(service, "sophia_tool_errors_total", tool="explode", kind="internal") == 1
    assert metric(service, "sophia_tool_errors_total", tool="search") == 0


async def test_latency_is_observed(service: Service, metric: Callable[..., float]) -> None:
    await call(service, "where", {})
    assert metric(service, "sophia_tool_latency_seconds_count", tool="where", service="library") == 1
    assert metric(service, "sophia_tool_latency_seconds_sum", tool="where") > 0


async def test_tool_called_before_start_fails_without_detail() -> None:
    service = build_service()
    result = await call(service, "search", {"prefix": "D"})
    assert result.is_error
    assert "open_shelf" not in result.model_dump_json()


# -- declarations --------------------------------------------------------------------------------


def test_destructive_tool_with_low_risk_is_refused() -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="risk high or critical"):

        @service.tool(destructive=True, risk="low")
        async def drop() -> None:
            """Drop everything."""


def test_destructive_tool_with_medium_risk_is_refused() -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="risk high or critical"):

        @service.tool(destructive=True, risk=Risk.MEDIUM)
        async def drop() -> None:
            """Drop everything."""


def test_read_only_destructive_tool_is_refused() -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="both read_only and destructive"):

        @service.tool(read_only=True, destructive=True, risk="high")
        async def drop() -> None:
            """Drop everything."""


def test_tool_without_docstring_is_refused() -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="needs a docstring"):

        @service.tool()
        async def silent() -> None:
            pass


@pytest.mark.parametrize("name", ["my_service", "Memory", "9lives", "", "a" * 32])
def test_bad_service_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="service name"):
        Service(name)


def test_duplicate_tool_is_refused() -> None:
    service = Service("demo")

    @service.tool()
    async def ping() -> str:
        """Answer pong."""
        return "pong"

    with pytest.raises(ValueError, match="already registered"):

        @service.tool(name="ping")
        async def ping_again() -> str:
            """Answer pong again."""
            return "pong"


@pytest.mark.parametrize("name", ["with space", "dotted.name", "_leading", "x" * 42])
def test_bad_tool_name_is_refused(name: str) -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="tool name"):

        @service.tool(name=name)
        async def ping() -> str:
            """Answer pong."""
            return "pong"


def test_unknown_risk_is_refused() -> None:
    service = Service("demo")
    with pytest.raises(ValueError, match="extreme"):

        @service.tool(risk="extreme")
        async def ping() -> str:
            """Answer pong."""
            return "pong"


def test_tool_whose_gateway_name_exceeds_64_characters_is_refused() -> None:
    service = Service("s" * 31)
    with pytest.raises(ValueError):

        @service.tool(name="t" * 41)
        async def ping() -> str:
            """Answer pong."""
            return "pong"


# -- describe and readiness ----------------------------------------------------------------------


def test_describe_lists_every_tool_and_the_mcp_endpoint() -> None:
    service = build_service()
    described = service.describe(service.load_settings(host="127.0.0.1", http_port=8123, public_url=None))
    assert (described.name, described.version) == ("library", "2.0.0")
    assert described.mcp_endpoint == "http://127.0.0.1:8123/mcp"
    burn = next(tool for tool in described.tools if tool.name == "burn")
    assert (burn.risk, burn.destructive, burn.read_only) == (pb.RISK_CRITICAL, True, False)
    search = next(tool for tool in described.tools if tool.name == "search")
    assert (list(search.tags), list(search.consumes), list(search.produces)) == (
        ["books", "search"],
        ["query"],
        ["title"],
    )


async def test_service_is_not_ready_before_start() -> None:
    assert not await build_service().is_ready()


async def test_service_is_ready_after_start(service: Service) -> None:
    assert await service.is_ready()


async def test_service_is_not_ready_after_stop(service: Service) -> None:
    await service.stop()
    assert not await service.is_ready()


async def test_failing_readiness_check_means_not_ready(service: Service) -> None:
    @service.readiness
    async def broken() -> bool:
        raise ConnectionError("redis is down")

    assert not await service.is_ready()


async def test_readiness_check_returning_false_means_not_ready(service: Service) -> None:
    @service.readiness
    async def warming_up() -> bool:
        return False

    assert not await service.is_ready()
