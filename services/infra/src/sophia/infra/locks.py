"""One operation per stack at a time: a Redis lock with an owner token and a TTL, visible to the caller who
finds the stack busy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from sophia.kit import ToolError

PREFIX = "sophia:infra:lock:"
# Delete the key only if it still holds our token: a lock that expired and was taken by another
# operation must never be released by the late first holder.
RELEASE = """
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held)['token'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Extend the TTL while we still hold it: an update may outlast the TTL, which only bounds a dead holder.
RENEW = """
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held)['token'] == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class Holder:
    operation: str
    started: str
    call: str

    def busy(self, stack: str) -> ToolError:
        return ToolError(f"stack {stack} is busy: {self.operation} started at {self.started} by {self.call}")


class StackLocks:
    """Per-stack locks in Redis (shared by replicas) or, without Redis, in this process."""

    def __init__(self, redis: Redis | None, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._local: dict[str, tuple[str, float, str]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, stack: str, operation: str, call: str) -> AsyncIterator[None]:
        """Hold `stack` for `operation`, or raise a ToolError naming who holds it."""
        token = secrets.token_hex(16)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        record = json.dumps({"token": token, "operation": operation, "started": started, "call": call})
        key = PREFIX + stack
        # Released between our SET and GET: one more try, then report whoever holds it now.
        if not await self._acquire(key, token, record) and not await self._acquire(key, token, record):
            holder = await self.holder(stack)
            raise holder.busy(stack) if holder else ToolError(f"stack {stack} is busy with another operation")
        renewer = asyncio.create_task(self._renew(key, token)) if self.redis is not None else None
        try:
            yield
        finally:
            if renewer is not None:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
            await self._release(key, token)

    async def _renew(self, key: str, token: str) -> None:
        assert self.redis is not None
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            with contextlib.suppress(Exception):  # a Redis hiccup: the next round tries again
                await self.redis.eval(RENEW, 1, key, token, self.ttl_s)

    async def holder(self, stack: str) -> Holder | None:
        raw = await self._read(PREFIX + stack)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return Holder(str(data["operation"]), str(data["started"]), str(data["call"]))

    async def _acquire(self, key: str, token: str, record: str) -> bool:
        if self.redis is not None:
            return bool(await self.redis.set(key, record, nx=True, ex=self.ttl_s))
        held = self._local.get(key)
        if held is not None and held[1] > time.monotonic():
            return False
        self._local[key] = (token, time.monotonic() + self.ttl_s, record)
        return True

    async def _read(self, key: str) -> str | None:
        if self.redis is not None:
            value = await self.redis.get(key)
            return None if value is None else (value.decode() if isinstance(value, bytes) else str(value))
        held = self._local.get(key)
        return held[2] if held is not None and held[1] > time.monotonic() else None

    async def _release(self, key: str, token: str) -> None:
        if self.redis is not None:
            await self.redis.eval(RELEASE, 1, key, token)
            return
        if key in self._local and self._local[key][0] == token:
            del self._local[key]
