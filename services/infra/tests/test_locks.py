"""One operation per stack: the Redis lock (real Redis), what a caller who finds a stack busy sees, progress
notifications while an update runs, and cancel."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from mcp.client import Client
from redis.asyncio import Redis

from sophia.infra import InfraSettings, service
from sophia.infra.locks import StackLocks
from sophia.kit import ToolError
from sophia.kit.testing import ToolClient

from .conftest import make_stack, started


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_the_lock_names_its_holder_and_only_the_owner_releases_it(redis: Redis) -> None:
    locks = StackLocks(redis, ttl_s=30)
    other = StackLocks(redis, ttl_s=30)  # another replica
    async with locks.hold("webapp/t1", "up", "call 7"):
        with pytest.raises(ToolError, match=r"stack webapp/t1 is busy: up started at .+ by call 7"):
            async with other.hold("webapp/t1", "preview", "call 8"):
                pass
        assert await redis.ttl("sophia:infra:lock:webapp/t1") > 0
    assert await locks.holder("webapp/t1") is None
    async with other.hold("webapp/t1", "preview", "call 9"):
        # A holder whose lock expired and was taken over never releases the new holder's lock.
        await locks._release("sophia:infra:lock:webapp/t1", "not-the-token")
        assert (await locks.holder("webapp/t1")) is not None


async def test_a_long_operation_keeps_its_lock_past_the_ttl(redis: Redis) -> None:
    locks = StackLocks(redis, ttl_s=1)
    async with locks.hold("webapp/long", "up", "call 1"):
        await asyncio.sleep(2.5)
        assert (await locks.holder("webapp/long")) is not None
    assert await locks.holder("webapp/long") is None


async def test_a_stack_held_by_another_operation_is_busy_for_callers(
    settings: InfraSettings, redis_url: str, redis: Redis
) -> None:
    settings.redis_url = redis_url
    async with started(settings) as tools:
        await make_stack(tools)
        replica = StackLocks(redis, ttl_s=30)
        async with replica.hold("webapp/dev", "up", "call 41"):
            error = await tools.error("preview", stack="dev")
            assert "stack webapp/dev is busy: up started at " in error and error.endswith("by call 41")
            listed = await tools.ok("stacks")
            assert listed["stacks"][0]["busy"].startswith("up since ")
            assert (await tools.ok("outputs", stack="dev"))["outputs"] == {}  # reads never wait
        await tools.ok("preview", stack="dev")


async def test_progress_is_streamed_resource_by_resource_and_cancel_stops_an_update(
    tools: ToolClient, standin_only: None
) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    seen: list[tuple[float, float | None, str | None]] = []
    first = asyncio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))
        first.set()

    os.environ["PULUMI_STANDIN_STEP_DELAY"] = "0.6"
    try:
        async with Client(service.mcp) as client:
            update = asyncio.create_task(
                client.call_tool("up", {"stack": "dev", "plan_id": plan["plan_id"]}, progress_callback=progress)
            )
            await asyncio.wait_for(first.wait(), 20)
            assert "is busy: up started at" in await tools.error("config_set", stack="dev", key="x", value="1")
            await tools.ok("cancel", stack="dev")
            result = await update
    finally:
        del os.environ["PULUMI_STANDIN_STEP_DELAY"]
    assert result.is_error and "update canceled" in result.content[0].text
    assert seen[0][1] == 3 and "done" in str(seen[0][2])
    assert "has no update in progress" in await tools.error("cancel", stack="dev")
    # Nothing is stuck: the stack takes a new preview and applies it.
    rest = await tools.ok("preview", stack="dev")
    await tools.ok("up", stack="dev", plan_id=rest["plan_id"])
