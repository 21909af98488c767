"""Which deployments may be called now: a cooldown per deployment (the circuit breaker per provider is
the kit's, `sophia.kit.breaker`).

Cooldowns live in Redis (one hash, `sophia:router:cooldowns`): a 429's Retry-After is about the
account, which every replica shares, so one replica's 429 rests the deployment for all of them.
"""

from __future__ import annotations

import time
from typing import cast

from redis.asyncio import Redis

from sophia.router.keys import COOLDOWNS

# Sets the rest unless a longer one is already in place: one round trip, and no replica shortens another's.
COOL = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(string.match(current, '^[^|]+')) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return 1
"""


class Cooldowns:
    """Deployments resting after a failure: field `<model id>` → `<until epoch ms>|<reason>`."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cool = redis.register_script(COOL)

    async def cool(self, model_id: str, seconds: float, reason: str) -> None:
        if seconds <= 0:
            return
        until = int((time.time() + seconds) * 1000)
        await self._cool(keys=[COOLDOWNS], args=[model_id, until, reason])

    @staticmethod
    def parse(raw: dict[str, str], now_ms: float | None = None) -> dict[str, tuple[float, str]]:
        """Active cooldowns from the hash's contents: model id → (seconds left, reason)."""
        now_ms = time.time() * 1000 if now_ms is None else now_ms
        active = {}
        for model_id, value in raw.items():
            until, _, reason = value.partition("|")
            left = (int(until) - now_ms) / 1000
            if left > 0:
                active[model_id] = (left, reason)
        return active

    async def active(self) -> dict[str, tuple[float, str]]:
        raw = cast(dict[str, str], await self._redis.hgetall(COOLDOWNS))
        active = self.parse(raw)
        if stale := [m for m in raw if m not in active]:
            await self._redis.hdel(COOLDOWNS, *stale)
        return active
