"""Short-term memory: the recent turns of a conversation, a capped Redis list with a TTL.

One list per (namespace, session); each append trims it to the cap and renews its expiry in the
same transaction, so the list never holds more than the cap and an idle conversation disappears.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sophia.kit import ToolError

Role = Literal["user", "assistant", "system", "tool"]
UNAVAILABLE = "short-term memory is unavailable: Redis did not answer (long-term memory still works)"
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def check_session_id(session_id: str) -> str:
    if not SESSION_ID.match(session_id):
        raise ToolError(f"invalid session id {session_id[:80]!r}: use 1-128 letters, digits or . _ : -")
    return session_id


class Sessions:
    def __init__(self, redis: Redis, max_turns: int, ttl_s: int) -> None:
        self._redis = redis
        self.max_turns = max_turns
        self.ttl_s = ttl_s

    @staticmethod
    def key(namespace: str, session_id: str) -> str:
        return f"sophia:memory:{namespace}:session:{session_id}"

    async def append(self, namespace: str, session_id: str, role: Role, text: str) -> int:
        """Add one turn; return how many turns the conversation now keeps."""
        key = self.key(namespace, session_id)
        turn = json.dumps({"role": role, "text": text, "at": time.time()})
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, turn)
                pipe.ltrim(key, -self.max_turns, -1)
                pipe.expire(key, self.ttl_s)
                pipe.llen(key)
                *_, length = await pipe.execute()
        except RedisError as exc:
            raise ToolError(UNAVAILABLE) from exc
        return int(length)

    async def recent(self, namespace: str, session_id: str, n: int) -> list[dict[str, Any]]:
        """The last `n` turns, oldest first."""
        try:
            raw = await self._redis.lrange(self.key(namespace, session_id), -n, -1)
        except RedisError as exc:
            raise ToolError(UNAVAILABLE) from exc
        return [json.loads(item) for item in raw]
