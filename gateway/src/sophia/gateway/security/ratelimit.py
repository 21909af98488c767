"""Rate limits per principal: GCRA in Redis, one atomic script per check, Redis's clock for every
replica. Expensive tools (asking the whole fleet, LLM calls) draw on a separate, smaller allowance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger("sophia.gateway.ratelimit")

# GCRA: each call pushes the "theoretical arrival time" one interval on; a call that would push it
# further than the burst allows is refused with how long to wait.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > tolerance + interval then
  return {0, math.ceil(new_tat - now - tolerance - interval)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, 0}
"""


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    @property
    def interval_ms(self) -> float:
        return 60_000 / self.per_minute


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0


class RateLimitUnavailable(Exception):
    """Redis could not be asked and the policy is to fail closed."""


class RateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        default: Limit,
        expensive: Limit,
        expensive_tools: list[str],
        when_redis_down: Literal["open", "closed"],
    ) -> None:
        self._redis = client
        self._default = default
        self._expensive = expensive
        self._expensive_tools = expensive_tools
        self._when_down = when_redis_down
        self._script = client.register_script(_GCRA)

    async def check(self, principal: str, tool: str) -> Verdict:
        expensive = any(fnmatchcase(tool, pattern) for pattern in self._expensive_tools)
        limit = self._expensive if expensive else self._default
        key = f"sophia:ratelimit:{'expensive' if expensive else 'calls'}:{principal}"
        tolerance = limit.interval_ms * (limit.burst - 1)
        try:
            allowed, wait_ms = await self._script(keys=[key], args=[limit.interval_ms, tolerance])
        except RedisError as exc:
            if self._when_down == "open":
                logger.warning("rate limit not checked, Redis is unavailable (failing open): %s", type(exc).__name__)
                return Verdict(True)
            raise RateLimitUnavailable("rate limits cannot be checked (Redis is unavailable)") from exc
        return Verdict(bool(allowed), float(wait_ms) / 1000)
