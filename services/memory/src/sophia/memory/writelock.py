"""Updates that read a memory and then rewrite it (supersede, forget, prune_apply) hold a lock per namespace
in Redis, so two replicas behind one Qdrant server cannot both supersede the same memory or forget one
that is being superseded. redis-py's Lock: a key with a token and a time-out, released only by its owner.

Plain inserts (remember without supersedes, bulk writes) take no Redis lock: they change nothing that
another writer reads. Neither does Qdrant's local mode: its directory is locked to one process, so the
process lock (Store.writes) is enough, and the service keeps working while Redis is down.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import LockError

from sophia.kit import ToolError

PREFIX = "sophia:memory:write:"


class WriteLocks:
    def __init__(self, redis: Redis, shared: bool = True, hold_s: float = 30.0, wait_s: float = 10.0) -> None:
        self.redis = redis
        self.shared = shared  # False: one process owns the store (Qdrant local mode)
        self.hold_s = hold_s  # a crashed holder's lock expires after this
        self.wait_s = wait_s

    @contextlib.asynccontextmanager
    async def hold(self, namespace: str) -> AsyncIterator[None]:
        if not self.shared:
            yield
            return
        lock = self.redis.lock(PREFIX + namespace, timeout=self.hold_s, blocking_timeout=self.wait_s)
        if not await lock.acquire():
            raise ToolError(f"namespace {namespace!r} is busy with another update for {self.wait_s:g} s; try again")
        try:
            yield
        finally:
            with contextlib.suppress(LockError):  # expired while held: someone else may hold it now
                await lock.release()
