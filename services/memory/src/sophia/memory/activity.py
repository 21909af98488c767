"""How often and how well each memory is recalled: Redis counters, written behind recall's back.

Three sorted sets per namespace: hits (times returned by recall), seen (last time returned, Unix
seconds) and best (highest score it was returned with). Pruning reads them. Recall never waits on
them: `Activity.note` appends to an in-memory buffer and a background task writes the buffer in one
pipeline every `FLUSH_INTERVAL_S`, so a burst of recalls costs Redis one round trip. A crash loses
at most that interval of counts; they only steer pruning suggestions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sophia.kit import ToolError

logger = logging.getLogger("sophia.memory")

FLUSH_INTERVAL_S = 0.5
# One script call per namespace and flush: sending hundreds of separate commands would cost the event
# loop milliseconds of encoding and parsing, in the middle of other calls.
RECORD = """
for i = 1, #ARGV, 4 do
  redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[i + 2], ARGV[i])
  redis.call('ZADD', KEYS[3], 'GT', ARGV[i + 3], ARGV[i])
end
return #ARGV / 4
"""


@dataclass(frozen=True)
class Usage:
    hits: int = 0
    last_access: float | None = None
    best_score: float | None = None


@dataclass
class _Pending:
    hits: int = 0
    seen: float = 0.0
    best: float = -1.0


def _keys(namespace: str) -> tuple[str, str, str]:
    prefix = f"sophia:memory:{namespace}"
    return f"{prefix}:hits", f"{prefix}:seen", f"{prefix}:best"


class Activity:
    def __init__(self, redis: Redis, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self._redis = redis
        self._interval = flush_interval_s
        self._pending: defaultdict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._writer: asyncio.Task[None] | None = None
        self._record = redis.register_script(RECORD)

    def note(self, namespace: str, scored: list[tuple[str, float]]) -> None:
        """Count a recall's results; written to Redis shortly after, never on the caller's time."""
        now = time.time()
        for memory_id, score in scored:
            pending = self._pending[namespace, memory_id]
            pending.hits += 1
            pending.seen = now
            pending.best = max(pending.best, score)
        if scored and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write_later())

    async def _write_later(self) -> None:
        await asyncio.sleep(self._interval)
        await self.flush()

    async def flush(self) -> None:
        """Write what is buffered now (also called at shutdown and by tests)."""
        batch, self._pending = self._pending, defaultdict(_Pending)
        by_namespace: defaultdict[str, list[str | int | float]] = defaultdict(list)
        for (namespace, memory_id), pending in batch.items():
            by_namespace[namespace] += [memory_id, pending.hits, pending.seen, pending.best]
        try:
            for namespace, args in by_namespace.items():
                await self._record(keys=list(_keys(namespace)), args=args)
        except RedisError:
            # Counters only guide pruning; a lost update must not fail anything.
            logger.warning("could not record recall activity", exc_info=True)

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.flush()

    async def usage(self, namespace: str, ids: list[str]) -> dict[str, Usage]:
        if not ids:
            return {}
        await self.flush()  # read what this process has counted so far, not only what was written
        hits, seen, best = _keys(namespace)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zmscore(hits, ids)
                pipe.zmscore(seen, ids)
                pipe.zmscore(best, ids)
                counts, last, top = await pipe.execute()
        except RedisError as exc:
            # Never guess: pruning on missing counts would call every memory rarely accessed.
            raise ToolError("recall counters are unavailable: Redis did not answer") from exc
        return {memory_id: Usage(int(h or 0), s, b) for memory_id, h, s, b in zip(ids, counts, last, top, strict=True)}

    async def forget(self, namespace: str, ids: list[str]) -> None:
        if not ids:
            return
        await self.flush()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in _keys(namespace):
                    pipe.zrem(key, *ids)
                await pipe.execute()
        except RedisError:
            # The memories are gone already; counters left for unknown ids are never read.
            logger.warning("could not drop recall counters of deleted memories", exc_info=True)
