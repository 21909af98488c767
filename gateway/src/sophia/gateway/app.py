"""Assemble the gateway: catalog, discovery, the MCP endpoint and the HTTP API in one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Callable

import aiohttp
import redis.asyncio as redis
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.server.transport_security import RequestBodyLimitMiddleware
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.gateway import api, api_ask, ui
from sophia.gateway.approvals import ApprovalStore
from sophia.gateway.ask import Asker
from sophia.gateway.bodies import JsonBodyGuard
from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.client_requests import ClientRequests
from sophia.gateway.decisions import Decisions
from sophia.gateway.errors import GatewayError
from sophia.gateway.executor import Executor
from sophia.gateway.fleet import Fleet
from sophia.gateway.graph import CapabilityGraph, known_services, load_edges
from sophia.gateway.intent.engine import IntentEngine
from sophia.gateway.keepalive import KeepAlivePool
from sophia.gateway.llm import RouterLLM
from sophia.gateway.mcp_endpoint import FederatedMCP
from sophia.gateway.meta_tools import META_TOOLS, MetaTools
from sophia.gateway.metrics import GatewayMetrics
from sophia.gateway.pipeline.approval import declared_risky, probe
from sophia.gateway.pipeline.build import build_pipeline
from sophia.gateway.planner import Planner
from sophia.gateway.security.authn import AuthMiddleware
from sophia.gateway.security.origin import HostOriginGuard
from sophia.gateway.security.setup import build_security
from sophia.gateway.settings import GatewaySettings
from sophia.gateway.toolsearch import ToolIndex
from sophia.kit import Risk, heap
from sophia.kit.breaker import CircuitBreakers
from sophia.kit.observability import TraceContextMiddleware
from sophia.kit.security import InternalCredential

logger = logging.getLogger("sophia.gateway")


class Gateway:
    """Everything one gateway process holds; built once, shared by every request."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        # Read now: a bad token or an unreadable token file stops the gateway before it serves.
        self.credential = InternalCredential.from_settings(settings)
        if not self.credential.enabled:
            logger.warning("internal auth is off: kit servers that require the internal credential will refuse us")
        self.bus = InMemorySubscriptionBus()
        self.catalog = Catalog(self.bus, reserved=META_TOOLS)  # no server may expose `ask` and the like
        self.metrics = GatewayMetrics()
        self.fleet: Fleet | None = None
        # Decoded: approvals and the audit log read text; nothing here stores bytes. A connection that
        # broke while idle (Redis restarted) is retried once on a fresh one, so no request fails for it.
        self.redis = (
            redis.from_url(
                settings.redis_url,
                decode_responses=True,
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
                health_check_interval=30,
                socket_connect_timeout=settings.connect_timeout_s,
                socket_timeout=5,
            )
            if settings.redis_url
            else None
        )
        self.approvals = (
            ApprovalStore(self.redis, settings.approval_ttl_s, settings.approval_retention_s, self._approval_keys())
            if self.redis
            else None
        )
        self.authenticator, self.guard, self.audit = build_security(settings, self.redis)
        # A bad edges file stops the gateway here, with the file and the unknown name in the message.
        edges = load_edges(settings.edges_file, known_services([server.name for server in settings.external]))
        self.graph = CapabilityGraph(self.catalog, edges)
        # The gateway's own tools are routes of the pipeline too; they exist once `meta` is built below.
        local_routes: dict[str, Route] = {}
        self.pipeline = build_pipeline(
            catalog=self.catalog,
            local=local_routes,
            guard=self.guard,
            approvals=self.approvals,
            credential=self.credential,
            approval_risk=Risk(settings.approval_risk),
            breakers=CircuitBreakers(settings.breaker_threshold, settings.breaker_cooldown_s),
            retries=settings.step_retries,
            call_timeout_s=settings.call_timeout_s,
            metrics=self.metrics,
        )
        self.decisions = Decisions(self.pipeline, self.guard, self.approvals)
        self.llm = RouterLLM(self.pipeline, self.catalog, settings.llm, settings.llm_timeout_s)
        self.intents = IntentEngine(self.llm, threads=settings.embedding_threads)
        self.tools = ToolIndex(self.intents)
        approval_risk = Risk(settings.approval_risk)
        self.planner = Planner(
            self.catalog, self.graph, self.tools, lambda route: declared_risky(route, approval_risk), probe
        )
        self.executor = Executor(self.pipeline, settings.step_timeout_s)
        self.asker = Asker(
            self.intents,
            self.planner,
            self.executor,
            self.llm,
            rounds=settings.ask_rounds,
            refinements=settings.ask_refinements,
        )
        self.meta = MetaTools(self.asker, self.tools, self.catalog, self.guard, self.metrics.usage, settings)
        local_routes.update(self.meta.routes())
        self.client_requests = ClientRequests(
            self.redis,
            per_principal=settings.client_requests_per_principal,
            answer_max_bytes=settings.client_answer_max_bytes,
            timeout_s=settings.client_answer_timeout_s,
        )
        self.mcp = FederatedMCP(
            self.catalog,
            self.pipeline,
            self.guard,
            self.meta,
            self.bus,
            settings.allowed_hosts,
            settings.max_body_bytes,
            self.client_requests,
        )
        self.ready = False

    def _approval_keys(self) -> Callable[[], tuple[bytes, ...]]:
        """The keys that seal approval records: the configured secret, else derived from the internal token."""
        if self.settings.approval_secret is not None:
            fixed = (
                hashlib.sha256(
                    b"sophia approvals v1" + self.settings.approval_secret.get_secret_value().encode()
                ).digest(),
            )
            return lambda: fixed
        if self.credential.enabled:
            return lambda: tuple(
                hmac.new(key, b"sophia approvals v1", "sha256").digest() for key in self.credential.signing_keys()
            )
        logger.warning(
            "approval records are sealed with a random per-process key: set SOPHIA_INTERNAL_TOKEN or "
            "SOPHIA_GATEWAY_APPROVAL_SECRET so held calls survive a restart and other replicas can run them"
        )
        ephemeral = (secrets.token_bytes(32),)
        return lambda: ephemeral

    def refresh_gauges(self) -> None:
        counts: dict[str, int] = {"starting": 0, "serving": 0, "down": 0}
        for server in self.catalog.servers():
            counts[server.status] += 1
        for status, count in counts.items():
            self.metrics.servers.labels(status=status).set(count)
        self.metrics.tools.set(len(self.catalog.routes()))

    async def _warm_up(self) -> None:
        await self.intents.warm_up()
        heap.settle()  # the intent model and its library, loaded after startup

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        # One pooled client for every upstream: connections are kept alive and reused across calls.
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        timeout = aiohttp.ClientTimeout(
            total=self.settings.call_timeout_s, sock_connect=self.settings.connect_timeout_s
        )
        # No cookie jar: servers set none, and the jar costs time on every response.
        session = aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar())
        # Kit servers and 2026-07-28 external ones on the lean keep-alive pool; older external ones on aiohttp.
        pool = KeepAlivePool(limit=256, idle_s=60)
        async with session as http, pool, self.mcp.sessions.run():
            self.fleet = Fleet(self.settings, self.catalog, http, self.credential, pool)
            self.fleet.start()
            heap.settle()  # catalogs, schemas, policy: left out of later collections
            warm_up = asyncio.create_task(self._warm_up()) if self.settings.warm_up else None
            answers = asyncio.create_task(self.client_requests.listen())  # clients' answers to other replicas
            self.ready = True
            logger.info("gateway ready", extra={"url": self.settings.url, "servers": len(self.fleet.watches)})
            try:
                yield
            finally:
                self.ready = False
                if warm_up is not None:
                    warm_up.cancel()
                answers.cancel()
                await self.fleet.stop()
                await self.authenticator.aclose()
                if self.audit is not None:
                    await self.audit.aclose()
                if self.redis is not None:
                    await self.redis.aclose()


class _Dispatch:
    """Send /mcp straight to the MCP endpoint (no router in the hot path; it enforces its own body
    limit while reading), the rest to FastAPI behind the shared body limit."""

    def __init__(self, mcp: ASGIApp, api: ASGIApp) -> None:
        self.mcp = mcp
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/mcp", "/mcp/"):
            await self.mcp(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    gateway = Gateway(settings)
    fastapi = FastAPI(
        title="Sophia gateway",
        version="0.1.0",
        summary="One MCP endpoint and HTTP API over the Sophia capability servers.",
        lifespan=gateway.lifespan,
        docs_url=None,  # served by the console package, from local assets (FastAPI's loads a CDN)
        redoc_url=None,
    )
    fastapi.state.gateway = gateway
    fastapi.include_router(api.router)
    fastapi.include_router(api_ask.router)
    ui.install(fastapi)
    fastapi.add_exception_handler(GatewayError, api.gateway_error_handler)
    fastapi.add_exception_handler(RedisError, api.gateway_error_handler)
    fastapi.add_exception_handler(RequestValidationError, api.request_validation_handler)
    routes = _Dispatch(gateway.mcp, RequestBodyLimitMiddleware(JsonBodyGuard(fastapi), settings.max_body_bytes))
    authenticated = AuthMiddleware(
        routes, gateway.authenticator, settings.resource_url or settings.url, settings.authorization_servers
    )
    return HostOriginGuard(TraceContextMiddleware(authenticated), settings.allowed_hosts)
