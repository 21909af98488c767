"""The kit's HTTP protocol sends a small response in one write, and never holds a streamed head back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from sophia.kit.serving import _HeadWithBody, uvicorn_limits
from sophia.kit.testing import free_port


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"extra:{name}"


async def test_a_head_and_its_body_leave_in_one_write_in_order() -> None:
    real = Recorder()
    transport = _HeadWithBody(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert real.writes == []
    transport.write(b"ok")
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    transport.write(b"more")  # not a head: straight through
    assert real.writes[-1] == b"more"
    assert transport.get_extra_info("peername") == "extra:peername"


async def test_a_held_head_goes_out_by_itself_at_the_end_of_the_step_or_before_a_close() -> None:
    real = Recorder()
    transport = _HeadWithBody(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    assert real.writes[-1] == b"HTTP/1.1 400 Bad Request\r\n\r\n" and real.closed


async def streaming_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await asyncio.sleep(0.5)  # the head must not wait for this first event
    await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": False})


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_limits(5, 5, 10))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_a_streamed_response_head_arrives_before_its_first_event() -> None:
    async with serving(streaming_app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.4)
        assert head.startswith(b"HTTP/1.1 200")
        rest = await asyncio.wait_for(reader.readuntil(b"data: one\n\n"), 2)
        assert rest.endswith(b"data: one\n\n")
        writer.close()
