"""The process's Redis connection and what lives there: session turns and recall counters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from sophia.memory.activity import Activity
from sophia.memory.session import Sessions
from sophia.memory.settings import MemorySettings
from sophia.memory.writelock import WriteLocks


@dataclass
class ShortTerm:
    redis: Redis
    sessions: Sessions
    activity: Activity
    locks: WriteLocks


async def open_shortterm(settings: MemorySettings) -> AsyncIterator[ShortTerm]:
    """A kit dependency: one connection pool per process, closed at shutdown."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
    sessions = Sessions(redis, settings.session_max_turns, settings.session_ttl_s)
    state = ShortTerm(redis, sessions, Activity(redis), WriteLocks(redis, shared=bool(settings.qdrant_url)))
    try:
        yield state
    finally:
        await state.activity.aclose()
        await redis.aclose()
