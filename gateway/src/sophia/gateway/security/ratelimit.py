"""Rate limits per principal: GCRA in Redis, one atomic script, Redis's clock for every replica.
Expensive tools (asking the whole fleet, LLM calls) draw on a separate, smaller allowance.

A busy principal does not cost a Redis round trip per call: when its recent rate is high, the script
admits a small batch at once (never more than the limit allows right then) and this replica spends the
batch locally for up to `LEASE_S`. The batch is at most a quarter of the burst and of the principal's
calls in the last second, so a principal that stops mid-batch loses at most that much of its
allowance; a principal calling now and then still costs one exact check per call.

Calls of one principal that find the batch spent while this replica is already asking Redis for that
bucket wait for that answer instead of each asking too (at 32 calls in flight, a quarter of all calls
paid their own round trip: measured); the next ask covers those still waiting, so a crowd costs one
or two round trips, never one each.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local room = math.floor((tolerance + interval - (tat - now)) / interval)
if room < 1 then
  return {0, math.ceil(tat + interval - now - tolerance - interval)}
end
local granted = math.min(wanted, room)
local new_tat = tat + interval * granted
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {granted, 0}
"""
# How long a replica may spend calls admitted in a batch, and the largest batch.
LEASE_S = 1.0
MAX_BATCH = 32


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
        self._leases: dict[str, _Lease] = {}

    async def check(self, principal: str, tool: str) -> Verdict:
        expensive = any(fnmatchcase(tool, pattern) for pattern in self._expensive_tools)
        limit = self._expensive if expensive else self._default
        key = f"sophia:ratelimit:{'expensive' if expensive else 'calls'}:{principal}"
        now = time.monotonic()
        lease = self._leases.get(key)
        if lease is None or now >= lease.window_ends:
            if len(self._leases) > MAX_TRACKED:
                self._leases = {k: v for k, v in self._leases.items() if now < v.window_ends}
            lease = self._leases[key] = _Lease(window_ends=now + LEASE_S, recent=lease.calls if lease else 0)
        lease.calls += 1
        while True:
            if lease.admitted > 0:  # spend what Redis admitted in a batch
                lease.admitted -= 1
                return Verdict(True)
            if now < lease.refused_until:  # Redis said when room comes back: nothing frees before then
                return Verdict(False, lease.refused_until - now)
            if lease.asking is None:
                return await self._ask(key, limit, lease, now)
            lease.waiting += 1
            try:  # another call of this principal is asking: share its answer (shielded: ours may be cancelled)
                failure = await asyncio.shield(lease.asking)
            finally:
                lease.waiting -= 1
            if failure is not None:  # Redis could not be asked: the same verdict, not a queue of timeouts
                return self._unavailable(failure)
            now = time.monotonic()

    async def _ask(self, key: str, limit: Limit, lease: _Lease, now: float) -> Verdict:
        """Ask Redis for this call and a batch (at least enough for the calls waiting on this answer)."""
        batch = max(1, min(MAX_BATCH, limit.burst // 4, max(lease.recent, lease.calls) // 4))
        wanted = max(batch, min(MAX_BATCH, lease.waiting + 1))
        tolerance = limit.interval_ms * (limit.burst - 1)
        lease.asking = asking = asyncio.get_running_loop().create_future()
        failure: RedisError | None = None
        try:
            granted, wait_ms = await self._script(keys=[key], args=[limit.interval_ms, tolerance, wanted])
        except RedisError as exc:
            failure = exc
            return self._unavailable(exc)
        finally:
            lease.asking = None
            asking.set_result(failure)  # the waiters look again (and one asks, if nothing was admitted for them)
        if int(granted) < 1:
            wait_s = float(wait_ms) / 1000
            lease.refused_until = now + wait_s
            return Verdict(False, wait_s)
        lease.admitted += int(granted) - 1
        return Verdict(True)

    def _unavailable(self, exc: RedisError) -> Verdict:
        if self._when_down == "open":
            logger.warning("rate limit not checked, Redis is unavailable (failing open): %s", type(exc).__name__)
            return Verdict(True)
        raise RateLimitUnavailable("rate limits cannot be checked (Redis is unavailable)") from exc


# Principals (and buckets) whose batches this replica remembers before forgetting idle ones.
MAX_TRACKED = 10_000


@dataclass
class _Lease:
    """One principal's bucket on this replica for the current window: calls seen and batch left."""

    window_ends: float
    recent: int = 0  # calls in the previous window: how busy the principal is
    calls: int = 0
    admitted: int = 0
    refused_until: float = 0.0
    #: Set while one call asks Redis for this bucket; others wait for its answer.
    asking: asyncio.Future[RedisError | None] | None = None
    waiting: int = 0
