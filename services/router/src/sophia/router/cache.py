"""Semantic cache, opt-in per call: reuse an earlier answer to the same or a near-identical prompt.

Entries are scoped by principal (one team never receives an answer to another team's prompt) and by
*context*: a hash of everything besides the prompt that shapes the answer (system prompt, JSON mode,
requested model, tier, preset, max_tokens). Lookup tries the exact prompt first (one GET); then the
prompt's embedding (the kit's local all-MiniLM-L6-v2, loaded on the first cached call) is compared
with the context's stored vectors, and the closest at or above the threshold is used - if the two
prompts also carry the same literals: numbers, quoted text, code spans, URLs and capitalised names
must match exactly, since "What is 17% of 240?" and "What is 19% of 240?" are near neighbours in
embedding space with different answers. Prompts longer than the model reads (~1,000 characters;
MiniLM truncates at 256 word pieces) use the exact path only: two long prompts could share their
opening and differ where the model no longer looks.

Redis layout under `sophia:router:cache:<principal>:<context>`: `:e:<id>` the entry (JSON, with a
TTL), `:v` a hash of float32 vectors by id, `:i` a sorted set of ids by expiry, used to prune `:v`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis

from sophia.router import keys

SEMANTIC_MAX_CHARS = 1000
_SPACE = re.compile(r"\s+")
_LITERALS = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|`[^`]+`|\"[^\"]+\"|'[^']{2,}'|\d+(?:[.,:/-]\d+)*|(?<![.!?]\s)(?<!^)\b[A-Z][\w-]+"
)

Embed = Callable[[str], Awaitable[npt.NDArray[np.float32]]]


@dataclass(frozen=True)
class Hit:
    entry: dict[str, Any]
    similarity: float
    exact: bool


def context_key(**shape: Any) -> str:
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:16]


def normalise(prompt: str) -> str:
    return _SPACE.sub(" ", prompt).strip()


def literals(prompt: str) -> frozenset[str]:
    return frozenset(m.group(0).rstrip(".,;:!?") for m in _LITERALS.finditer(prompt.strip()))


class Cache:
    def __init__(self, redis: Redis, embed: Embed, threshold: float, ttl_s: int, max_entries: int) -> None:
        self._redis = redis
        self._embed = embed
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.max_entries = max_entries

    async def lookup(
        self, principal: str, context: str, prompt: str
    ) -> tuple[Hit | None, npt.NDArray[np.float32] | None]:
        """The best usable entry, and the prompt's vector (for `store`) when one was computed."""
        text = normalise(prompt)
        base = keys.cache(principal, context)
        entry_id = _id(text)
        raw = await self._redis.get(f"{base}:e:{entry_id}")
        if raw is not None:
            return Hit(json.loads(raw), 1.0, True), None
        if len(text) > SEMANTIC_MAX_CHARS:
            return None, None
        vector = await self._embed(text)
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(f"{base}:i", now_ms, "+inf")
            pipe.hgetall(f"{base}:v")
            live, stored = cast(tuple[list[bytes], dict[bytes, bytes]], await pipe.execute())
        pairs = [(i, np.frombuffer(stored[i], dtype=np.float32)) for i in live if i in stored]
        pairs = [(i, v) for i, v in pairs if v.shape == vector.shape]
        if not pairs:
            return None, vector
        similarity = np.stack([v for _, v in pairs]) @ vector
        best = [int(i) for i in np.argsort(-similarity)[:5] if similarity[i] >= self.threshold]
        if not best:
            return None, vector
        entries = await self._redis.mget([f"{base}:e:{pairs[i][0].decode()}" for i in best])
        wanted = literals(text)
        for index, raw in zip(best, entries, strict=True):
            if raw is None:
                continue
            entry = json.loads(raw)
            if literals(entry["prompt"]) == wanted:
                return Hit(entry, round(float(similarity[index]), 4), False), vector
        return None, vector

    async def store(
        self, principal: str, context: str, prompt: str, entry: dict[str, Any], vector: npt.NDArray[np.float32] | None
    ) -> None:
        text = normalise(prompt)
        base = keys.cache(principal, context)
        entry_id = _id(text)
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(
                f"{base}:e:{entry_id}", json.dumps({**entry, "prompt": text, "stored_at": time.time()}), ex=self.ttl_s
            )
            if vector is not None:
                pipe.hset(f"{base}:v", entry_id, vector.astype(np.float32).tobytes())
                pipe.zadd(f"{base}:i", {entry_id: now_ms + self.ttl_s * 1000})
                pipe.zrangebyscore(f"{base}:i", "-inf", now_ms)
                pipe.zcard(f"{base}:i")
                pipe.expire(f"{base}:v", self.ttl_s)
                pipe.expire(f"{base}:i", self.ttl_s)
            results = await pipe.execute()
        if vector is None:
            return
        expired, count = results[3], results[4]
        overflow = max(0, count - len(expired) - self.max_entries)
        if expired or overflow:
            await self._prune(base, expired, overflow)

    async def _prune(self, base: str, expired: list[Any], overflow: int) -> None:
        evicted = list(expired)
        if expired:
            await self._redis.zrem(f"{base}:i", *expired)
        if overflow:
            # The soonest to expire are the oldest.
            popped = cast(list[tuple[bytes, float]], await self._redis.zpopmin(f"{base}:i", overflow))
            evicted += [member for member, _ in popped]
        if evicted:
            await self._redis.hdel(f"{base}:v", *evicted)


def _id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class LazyEmbedder:
    """The kit's local sentence model behind the kit's `Batcher` (concurrent calls share model runs),
    loaded in a thread on first use: a router that never caches never pays for it."""

    def __init__(self, threads: int, batch_size: int = 32) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._batcher: Any = None
        self._lock = asyncio.Lock()

    async def load(self) -> Any:
        if self._batcher is None:
            async with self._lock:
                if self._batcher is None:
                    from sophia.kit.embeddings import Batcher, local_model

                    model = await asyncio.to_thread(local_model, self._threads)
                    self._batcher = Batcher(model, self._batch_size)
        return self._batcher

    async def __call__(self, text: str) -> npt.NDArray[np.float32]:
        return (await self.many([text]))[0]

    async def many(self, texts: list[str]) -> npt.NDArray[np.float32]:
        batcher = await self.load()
        return np.asarray(await batcher.embed(texts), dtype=np.float32)
