"""External MCP servers work in both protocol eras, with results that omit `resultType`.

The servers are the MCP Python SDK's own (`MCPServer` over Streamable HTTP on loopback), behind a
middleware that strips `resultType` from every result, as deployed servers that predate the rule do.
The gateway side is the real discovery watch, catalog and SDK-session upstream, in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import UpstreamUnavailable
from sophia.gateway.fleet import ExternalServerWatch, stop_watches
from sophia.gateway.settings import ExternalServer, GatewaySettings
from sophia.kit.testing import serve_asgi

_RESULT_TYPE = re.compile(rb',"resultType":"complete"|"resultType":"complete",?')


class WithoutResultType:
    """Strip `resultType` from every JSON or event-stream body (and fix Content-Length)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stripped = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        buffered: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream"):  # streamed: rewrite chunk by chunk
                    start = None
                    await send(message)
                else:
                    buffered.clear()
                return
            body = message.get("body", b"")
            count = len(_RESULT_TYPE.findall(body))
            self.stripped += count
            body = _RESULT_TYPE.sub(b"", body)
            if start is None:
                await send({**message, "body": body})
                return
            buffered.append(body)
            if not message.get("more_body", False):
                whole = b"".join(buffered)
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(whole)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": whole})

        await self.app(scope, receive, rewrite)


def build_server() -> MCPServer:
    server = MCPServer("eras")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep `seconds`, then answer: a long call."""
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    async def grow(name: str, ctx: Context) -> str:
        """Add a tool named `name` and tell the client its list changed."""

        def added() -> str:
            return name

        ctx.mcp_server.add_tool(added, name=name)
        with contextlib.suppress(Exception):  # 2026-07-28 has no connection-wide notification: checks see it
            await ctx.request_context.session.send_tool_list_changed()
        return "grown"

    return server


@pytest.fixture
async def era_server() -> AsyncIterator[tuple[str, WithoutResultType]]:
    app = WithoutResultType(build_server().streamable_http_app())
    async with serve_asgi(app) as url:
        yield f"{url}/mcp", app


@contextlib.asynccontextmanager
async def watching(*configs: ExternalServer) -> AsyncIterator[Catalog]:
    catalog = Catalog(InMemorySubscriptionBus())
    settings = GatewaySettings(external=list(configs), reconnect_max_s=0.5)
    watches = [ExternalServerWatch(config, catalog, settings) for config in configs]
    tasks = [asyncio.create_task(watch.run()) for watch in watches]
    try:
        yield catalog
    finally:
        await stop_watches(tasks)  # as the gateway stops them: bounded, a stuck one logged with where it is


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def call(catalog: Catalog, name: str, arguments: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    route = catalog.route(name)
    return await route.upstream.call_tool(route.spec.name, arguments, timeout)


@pytest.mark.parametrize(
    ("protocol", "era"), [("auto", "2026-07-28"), ("2026-07-28", "2026-07-28"), ("2025-11-25", "2025-11-25")]
)
async def test_server_without_result_type_works_in_each_era(
    era_server: tuple[str, WithoutResultType], protocol: str, era: str
) -> None:
    url, app = era_server
    async with watching(ExternalServer(name="eras", url=url, protocol=protocol)) as catalog:  # type: ignore[arg-type]
        await until(lambda: catalog.has("eras_slow"))
        result = await call(catalog, "eras_slow", {"seconds": 0})
        assert result["structuredContent"] == {"result": "done"}
        state = catalog.server("eras")
        assert state is not None and state.version == era
    if era == "2026-07-28":
        assert app.stripped > 0  # the server really answered without resultType


async def test_long_call_outlives_one_second_health_checks_in_both_eras(
    era_server: tuple[str, WithoutResultType],
) -> None:
    """An 8-second tool under a 1-second liveness check: the checks (ping before 2026-07-28, tools/list at
    it) succeed, so the session stays up, the call finishes and our clients hear of no change."""
    url, _ = era_server
    configs = [
        ExternalServer(name="modern", url=url, protocol="2026-07-28", health_interval_s=1),
        ExternalServer(name="legacy", url=url, protocol="2025-11-25", health_interval_s=1),
    ]
    async with watching(*configs) as catalog:
        await until(lambda: catalog.has("modern_slow") and catalog.has("legacy_slow"))
        version = catalog.version
        results = await asyncio.gather(
            call(catalog, "modern_slow", {"seconds": 8}, timeout=20),
            call(catalog, "legacy_slow", {"seconds": 8}, timeout=20),
        )
        assert [r["structuredContent"] for r in results] == [{"result": "done"}] * 2
        assert catalog.version == version  # never dropped and re-added
        assert all(s.status == "serving" for s in catalog.servers())


@pytest.mark.parametrize("protocol", ["2025-11-25", "2026-07-28"])
async def test_upstream_list_changed_is_followed(era_server: tuple[str, WithoutResultType], protocol: str) -> None:
    """A tool the server adds shows up in the catalog: at once from `tools/list_changed` before 2026-07-28,
    by the next liveness check's tools/list at 2026-07-28."""
    url, _ = era_server
    config = ExternalServer(name="eras", url=url, protocol=protocol, health_interval_s=0.5)  # type: ignore[arg-type]
    async with watching(config) as catalog:
        await until(lambda: catalog.has("eras_grow"))
        version = catalog.version
        await call(catalog, "eras_grow", {"name": f"added_{protocol[:4]}"})
        await until(lambda: catalog.has(f"eras_added_{protocol[:4]}"), timeout=5)
        assert catalog.version > version  # listeners were told


async def test_failed_call_logs_its_cause_with_the_server_name(caplog: pytest.LogCaptureFixture) -> None:
    """A server that goes away mid-session: the caller gets "server unavailable", the log says which and why."""
    app = WithoutResultType(build_server().streamable_http_app())
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(serve_asgi(app))
        catalog = await stack.enter_async_context(
            watching(ExternalServer(name="gone", url=f"{url}/mcp", health_interval_s=60))
        )
        await until(lambda: catalog.has("gone_slow"))
        route = catalog.route("gone_slow")
        await stack.aclose()  # stops the watch, then the server
    caplog.set_level(logging.WARNING, logger="sophia.gateway.upstream")
    with pytest.raises(UpstreamUnavailable, match="server unavailable"):
        await route.upstream.call_tool("slow", {"seconds": 0}, 5)
    (record,) = [r for r in caplog.records if r.name == "sophia.gateway.upstream"]
    assert "gone" in record.getMessage() and "slow" in record.getMessage()
    assert getattr(record, "server", None) == "gone"


class AlwaysAlive:
    """An upstream whose liveness check answers at once: the watch checks as fast as it is told to."""

    modern = False
    checks = 0

    async def check(self) -> None:
        self.checks += 1
        await asyncio.sleep(0)


async def test_a_stopped_watch_stops_even_when_the_stop_lands_as_a_check_finishes() -> None:
    """The gateway's shutdown (and a removed server) cancels the watch: a cancellation that arrives in the
    same loop turn as a liveness check's answer must still end it (3.11's `asyncio.wait_for` loses it)."""
    config = ExternalServer(name="alive", url="http://127.0.0.1:9/mcp").model_copy(update={"health_interval_s": 0})
    watch = ExternalServerWatch(config, Catalog(InMemorySubscriptionBus()), GatewaySettings(external=[config]))
    upstream = AlwaysAlive()
    for turns in range(60):  # stop after 0..59 loop turns: every phase of check → wait → check
        task = asyncio.create_task(watch._follow(upstream, []))  # type: ignore[arg-type]
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=1)
        assert done, f"the watch outlived its cancellation after {turns} loop turns"
    assert upstream.checks > 0


async def test_a_watch_stuck_in_its_teardown_does_not_hold_up_the_stop(caplog: pytest.LogCaptureFixture) -> None:
    """An upstream client that never finishes closing must not hang the gateway's shutdown: the stop waits
    its grace period, logs the watch and where it stands, and returns."""
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await release.wait()  # a teardown that waits on something that never comes

    polite = asyncio.create_task(asyncio.sleep(3600), name="watch polite")
    stuck = asyncio.create_task(stubborn(), name="watch stuck")
    await asyncio.sleep(0)
    caplog.set_level(logging.WARNING, logger="sophia.gateway.fleet")
    async with asyncio.timeout(5):
        await stop_watches([polite, stuck], grace_s=0.2)
    assert polite.cancelled() and not stuck.done()
    (record,) = caplog.records
    assert "watch stuck did not stop within 0.2s" in record.getMessage() and "stubborn" in record.getMessage()
    release.set()
    await asyncio.gather(stuck, return_exceptions=True)
