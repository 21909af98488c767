"""Tool declarations: `Depends` (built once, closed at stop, given settings), `ToolSpec` and `Risk`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from mcp.client import Client
from pydantic import Field

from sophia.kit import Depends, Risk, Service, ServiceSettings, ToolSpec
from sophia.v1 import capabilities_pb2 as pb


class Pool:
    """Stands for a connection pool: one per process, closed at shutdown."""

    def __init__(self, dsn: str = "") -> None:
        self.dsn = dsn
        self.closed = False


class PoolSettings(ServiceSettings):
    dsn: str = Field("postgres://pool", description="Where the pool connects.")


async def call(service: Service, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool in memory and return its structured result."""
    async with Client(service.mcp) as client:
        result = await client.call_tool(name, arguments or {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def counting_pool_factory() -> tuple[list[Pool], Callable[[], Pool]]:
    """A `Depends` factory that records every pool it builds."""
    built: list[Pool] = []

    def open_pool() -> Pool:
        built.append(Pool())
        return built[-1]

    return built, open_pool


async def test_factory_is_built_once_per_process() -> None:
    built, open_pool = counting_pool_factory()

    service = Service("pools")

    @service.tool()
    async def first(pool: Pool = Depends(open_pool)) -> int:
        """Return the id of the injected pool."""
        return id(pool)

    @service.tool()
    def second(pool: Pool = Depends(open_pool)) -> int:
        """Return the id of the injected pool, from a sync tool."""
        return id(pool)

    await service.start(service.load_settings())
    ids = {(await call(service, "first"))["result"], (await call(service, "first"))["result"]}
    ids.add((await call(service, "second"))["result"])
    await service.stop()
    assert len(built) == 1
    assert ids == {id(built[0])}


async def test_async_factory_is_awaited() -> None:
    async def open_pool() -> Pool:
        return Pool("async")

    service = Service("pools")

    @service.tool()
    async def dsn(pool: Pool = Depends(open_pool)) -> str:
        """Return the pool's DSN."""
        return pool.dsn

    await service.start(service.load_settings())
    assert (await call(service, "dsn"))["result"] == "async"
    await service.stop()


@pytest.mark.parametrize("kind", ["async generator", "generator"])
async def test_generator_factories_are_cleaned_up_on_stop(kind: str) -> None:
    pools: list[Pool] = []

    async def open_async() -> AsyncIterator[Pool]:
        pools.append(Pool())
        yield pools[-1]
        pools[-1].closed = True

    def open_sync() -> Iterator[Pool]:
        pools.append(Pool())
        yield pools[-1]
        pools[-1].closed = True

    open_pool: Any = open_async if kind == "async generator" else open_sync
    service = Service("pools")

    @service.tool()
    async def is_open(pool: Pool = Depends(open_pool)) -> bool:
        """Say whether the pool is open."""
        return not pool.closed

    await service.start(service.load_settings())
    assert (await call(service, "is_open"))["result"] is True
    assert not pools[0].closed
    await service.stop()
    assert pools[0].closed


async def test_factory_taking_a_parameter_receives_the_settings() -> None:
    def open_pool(settings: PoolSettings) -> Pool:
        return Pool(settings.dsn)

    service = Service("pools", settings=PoolSettings)

    @service.tool()
    async def dsn(pool: Pool = Depends(open_pool)) -> str:
        """Return the pool's DSN."""
        return pool.dsn

    await service.start(service.load_settings(dsn="postgres://configured"))
    assert (await call(service, "dsn"))["result"] == "postgres://configured"
    await service.stop()


async def test_dependencies_are_rebuilt_after_a_restart() -> None:
    built, open_pool = counting_pool_factory()

    service = Service("pools")

    @service.tool()
    async def pool_id(pool: Pool = Depends(open_pool)) -> int:
        """Return the id of the injected pool."""
        return id(pool)

    for _ in range(2):
        await service.start(service.load_settings())
        assert (await call(service, "pool_id"))["result"] == id(built[-1])
        await service.stop()
    assert len(built) == 2


# -- ToolSpec and Risk ---------------------------------------------------------------------------


def test_tool_spec_round_trips_through_protobuf() -> None:
    spec = ToolSpec(
        name="forget",
        description="Forget a memory.",
        risk=Risk.HIGH,
        tags=frozenset({"memory", "delete"}),
        destructive=True,
        consumes=("memory_id",),
        produces=("receipt",),
    )
    assert ToolSpec.from_proto(spec.to_proto()) == spec


def test_tool_spec_proto_lists_tags_sorted() -> None:
    spec = ToolSpec(name="t", description="d", tags=frozenset({"b", "c", "a"}))
    assert list(spec.to_proto().tags) == ["a", "b", "c"]


@pytest.mark.parametrize("risk", list(Risk))
def test_every_risk_round_trips_through_protobuf(risk: Risk) -> None:
    assert Risk.from_proto(risk.to_proto()) is risk


def test_unspecified_proto_risk_reads_as_medium() -> None:
    assert Risk.from_proto(pb.RISK_UNSPECIFIED) is Risk.MEDIUM


def test_destructive_spec_from_a_peer_must_still_be_high_risk() -> None:
    with pytest.raises(ValueError, match="risk high or critical"):
        ToolSpec.from_proto(pb.Tool(name="drop", description="d", destructive=True, risk=pb.RISK_LOW))
