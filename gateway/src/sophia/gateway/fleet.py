"""Discovery: find servers from configuration, learn their tools, follow their health.

Kit servers are found by gRPC address: `Capabilities.Describe` says what they are and where their
MCP endpoint is, and a `grpc.health.v1.Health/Watch` stream says when they stop serving. External
MCP servers (a URL, or a stdio command the gateway supervises) are followed by a liveness check valid
in their protocol era (see `ExternalServerWatch`).
Each server has its own task; one that cannot be reached is retried with capped backoff and never
affects the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import grpc
import mcp_types
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mcp.client import Client
from mcp.client._transport import Transport
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.subscriptions import PromptsListChanged, ResourcesListChanged, ResourceUpdated

from sophia.gateway.catalog import Catalog, Kind, NameCollision, exposed_uri
from sophia.gateway.discovery import ApiClient, Discovered, KubernetesDiscovery
from sophia.gateway.errors import UpstreamError
from sophia.gateway.keepalive import KeepAlivePool
from sophia.gateway.legacy_http import LegacyHttpUpstream
from sophia.gateway.relay import Relay
from sophia.gateway.settings import ExternalServer, GatewaySettings
from sophia.gateway.upstream import AiohttpUpstream, HttpUpstream, RawUpstream, SessionUpstream, TolerantTransport
from sophia.kit import Risk, ToolSpec
from sophia.kit.security import InternalCredential
from sophia.v1 import capabilities_pb2 as pb
from sophia.v1 import capabilities_pb2_grpc as pb_grpc

logger = logging.getLogger("sophia.gateway.fleet")

SERVING = health_pb2.HealthCheckResponse.SERVING
STOP_GRACE_S = 5.0  # how long a stopped watch may take to close its upstream session


class Backoff:
    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.delay = 0.1

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.cap, self.delay * 2)

    def reset(self) -> None:
        self.delay = 0.1


class KitServerWatch:
    """Follow one kit server at a gRPC address for the life of the gateway."""

    def __init__(
        self,
        address: str,
        catalog: Catalog,
        pool: KeepAlivePool,
        settings: GatewaySettings,
        credential: InternalCredential | None = None,
    ) -> None:
        self.address = address
        self.catalog = catalog
        self.pool = pool
        self.settings = settings
        self.credential = credential if credential is not None else InternalCredential()
        self.name = address  # until Describe answers
        self.state = catalog.register(address, "kit", address)

    async def run(self) -> None:
        backoff = Backoff(self.settings.reconnect_max_s)
        async with grpc.aio.insecure_channel(self.address) as channel:
            describe = pb_grpc.CapabilitiesStub(channel).Describe
            watch = health_pb2_grpc.HealthStub(channel).Watch
            while True:
                try:
                    info: pb.DescribeResponse = await describe(
                        pb.DescribeRequest(), timeout=self.settings.connect_timeout_s, metadata=self._metadata()
                    )
                    if info.name != self.name:
                        self.catalog.rename(self.name, info.name)
                        self.name = info.name
                    async for status in watch(health_pb2.HealthCheckRequest(service="")):
                        if status.status == SERVING:
                            await self._serve(info)
                            backoff.reset()
                        else:
                            await self.catalog.down(self.name, "not serving")
                    await self.catalog.down(self.name, "health stream ended")
                except asyncio.CancelledError:
                    raise
                except grpc.aio.AioRpcError as exc:
                    await self.catalog.down(self.name, _rpc_error(exc))
                except Exception as exc:
                    logger.warning("discovery of %s failed", self.address, exc_info=True)
                    await self.catalog.down(self.name, f"{type(exc).__name__}: {exc}")
                await backoff.wait()

    def _metadata(self) -> tuple[tuple[str, str], ...] | None:
        """The internal credential for Describe (Health needs none); read per call, so rotation applies."""
        authorization = self.credential.authorization()
        return (("authorization", authorization),) if authorization else None

    async def _serve(self, info: pb.DescribeResponse) -> None:
        upstream = HttpUpstream(info.name, info.mcp_endpoint, self.pool, self.credential)
        tools = await upstream.list_tools()
        await upstream.discover()
        specs = {t.name: ToolSpec.from_proto(t) for t in info.tools}
        await self.catalog.serving(
            info.name, version=info.version, endpoint=info.mcp_endpoint, upstream=upstream, tools=tools, specs=specs
        )


def _rpc_error(exc: grpc.aio.AioRpcError) -> str:
    """Why a server is down, from a failed gRPC call; says what to check, never what was sent."""
    if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
        return "refused the gateway's internal credential (UNAUTHENTICATED): check SOPHIA_INTERNAL_TOKEN"
    return f"unreachable: {exc.code().name}"


def external_spec(tool: dict[str, Any], default_risk: str) -> ToolSpec:
    """Risk of a tool we did not build, from its MCP annotations."""
    hints = tool.get("annotations") or {}
    read_only = bool(hints.get("readOnlyHint"))
    destructive = bool(hints.get("destructiveHint")) and not read_only
    risk = Risk.LOW if read_only else Risk(default_risk)
    if destructive and risk in (Risk.LOW, Risk.MEDIUM):
        risk = Risk.HIGH
    return ToolSpec(
        name=tool["name"],
        description=tool.get("description") or "",
        risk=risk,
        read_only=read_only,
        destructive=destructive,
        idempotent=bool(hints.get("idempotentHint")) or read_only,
    )


class ExternalServerWatch:
    """Keep one SDK session open to an external server; restart it (and its process) when it breaks.

    The era is the server's (negotiated, or pinned by `protocol`). Liveness is checked in that era's
    terms: `ping` before 2026-07-28, a fresh `tools/list` at 2026-07-28 (which has no ping). A check
    runs beside calls, never instead of them: only `FAILURES_BEFORE_DOWN` failed checks in a row tear
    the session down, so one slow answer never cuts the calls in flight. A `tools/list_changed` from
    the server, or a check that sees a different list, re-lists and updates the catalog (which tells
    our clients).
    """

    FAILURES_BEFORE_DOWN = 3

    def __init__(
        self,
        config: ExternalServer,
        catalog: Catalog,
        settings: GatewaySettings,
        http: aiohttp.ClientSession | None = None,
        pool: KeepAlivePool | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.pool = pool
        self.catalog = catalog
        self.settings = settings
        kind: Kind = "url" if config.url else "stdio"
        self.state = catalog.register(config.name, kind, config.url or " ".join(config.command or []))
        self.state.prefixed = config.prefix == "always"
        self._changed = asyncio.Event()
        self.relay = Relay(config.name)
        self.relay.on_resource_updated = self._resource_updated

    def _target(self) -> Transport:
        if self.config.url:
            return TolerantTransport(streamable_http_client(self.config.url))
        command = self.config.command or []
        return TolerantTransport(
            stdio_client(StdioServerParameters(command=command[0], args=command[1:], env=self.config.env or None))
        )

    def _client(self) -> Client:
        mode = {"auto": "auto", "2025-11-25": "legacy"}.get(self.config.protocol, self.config.protocol)
        return Client(
            self._target(),
            mode=mode,
            read_timeout_seconds=self.settings.call_timeout_s,
            message_handler=self._on_message,
            logging_callback=self.relay.on_log,
            sampling_callback=self.relay.on_sampling,
            elicitation_callback=self.relay.on_elicitation,
            cache=None,  # every list is fresh: the catalog is the gateway's cache
        )

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._changed.set()
        elif isinstance(message, mcp_types.PromptListChangedNotification):
            await self.catalog.announce(PromptsListChanged())
        elif isinstance(message, mcp_types.ResourceListChangedNotification):
            await self.catalog.announce(ResourcesListChanged())
        elif isinstance(message, mcp_types.ResourceUpdatedNotification):
            await self._resource_updated(message.params.uri)

    async def _resource_updated(self, uri: str) -> None:
        await self.catalog.announce(ResourceUpdated(exposed_uri(self.state, uri)))

    async def _direct(self, upstream: SessionUpstream, url: str, http: aiohttp.ClientSession) -> RawUpstream | None:
        """The pooled raw path for calls nobody listens in on: stateless at 2026-07-28; at 2025-11-25 a session
        of its own (without one, every call takes the SDK session)."""
        if upstream.modern:
            full = AiohttpUpstream(self.config.name, url, http)
            # Read whole on the lean pool (a call nobody listens in on gets one answer); aiohttp's client for a
            # server that redirects (see `HttpUpstream`).
            return full if self.pool is None else HttpUpstream(self.config.name, url, self.pool, redirected=full)
        direct = LegacyHttpUpstream(self.config.name, url, http)
        try:
            await direct.open()
        except UpstreamError as exc:
            logger.warning("%s: no pooled path at 2025-11-25 (%s); calls take the SDK session", self.config.name, exc)
            return None
        return direct

    async def run(self) -> None:
        backoff = Backoff(self.settings.reconnect_max_s)
        while True:
            try:
                async with self._client() as client:
                    upstream = SessionUpstream(self.config.name, client, self.relay)
                    if self.config.url and self.http is not None:
                        upstream.direct = await self._direct(upstream, self.config.url, self.http)
                    if self.config.protocol == "2026-07-28":
                        await upstream.learn_capabilities()
                    tools = await upstream.list_tools()
                    await self._publish(upstream, tools)
                    logger.info(
                        "external server %s serving at protocol %s",
                        self.config.name,
                        upstream.protocol_version,
                        extra={"server": self.config.name},
                    )
                    backoff.reset()
                    try:
                        await self._follow(upstream, tools)
                    finally:
                        await upstream.close()
                        if isinstance(upstream.direct, LegacyHttpUpstream):
                            await upstream.direct.close()
            except asyncio.CancelledError:
                raise
            except NameCollision as exc:
                name = self.config.name
                logger.error("external server %s refused: %s", name, exc, extra={"server": name})
                await self.catalog.down(self.config.name, str(exc))
                self.state.status, self.state.error = "down", str(exc)
                return  # a configuration error: retrying cannot fix it
            except Exception as exc:
                cause = _cause(exc)
                logger.warning(
                    "external server %s failed: %s", self.config.name, cause, extra={"server": self.config.name}
                )
                await self.catalog.down(self.config.name, cause)
            await backoff.wait()

    async def _publish(self, upstream: SessionUpstream, tools: list[dict[str, Any]]) -> None:
        specs = {t["name"]: external_spec(t, self.config.risk) for t in tools if isinstance(t.get("name"), str)}
        await self.catalog.serving(
            self.config.name,
            version=upstream.protocol_version,
            endpoint=self.config.url or "stdio",
            upstream=upstream,
            tools=tools,
            specs=specs,
        )

    async def _follow(self, upstream: SessionUpstream, known: list[dict[str, Any]]) -> None:
        """Check liveness every interval and follow list changes, until the server is gone."""
        # `asyncio.timeout`, never `asyncio.wait_for`: on 3.11 a cancellation that lands as the awaited work
        # finishes is lost inside wait_for, and this loop (checking every second) would then outlive its stop.
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.health_interval_s):
                    await self._changed.wait()
            if self._changed.is_set():
                self._changed.clear()
                async with asyncio.timeout(self.settings.connect_timeout_s * 3):
                    known = await upstream.list_tools()
                await self._publish(upstream, known)
                failures = 0
                continue
            try:
                async with asyncio.timeout(self.settings.connect_timeout_s * 3):
                    listed = await upstream.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                logger.warning(
                    "liveness check %d/%d of external server %s failed: %s",
                    failures,
                    self.FAILURES_BEFORE_DOWN,
                    self.config.name,
                    _cause(exc),
                    extra={"server": self.config.name},
                )
                if failures >= self.FAILURES_BEFORE_DOWN:
                    raise
                continue
            failures = 0
            if listed is not None and listed != known:
                known = listed
                await self._publish(upstream, known)


async def stop_watches(tasks: list[asyncio.Task[None]], grace_s: float = STOP_GRACE_S) -> None:
    """Cancel watches and give them `grace_s` to close their sessions. One that is still running then (an
    upstream's client stuck in its own teardown) is logged with where it stands and left behind: the
    gateway's shutdown, or a removed server's, must not wait on a server's good behaviour."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=grace_s)
    for task in stuck:
        where = "; ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in task.get_stack(limit=6))
        logger.warning("%s did not stop within %gs (at %s); left behind", task.get_name(), grace_s, where)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            logger.info("%s ended with %r", task.get_name(), task.exception())


def _cause(exc: BaseException) -> str:
    """What went wrong, down to the innermost exception of a task group, for the log and /v1/servers."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {str(exc)[:300]}" if str(exc) else type(exc).__name__


class Fleet:
    """All watches; started and stopped with the gateway."""

    def __init__(
        self,
        settings: GatewaySettings,
        catalog: Catalog,
        http: aiohttp.ClientSession,
        credential: InternalCredential | None = None,
        pool: KeepAlivePool | None = None,
    ) -> None:
        # Kit servers' connections (the gateway's own pool; if none is given, the fleet's, closed at stop).
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else KeepAlivePool()
        # Only our kit servers get the internal credential; external servers are not ours.
        self.watches: list[KitServerWatch | ExternalServerWatch] = [
            KitServerWatch(address, catalog, self.pool, settings, credential) for address in settings.servers
        ] + [ExternalServerWatch(config, catalog, settings, http, self.pool) for config in settings.external]
        self._tasks: list[asyncio.Task[None]] = []
        self.catalog, self.http, self.settings, self.credential = catalog, http, settings, credential
        self._discovered: dict[str, tuple[KitServerWatch | ExternalServerWatch, asyncio.Task[None]]] = {}

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(w.run(), name=f"watch {w.name if isinstance(w, KitServerWatch) else w.config.name}")
            for w in self.watches
        ]
        if self.settings.kubernetes_discovery:
            api = ApiClient.discover(self.settings.kubernetes_namespace)
            discovery = KubernetesDiscovery(api, self, self.settings.kubernetes_selector, self.settings.reconnect_max_s)
            self._tasks.append(asyncio.create_task(discovery.run(), name="kubernetes discovery"))

    # Kubernetes discovery (discovery/) adds and removes servers while the gateway runs.
    def discovered(self, server: Discovered) -> None:
        watch: KitServerWatch | ExternalServerWatch
        try:
            if server.kit_address is not None:
                watch = KitServerWatch(server.kit_address, self.catalog, self.pool, self.settings, self.credential)
            elif server.external is not None:
                watch = ExternalServerWatch(server.external, self.catalog, self.settings, self.http, self.pool)
            else:
                return
        except ValueError as exc:  # a name another server already has
            logger.warning("discovered server %s skipped: %s", server.key, exc)
            return
        self._discovered[server.key] = (watch, asyncio.create_task(watch.run(), name=f"watch {server.key}"))

    async def gone(self, key: str) -> None:
        watch, task = self._discovered.pop(key)
        await stop_watches([task])
        await self.catalog.remove(watch.name if isinstance(watch, KitServerWatch) else watch.config.name)

    async def stop(self) -> None:
        for key in list(self._discovered):
            await self.gone(key)
        await stop_watches(self._tasks)
        if self._owns_pool:
            await self.pool.aclose()
