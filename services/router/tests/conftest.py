"""Fixtures: the LLM provider stand-in on loopback, a real Redis, the router built in this process, and
the kit's in-memory tool client."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from sophia.kit.testing import ToolClient, serve_asgi, started
from sophia.router import RouterSettings, service
from sophia.router.engine import Router, open_router
from sophia.router.settings import Provider

from .llm_standin import ANTHROPIC_KEY, OPENAI_KEY, StandIn

DATA = Path(__file__).parent / "data"
CATALOG = DATA / "catalog.yaml"


@pytest.fixture
def principal() -> str:
    """A principal no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def clean_redis(redis_url: str) -> AsyncIterator[str]:
    """The session's Redis with every router key removed (budgets and counters are global state)."""
    redis = Redis.from_url(redis_url)
    try:
        async for key in redis.scan_iter("sophia:router:*", count=1000):
            await redis.delete(key)
        yield redis_url
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
def shared_standin() -> Iterator[StandIn]:
    """One provider stand-in for the session, served by `serve_asgi` in a thread with its own event loop:
    starting and stopping uvicorn for each test would cost a quarter of a second each time, and a
    router process started once per module can outlive each test's event loop."""
    provider = StandIn()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with serve_asgi(provider.app(), lifespan=False) as url:
            provider.url = url
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the provider stand-in did not start"
    yield provider
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


@pytest.fixture
def standin(shared_standin: StandIn) -> StandIn:
    """The stand-in with no faults queued, no calls recorded and no scripted replies."""
    shared_standin.reset()
    return shared_standin


def providers_for(standin: StandIn) -> list[Provider]:
    return [
        Provider(name="openai", kind="openai", base_url=f"{standin.url}/v1", api_key=SecretStr(OPENAI_KEY)),
        Provider(name="anthropic", kind="anthropic", base_url=standin.url, api_key=SecretStr(ANTHROPIC_KEY)),
    ]


@pytest.fixture
def settings(clean_redis: str, standin: StandIn) -> RouterSettings:
    return RouterSettings(
        redis_url=clean_redis,
        providers=providers_for(standin),
        catalog_path=CATALOG,
        log_format="text",
        request_timeout_s=0.5,
        complete_timeout_s=5.0,
        cooldown_s=10,
        rate_limit_cooldown_s=20,
        breaker_failures=3,
        breaker_open_s=30,
    )


@pytest.fixture
async def router(settings: RouterSettings) -> AsyncIterator[Router]:
    async for built in open_router(settings):
        yield built


Tools = ToolClient


@pytest.fixture
async def tools(settings: RouterSettings) -> AsyncIterator[Tools]:
    async with started(service, settings) as client:
        yield client
