"""A lean HTTP/1.1 client for the gateway's hot path: one POST on a kept-alive connection, nothing else.

Every proxied call to a kit server is one small POST and one small JSON answer. aiohttp's client spent
about a fifth of the gateway's Python time per call on that (request and response objects, header
multidicts, payload and writer layers, timer handles: measured with py-spy under `bench proxy`). This
client does only what that exchange needs: the request goes out in one `transport.write`, the answer
is parsed by httptools (llhttp, the parser uvicorn already uses; no hand-written HTTP parsing), and
the connection goes back to an idle list for the next call.

What stays as it was with aiohttp: connections are reused (keep-alive) and capped (`limit` open at
once across every origin, callers beyond it wait), TCP_NODELAY is on (asyncio's default for TCP),
TLS works for https origins, the caller's total timeout covers connecting, sending and reading, and a
POST is never re-sent on its own (a tool call may not be idempotent). Failures are `OSError`s (refused,
reset, closed mid-answer: `Disconnected`) for the caller to type. A header value with CR, LF or NUL is
refused before anything is sent (no header injection through a tool name or a resource URI).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from types import TracebackType
from typing import cast
from urllib.parse import urlsplit

import httptools

#: Largest answer body read (a tool's result travels whole in one JSON body); past it, the call fails.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Connections open at once, over every origin (as the aiohttp connector's `limit` was).
DEFAULT_LIMIT = 256
#: An idle connection older than this is closed rather than reused (servers close theirs sooner).
IDLE_S = 60.0
_FORBIDDEN = frozenset(b"\r\n\x00")


class Disconnected(ConnectionError):
    """The connection closed, or the answer could not be parsed, before the answer was complete."""


class BodyTooLarge(Exception):
    """The answer's body is larger than `MAX_BODY_BYTES`."""


class Answer:
    """One HTTP answer, read whole: status, the headers the caller asks for, body."""

    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


class _Connection(asyncio.Protocol):
    """One kept-alive connection; at most one exchange at a time."""

    def __init__(self, origin: _Origin) -> None:
        self._origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Answer] | None = None
        self._reset()

    def _reset(self) -> None:
        self._content_type = b""
        self._length_known = False
        self._headers_done = False
        self._chunks: list[bytes] = []
        self._size = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing asked: a server that talks out of turn is not reused
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Disconnected(f"unparsable HTTP answer: {exc}"))
        except BodyTooLarge as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._origin.forget(self)
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and not self._length_known:  # an answer delimited by the close itself
                self._complete(keep_alive=False)
            else:
                self._waiter.set_exception(Disconnected("the server closed the connection before answering"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-type":
            self._content_type = value
        elif lowered in (b"content-length", b"transfer-encoding"):
            self._length_known = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY_BYTES:
            raise BodyTooLarge(f"answer larger than {MAX_BODY_BYTES} bytes")
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self._complete(keep_alive=self._parser.should_keep_alive())

    # the exchange
    def _complete(self, keep_alive: bool) -> None:
        waiter, self._waiter = self._waiter, None
        status = self._parser.get_status_code()
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        content_type = self._content_type.decode("latin-1")
        self._reset()
        if not keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(Answer(status, content_type, body))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, request: bytes, deadline: float) -> asyncio.Future[Answer]:
        """Write the request; the answer's future fails with TimeoutError at `deadline` (loop time), and the
        connection closes then. A timer handle, not `asyncio.timeout`: a third of the cost per call (measured)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_at(deadline, self._timed_out, waiter)
        waiter.add_done_callback(lambda _: timer.cancel())
        self.transport.write(request)
        return waiter

    def _timed_out(self, waiter: asyncio.Future[Answer]) -> None:
        if self._waiter is waiter:  # not a later exchange's: this one's answer may have come as the timer fired
            self._fail(TimeoutError())

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Origin:
    """The idle connections to one scheme://host:port."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.idle: deque[_Connection] = deque()

    def forget(self, connection: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self.idle.remove(connection)

    async def connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: _Connection(self),
            self.host,
            self.port,
            ssl=self.tls,
            server_hostname=self.host if self.tls is not None else None,
        )
        return protocol


class KeepAlivePool:
    """Kept-alive connections to every origin the gateway POSTs to; one per process, closed at shutdown."""

    def __init__(self, limit: int = DEFAULT_LIMIT, idle_s: float = IDLE_S) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._idle_s = idle_s
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._tls: ssl.SSLContext | None = None

    def endpoint(self, url: str) -> Endpoint:
        """A URL to POST to, parsed once (an upstream keeps its endpoint for its lifetime)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url[:200]}")
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        key = (parts.scheme, parts.hostname, port)
        origin = self._origins.get(key)
        if origin is None:
            if https and self._tls is None:
                self._tls = ssl.create_default_context()
            origin = self._origins[key] = _Origin(parts.hostname, port, self._tls if https else None)
        default_port = (https and port == 443) or (not https and port == 80)
        host = parts.hostname if default_port else f"{parts.hostname}:{port}"
        if ":" in parts.hostname:  # an IPv6 literal keeps its brackets in the Host header
            host = f"[{parts.hostname}]" if default_port else f"[{parts.hostname}]:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Endpoint(self, origin, f"POST {target} HTTP/1.1\r\nhost: {host}\r\n".encode())

    async def post(self, endpoint: Endpoint, head: bytes, body: bytes, timeout: float) -> Answer:
        """Send one request (its head already built) and read its answer, all within `timeout` seconds
        (waiting for a free slot and connecting included); past it, TimeoutError."""
        deadline = asyncio.get_running_loop().time() + timeout
        if self._slots.locked():  # at the cap: wait for a slot, no longer than the call may take
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        else:
            await self._slots.acquire()
        try:
            connection = self._take(endpoint.origin)
            if connection is None:
                async with asyncio.timeout_at(deadline):
                    connection = await endpoint.origin.connect()
            try:
                answer = await connection.send(head + body, deadline)
            except BaseException:  # cancelled or timed out mid-exchange: the connection's state is unknown
                connection.close()
                raise
            if not connection.closed:
                connection.idle_since = time.monotonic()
                endpoint.origin.idle.append(connection)
            return answer
        finally:
            self._slots.release()

    def _take(self, origin: _Origin) -> _Connection | None:
        now = time.monotonic()
        while origin.idle:
            connection = origin.idle.pop()  # the most recently used: the least likely to have been closed
            if not connection.closed and now - connection.idle_since < self._idle_s:
                return connection
            connection.close()
        return None

    async def aclose(self) -> None:
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().close()

    async def __aenter__(self) -> KeepAlivePool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class Endpoint:
    """A URL of one origin, with its request line and Host header already encoded."""

    __slots__ = ("_pool", "_start", "origin")

    def __init__(self, pool: KeepAlivePool, origin: _Origin, start: bytes) -> None:
        self._pool = pool
        self.origin = origin
        self._start = start

    def head(self, headers: dict[str, str], content_length: int) -> bytes:
        """The request's head: request line, Host, `headers`, Content-Length. CR, LF or NUL in any is refused."""
        text = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        # Each header line adds exactly one CR and one LF; any more (or a NUL) came from a name or value.
        if text.count("\n") != len(headers) or text.count("\r") != len(headers) or "\x00" in text:
            bad = next(name for name, value in headers.items() if not _FORBIDDEN.isdisjoint(f"{name}{value}".encode()))
            raise ValueError(f"header {bad!r} carries a line break or NUL")
        return b"%s%scontent-length: %d\r\n\r\n" % (self._start, text.encode(), content_length)

    async def send(self, head: bytes, body: bytes, timeout: float) -> Answer:
        """POST `body` after `head` (see `head`) and read the answer within `timeout` seconds."""
        return await self._pool.post(self, head, body, timeout)
