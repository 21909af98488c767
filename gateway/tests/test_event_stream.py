"""A 2025-11-25 client's call answered as an event stream, without a fleet: the relay asks the client through it
(a request event with a minted id, answered through the registry), refuses what the client did not declare,
passes the client's own error on to the upstream, and turns silence into a timeout error."""

from __future__ import annotations

import asyncio
from typing import Any

import mcp_types as t
import orjson

from sophia.gateway.client_requests import ClientRequests
from sophia.gateway.event_stream import EventStream, StreamPeer
from sophia.gateway.relay import CURRENT_PEER, Relay


class Wire:
    """The ASGI `send` of the client's POST: the events written so far, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        body = message.get("body", b"")
        if body:
            assert body.startswith(b"event: message\ndata: ") and body.endswith(b"\n\n")
            await self.events.put(orjson.loads(body.removeprefix(b"event: message\ndata: ")))


SAMPLING = t.CreateMessageRequestParams(
    messages=[t.SamplingMessage(role="user", content=t.TextContent(type="text", text="2+2?"))], max_tokens=5
)
ELICITATION = t.ElicitRequestFormParams(message="Your name?", requested_schema={"type": "object", "properties": {}})


def streamed(capabilities: dict[str, Any], registry: ClientRequests) -> tuple[Wire, Relay]:
    """A relay with one streamed call in flight from a client that declared `capabilities`."""
    wire = Wire()
    peer = StreamPeer(EventStream(wire.send), "2025-11-25", capabilities, "api_key:ann", registry)
    CURRENT_PEER.set(peer)
    return wire, Relay("ext")


async def test_sampling_is_asked_on_the_stream_and_the_answer_comes_back() -> None:
    registry = ClientRequests(None)
    wire, relay = streamed({"sampling": {}}, registry)
    with relay.forwarding():
        asking = asyncio.ensure_future(relay.on_sampling(None, SAMPLING))  # type: ignore[arg-type]
        request = await wire.events.get()
        assert request["method"] == "sampling/createMessage" and request["id"].startswith("sophia-")
        assert request["params"]["messages"][0]["content"]["text"] == "2+2?"
        answer = {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"}
        await registry.answer("api_key:ann", {"jsonrpc": "2.0", "id": request["id"], "result": answer}, 100)
        result = await asking
    assert isinstance(result, t.CreateMessageResult) and result.content.text == "4"  # type: ignore[union-attr]
    start = wire.sent[0]
    assert start["status"] == 200 and (b"content-type", b"text/event-stream") in start["headers"]


async def test_what_the_client_did_not_declare_is_refused_without_asking() -> None:
    wire, relay = streamed({"sampling": {}}, ClientRequests(None))
    with relay.forwarding():
        refused = await relay.on_elicitation(None, ELICITATION)  # type: ignore[arg-type]
    assert isinstance(refused, t.ErrorData) and "did not declare the elicitation capability" in refused.message
    assert wire.sent == []  # nothing was written to the client


async def test_the_clients_own_error_reaches_the_upstream() -> None:
    registry = ClientRequests(None)
    wire, relay = streamed({"elicitation": {}}, registry)
    with relay.forwarding():
        asking = asyncio.ensure_future(relay.on_elicitation(None, ELICITATION))  # type: ignore[arg-type]
        request = await wire.events.get()
        error = {"code": -32001, "message": "the user closed the dialog" + "!" * 1000}
        await registry.answer("api_key:ann", {"jsonrpc": "2.0", "id": request["id"], "error": error}, 2000)
        result = await asking
    assert isinstance(result, t.ErrorData) and result.code == -32001
    assert result.message.startswith("the user closed the dialog") and len(result.message) == 500  # bounded


async def test_a_client_that_never_answers_gives_the_upstream_a_timeout() -> None:
    _, relay = streamed({"sampling": {}}, ClientRequests(None, timeout_s=0.05))
    with relay.forwarding():
        result = await relay.on_sampling(None, SAMPLING)  # type: ignore[arg-type]
    assert isinstance(result, t.ErrorData) and result.code == t.REQUEST_TIMEOUT
    assert "did not answer within 0.05 s" in result.message


async def test_a_malformed_answer_is_an_error_not_a_crash() -> None:
    registry = ClientRequests(None)
    wire, relay = streamed({"sampling": {}}, registry)
    with relay.forwarding():
        asking = asyncio.ensure_future(relay.on_sampling(None, SAMPLING))  # type: ignore[arg-type]
        request = await wire.events.get()
        await registry.answer("api_key:ann", {"jsonrpc": "2.0", "id": request["id"], "result": {"role": 7}}, 50)
        result = await asking
    assert isinstance(result, t.ErrorData) and result.message == "sampling failed at the client"


async def test_the_stream_ends_once() -> None:
    wire = Wire()
    stream = EventStream(wire.send)
    await stream.event({"jsonrpc": "2.0", "id": 1, "result": {}})
    await stream.close()
    await stream.close()
    await stream.event({"jsonrpc": "2.0", "method": "notifications/message", "params": {}})  # after the end: dropped
    assert [m.get("more_body") for m in wire.sent] == [None, True, False]
