"""The console's one live feed: server-sent events carrying each panel whenever it changes.

Bounded on every side: at most `MAX_STREAMS` open feeds per process (more are refused: 503 before the
stream starts, a `bye` event if the limit was reached meanwhile); each is closed after `MAX_LIFETIME_S`
with a `bye` event (the page reconnects, and re-authenticates doing so); a heartbeat comment goes out
when nothing changed for `HEARTBEAT_S` (so proxies and the page see a live connection); panels are
re-read every `POLL_S`, the tool-backed usage figures only every `USAGE_EVERY_S` (they are audited
calls). A panel is sent only when its JSON changed. A client that goes away stops
the loop at its next await (Starlette cancels the generator on disconnect).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sophia.gateway.errors import GatewayError
from sophia.gateway.ui import panels

if TYPE_CHECKING:
    from sophia.gateway.app import Gateway
    from sophia.gateway.security.principals import Principal

MAX_STREAMS = 32
MAX_LIFETIME_S = 600.0
HEARTBEAT_S = 15.0
POLL_S = 1.0
USAGE_EVERY_S = 30.0
RETRY_MS = 2000


class TooManyStreams(GatewayError):
    http_status = 503


class Streams:
    """Counts the open feeds of this process so their number stays bounded."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0

    def full(self) -> bool:
        return self.open >= self.limit

    def refusal(self) -> TooManyStreams:
        return TooManyStreams(f"{self.limit} console feeds are open on this gateway; close one and retry")


def event(name: str, data: Any) -> bytes:
    """One SSE event; `data` as one line of JSON (JSON escapes newlines, so no line can end the event)."""
    return f"event: {name}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n".encode()


async def feed(
    gateway: Gateway,
    principal: Principal,
    streams: Streams,
    *,
    lifetime_s: float = MAX_LIFETIME_S,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
    usage_every_s: float = USAGE_EVERY_S,
) -> AsyncIterator[bytes]:
    """Yield the feed of one caller. It counts itself open only once it runs (a response that never
    started never releases), and a feed that finds the limit reached by then says so and ends."""
    if streams.full():
        yield event("bye", {"reason": str(streams.refusal())})
        return
    streams.open += 1
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        yield event("identity", panels.identity(gateway, principal))
        sent: dict[str, str] = {}
        graph_key: tuple[Any, ...] | None = None
        graph: dict[str, Any] = {}
        started = last_sent = time.monotonic()
        usage_due = started
        while (now := time.monotonic()) - started < lifetime_s:
            # The graph pairs every tool with every other: rebuilt only when the catalog or a status changed.
            key = (gateway.catalog.version, tuple((s.name, s.status) for s in gateway.catalog.servers()))
            if key != graph_key:
                graph_key, graph = key, panels.graph(gateway)
            current = {
                "fleet": panels.fleet(gateway),
                "graph": graph,
                "approvals": await panels.approvals(gateway, principal),
                "calls": await panels.calls(gateway, principal),
            }
            if now >= usage_due:
                current["usage"] = await panels.usage(gateway)
                usage_due = now + usage_every_s
            for name, data in current.items():
                text = json.dumps(data, default=str, separators=(",", ":"))
                if sent.get(name) != text:
                    sent[name] = text
                    yield f"event: {name}\ndata: {text}\n\n".encode()
                    last_sent = time.monotonic()
            if time.monotonic() - last_sent >= heartbeat_s:
                yield b": heartbeat\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(poll_s)
        yield event("bye", {"reason": "this feed reached its lifetime; reconnect for a new one"})
    finally:
        streams.open -= 1
