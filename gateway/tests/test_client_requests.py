"""The registry of requests the gateway asked of its clients (an upstream's sampling or elicitation), without a
fleet: an answer finds the waiting request by its id, only the principal it was sent to may answer, the wait
and the number pending are bounded, and an answer that reaches another replica is routed back through Redis
(two registries on one throwaway redis-server). The capabilities a client declared travel in its session id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from sophia.gateway.client_capabilities import MAX_LENGTH, declared, session_id
from sophia.gateway.client_requests import (
    AnswerTooLarge,
    ClientRequests,
    NotAnswered,
    NotWaiting,
    TooManyPending,
    is_answer,
)
from sophia.kit.testing import RedisUnavailable, redis_server


class Client:
    """Stands in for the client's side of the event stream: records each request the gateway writes."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[str] = asyncio.Queue()

    async def send(self, request_id: str) -> None:
        await self.sent.put(request_id)


def response(request_id: Any, **result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


async def test_an_answer_reaches_the_request_with_its_id() -> None:
    registry = ClientRequests(None)
    client = Client()
    first = asyncio.ensure_future(registry.ask("api_key:ann", client.send))
    second = asyncio.ensure_future(registry.ask("api_key:ann", client.send))
    one, two = await client.sent.get(), await client.sent.get()
    assert one != two and one.startswith("sophia-") and len(one) > 20  # minted, not guessable
    await registry.answer("api_key:ann", response(two, action="decline"), 50)
    await registry.answer("api_key:ann", response(one, action="accept"), 50)
    assert (await first)["result"] == {"action": "accept"}
    assert (await second)["result"] == {"action": "decline"}
    with pytest.raises(NotWaiting):  # answered: the id is gone
        await registry.answer("api_key:ann", response(one), 50)


async def test_only_the_principal_asked_may_answer() -> None:
    registry = ClientRequests(None)
    client = Client()
    asking = asyncio.ensure_future(registry.ask("api_key:ann", client.send))
    request_id = await client.sent.get()
    with pytest.raises(NotWaiting):
        await registry.answer("api_key:bob", response(request_id, action="accept"), 50)
    assert not asking.done()  # bob's answer was not taken
    await registry.answer("api_key:ann", response(request_id, action="cancel"), 50)
    assert (await asking)["result"] == {"action": "cancel"}


async def test_unknown_ids_and_oversized_answers_are_refused() -> None:
    registry = ClientRequests(None, answer_max_bytes=1024)
    for bad in ("sophia-nope", 7, None, ["sophia-x"]):
        with pytest.raises(NotWaiting):
            await registry.answer("api_key:ann", response(bad), 50)
    with pytest.raises(AnswerTooLarge):
        await registry.answer("api_key:ann", response("sophia-x"), 1025)


async def test_a_client_that_never_answers_times_out_and_frees_its_slot() -> None:
    registry = ClientRequests(None, per_principal=1, timeout_s=0.05)
    with pytest.raises(NotAnswered, match=r"did not answer within 0\.05 s"):
        await registry.ask("api_key:ann", Client().send)
    client = Client()  # the slot is free again
    asking = asyncio.ensure_future(registry.ask("api_key:ann", client.send))
    await registry.answer("api_key:ann", response(await client.sent.get()), 50)
    assert (await asking)["result"] == {}


async def test_pending_requests_are_bounded_per_principal() -> None:
    registry = ClientRequests(None, per_principal=2)
    client = Client()
    waiting = [asyncio.ensure_future(registry.ask("api_key:ann", client.send)) for _ in range(2)]
    ids = [await client.sent.get() for _ in waiting]
    with pytest.raises(TooManyPending):
        await registry.ask("api_key:ann", client.send)
    other = asyncio.ensure_future(registry.ask("api_key:bob", client.send))  # another principal is not held up
    await registry.answer("api_key:bob", response(await client.sent.get()), 50)
    await other
    for request_id in ids:
        await registry.answer("api_key:ann", response(request_id), 50)
    await asyncio.gather(*waiting)


def test_responses_are_told_from_requests() -> None:
    assert is_answer({"jsonrpc": "2.0", "id": "a", "result": {}})
    assert is_answer({"jsonrpc": "2.0", "id": "a", "error": {"code": -1, "message": "no"}})
    assert not is_answer({"jsonrpc": "2.0", "id": 1, "method": "tools/call"})
    assert not is_answer([{"jsonrpc": "2.0", "id": "a", "result": {}}])


@contextlib.asynccontextmanager
async def replica(url: str) -> AsyncIterator[ClientRequests]:
    """A registry as one gateway replica holds it: its own Redis client, listening for others' answers."""
    store = redis.from_url(url, decode_responses=True)
    registry = ClientRequests(store, timeout_s=5)
    ready = asyncio.Event()
    listening = asyncio.create_task(registry.listen(ready))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield registry
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await store.aclose()


@pytest.fixture
def throwaway_redis() -> Any:
    try:
        with redis_server(use_env=False) as url:
            yield url
    except RedisUnavailable as exc:
        pytest.skip(f"no redis-server: {exc}")


async def test_an_answer_posted_to_another_replica_reaches_the_one_that_asked(throwaway_redis: str) -> None:
    async with replica(throwaway_redis) as asker, replica(throwaway_redis) as other:
        client = Client()
        asking = asyncio.ensure_future(asker.ask("api_key:ann", client.send))
        request_id = await client.sent.get()
        with pytest.raises(NotWaiting):  # the other replica knows whose it is, too
            await other.answer("api_key:bob", response(request_id, action="accept"), 50)
        await other.answer("api_key:ann", response(request_id, action="accept"), 50)
        assert (await asyncio.wait_for(asking, 5))["result"] == {"action": "accept"}
        with pytest.raises(NotWaiting):  # done: forgotten in Redis too
            await other.answer("api_key:ann", response(request_id), 50)


def test_the_session_id_carries_what_the_client_declared() -> None:
    issued = session_id({"sampling": {"tools": {}}, "elicitation": {"form": {}}, "experimental": {"x": {}}})
    assert declared(issued) == {"sampling": {"tools": {}}, "elicitation": {"form": {}}}
    assert session_id({}) != session_id({})  # unique per client
    assert declared(session_id("not an object")) == {}


def test_a_session_id_is_bounded_and_read_as_untrusted() -> None:
    huge = session_id({"sampling": {f"k{i}": {"v": "x" * 50} for i in range(100)}})
    assert len(huge) <= MAX_LENGTH and declared(huge) == {"sampling": {}}
    for foreign in (None, "", "3f2a-uuid", "sophia1.abc.!!!", "sophia1.abc.bm90IGpzb24", "sophia1." + "a" * 2000):
        assert declared(foreign) is None


async def test_without_redis_an_answer_still_reaches_this_replica() -> None:
    """Redis down (nothing listens on the port): the request is still asked and answered here."""
    store = redis.from_url("redis://127.0.0.1:9/0", decode_responses=True, socket_connect_timeout=0.5)
    registry = ClientRequests(store)
    client = Client()
    try:
        asking = asyncio.ensure_future(registry.ask("api_key:ann", client.send))
        await registry.answer("api_key:ann", response(await client.sent.get(), action="accept"), 50)
        assert (await asking)["result"] == {"action": "accept"}
    finally:
        await store.aclose()
