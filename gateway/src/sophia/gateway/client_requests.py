"""Requests the gateway sent to its clients (an upstream's sampling or elicitation, relayed), waiting for answers.

`/mcp` is stateless: a 2025-11-25 client answers a server-to-client request with a separate POST that carries
a JSON-RPC *response*, and that POST may reach any replica. Each request gets an id no client could guess; the
replica that asked waits on it here, and the answer is routed to it by that id: in this process directly, else
through Redis (a key names the principal a pending id belongs to; the answer is published on one channel that
every replica listens to). Only the principal the request was sent to may answer it: another gets the same
refusal as for an id that does not exist, so ids cannot be probed. Everything is bounded: requests pending per
principal, the size of an answer, and the wait (past it, the upstream gets a clear error).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger("sophia.gateway.client_requests")

#: Every replica listens here for answers that reached another replica.
CHANNEL = "sophia:mcp:client-answers"
_KEY = "sophia:mcp:client-request:"
#: Ids the gateway mints start with this, so an answer to one is told apart from anything else a client posts.
ID_PREFIX = "sophia-"


class ClientRequestError(Exception):
    """A request to a client that could not be made or was not answered; the message says why, for the upstream."""


class TooManyPending(ClientRequestError):
    pass


class NotAnswered(ClientRequestError):
    pass


class NotWaiting(Exception):
    """No request with this id waits for this caller's answer (or it is not theirs to answer)."""


class AnswerTooLarge(Exception):
    pass


@dataclass(slots=True)
class _Pending:
    owner: str  # digest of the principal the request was sent to
    answer: asyncio.Future[dict[str, Any]]


def is_answer(message: Any) -> bool:
    """Whether a posted JSON-RPC message is a response (to a request the server sent) rather than a request."""
    return isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message)


class ClientRequests:
    """The registry of server-to-client requests in flight, local first, across replicas through Redis."""

    def __init__(
        self,
        store: redis.Redis | None,
        *,
        per_principal: int = 16,
        answer_max_bytes: int = 1024 * 1024,
        timeout_s: float = 120.0,
    ) -> None:
        self._store = store
        self.per_principal = per_principal
        self.answer_max_bytes = answer_max_bytes
        self.timeout_s = timeout_s
        self._pending: dict[str, _Pending] = {}
        self._counts: Counter[str] = Counter()

    async def ask(self, principal: str, send: Callable[[str], Awaitable[None]]) -> dict[str, Any]:
        """Mint an id, let `send` write the request with it, and return the client's JSON-RPC response (its
        `result` or `error` member). `TooManyPending` when this principal already waits on too many answers,
        `NotAnswered` when none came in time."""
        owner = _digest(principal)
        if self._counts[owner] >= self.per_principal:
            raise TooManyPending(f"the client already has {self.per_principal} requests of the gateway to answer")
        request_id = ID_PREFIX + secrets.token_urlsafe(18)
        pending = _Pending(owner, asyncio.get_running_loop().create_future())
        self._pending[request_id] = pending
        self._counts[owner] += 1
        try:
            if self._store is not None:  # before the request goes out: its answer may reach another replica first
                try:
                    await self._store.set(_KEY + request_id, owner, ex=math.ceil(self.timeout_s) + 5)
                except RedisError as exc:  # the answer can still come back here; only another replica misses it
                    logger.warning("client request not shared with other replicas (Redis: %s)", type(exc).__name__)
            await send(request_id)
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await pending.answer
            except TimeoutError:
                raise NotAnswered(f"the client did not answer within {self.timeout_s:g} s") from None
        finally:
            del self._pending[request_id]
            self._counts[owner] -= 1
            if not self._counts[owner]:
                del self._counts[owner]
            if self._store is not None:
                with contextlib.suppress(RedisError):  # the key expires on its own
                    await self._store.delete(_KEY + request_id)

    async def answer(self, principal: str, message: dict[str, Any], size: int) -> None:
        """Route a client's response to the request waiting for it, here or on another replica. `NotWaiting` when
        no request with its id waits for this principal, `AnswerTooLarge` past the bound."""
        if size > self.answer_max_bytes:
            raise AnswerTooLarge(f"an answer may be at most {self.answer_max_bytes} bytes")
        request_id = message.get("id")
        if not isinstance(request_id, str) or not request_id.startswith(ID_PREFIX):
            raise NotWaiting
        owner = _digest(principal)
        if self._deliver(request_id, owner, message):
            return
        if self._store is None or request_id in self._pending:  # here, but another principal's
            raise NotWaiting
        waiting_owner = await self._store.get(_KEY + request_id)
        if not isinstance(waiting_owner, str) or not hmac.compare_digest(waiting_owner, owner):
            raise NotWaiting
        await self._store.publish(CHANNEL, orjson.dumps({"owner": owner, "message": message}))

    def _deliver(self, request_id: str, owner: str, message: dict[str, Any]) -> bool:
        pending = self._pending.get(request_id)
        if pending is None or not hmac.compare_digest(pending.owner, owner):
            return False
        if not pending.answer.done():  # a second answer to the same request is dropped
            pending.answer.set_result(message)
        return True

    async def listen(self, ready: asyncio.Event | None = None) -> None:
        """Deliver answers that other replicas received, for as long as the gateway runs (reconnecting after a
        Redis failure). `ready` is set once subscribed."""
        if self._store is None:
            return
        delay = 0.5
        while True:
            try:
                async with self._store.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if ready is not None:
                        ready.set()
                    delay = 0.5
                    async for item in pubsub.listen():
                        self._received(item.get("data"))
            except (RedisError, OSError) as exc:
                logger.warning("client answers from other replicas paused (Redis: %s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _received(self, data: Any) -> None:
        try:
            published = orjson.loads(data)
            message = published["message"]
            self._deliver(message["id"], published["owner"], message)
        except (orjson.JSONDecodeError, TypeError, KeyError):
            logger.warning("a malformed client answer on %s was dropped", CHANNEL)


def _digest(principal: str) -> str:
    """What Redis holds of a principal: not its name."""
    return hashlib.sha256(principal.encode()).hexdigest()
