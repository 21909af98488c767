"""HTTP serving that a slow client cannot wear down: read deadlines per request and a connection cap.

uvicorn times out idle keep-alive connections, but not a request that trickles in: every byte cancels
its keep-alive timer, and a connection that sends nothing at all has none. A few hundred such clients
hold every file descriptor and lock normal callers out. So each request must arrive within deadlines:
its headers within `header_timeout_s` of its first byte (or of the connection), its body within
`body_timeout_s` of its headers; a connection that misses one is closed. The process also raises its
open-file limit to the hard limit, and uvicorn's `limit_concurrency` answers 503 beyond the cap.

uvicorn also writes a response's head and its body as two sends: two syscalls, two packets, and a client
that wakes twice. `_HeadWithBody` holds the head until the body's first bytes (or the end of the event-loop
step), so a small response leaves in one send: about a fifth of the gateway's CPU per proxied call was
socket writes.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("sophia.kit.serving")

__all__ = ["DeadlineHttpProtocol", "raise_open_file_limit", "uvicorn_limits"]


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request read deadlines (set the class attributes per server)."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, _HeadWithBody(transport, self.loop)))
        self._read_deadline: asyncio.TimerHandle | None = None
        self._arm(self.header_timeout_s, "headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout_s, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_timeout_s, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(seconds, self._too_slow, part, seconds)

    def _disarm(self) -> None:
        deadline = getattr(self, "_read_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._read_deadline = None

    def _too_slow(self, part: str, seconds: float) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        logger.warning("closed a connection whose request %s took longer than %g s", part, seconds,
                       extra={"peer": client})  # fmt: skip
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app sees http.disconnect instead of waiting for the body
            self.cycle.message_event.set()
        self.transport.close()


class _HeadWithBody:
    """The connection's transport, except that a response head waits for the body that follows it.

    Order is kept: any later write, a close, or the end of the current event-loop step sends the held head
    first. Everything else is the real transport's.
    """

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head + data)
        elif data.startswith(b"HTTP/1.1 "):  # uvicorn writes a head in one piece, and only at a response's start
            self._head = data
            self._loop.call_soon(self._release)  # a streamed response's head must not wait for its first event
        else:
            self._transport.write(data)

    def _release(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self._release()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; return the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            logger.warning("could not raise the open-file limit above %d", soft)
    return soft


def uvicorn_limits(header_timeout_s: float, body_timeout_s: float, max_connections: int) -> dict[str, Any]:
    """uvicorn.Config keyword arguments: the deadline protocol and the connection cap.

    The cap stays below the open-file limit (minus room for upstream connections, Redis and files), so
    the server answers 503 before the process runs out of descriptors."""
    limit = raise_open_file_limit()
    protocol = type(
        "ConfiguredDeadlineHttpProtocol",
        (DeadlineHttpProtocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
    )
    return {"http": protocol, "limit_concurrency": max(16, min(max_connections, limit - 128))}
