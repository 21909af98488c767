"""Cooldowns per deployment, in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sophia.router.health import Cooldowns


@pytest.fixture
async def cooldowns(clean_redis: str) -> AsyncIterator[Cooldowns]:
    redis = Redis.from_url(clean_redis, decode_responses=True)
    yield Cooldowns(redis)
    await redis.aclose()


async def test_cooldowns_expire_and_a_longer_rest_is_not_shortened(cooldowns: Cooldowns) -> None:
    await cooldowns.cool("openai/a", 30, "rate_limited")
    await cooldowns.cool("openai/a", 5, "server")
    await cooldowns.cool("openai/b", 0.01, "server")
    await cooldowns.cool("openai/c", 0, "bad_request")
    active = await cooldowns.active()
    assert set(active) <= {"openai/a", "openai/b"} and active["openai/a"][1] == "rate_limited"
    assert 29 < active["openai/a"][0] <= 30


def test_cooldowns_read_from_their_hash() -> None:
    assert Cooldowns.parse({"m": "10000|server", "old": "1|x"}, now_ms=4000) == {"m": (6.0, "server")}
