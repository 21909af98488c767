"""List, then watch: the Kubernetes way to follow a set of objects without polling.

One list (`GET /api/v1/namespaces/<ns>/services?labelSelector=...`) gives the Services and a resourceVersion;
a watch from that version (`?watch=true&resourceVersion=...&allowWatchBookmarks=true`) streams one JSON event
per line (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) until the server ends it, and the next watch resumes
from the last version seen. When that version is too old (410 Gone, as an HTTP status or an ERROR event),
the state is re-listed and reconciled: servers gone during the gap are removed, new ones added.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

import aiohttp

from sophia.gateway.discovery.client import ApiClient
from sophia.gateway.discovery.services import LABEL, Discovered, Unusable, from_service

logger = logging.getLogger("sophia.gateway.discovery")

WATCH_TIMEOUT_S = 300  # the API server ends each watch after this; the next one resumes where it stopped
MAX_EVENT_BYTES = 1 << 20  # one Service as JSON is a few KiB; anything near this is not one


class FleetHook(Protocol):
    """What discovery changes in the gateway (`Fleet` implements it)."""

    def discovered(self, server: Discovered) -> None: ...

    async def gone(self, key: str) -> None: ...


class Gone(Exception):
    """The watch's resourceVersion is older than the API server keeps: re-list."""


class KubernetesDiscovery:
    def __init__(self, api: ApiClient, fleet: FleetHook, selector: str = LABEL, retry_max_s: float = 30.0) -> None:
        self.api = api
        self.fleet = fleet
        self.selector = selector
        self.retry_max_s = retry_max_s
        self.known: dict[str, Discovered] = {}
        self.resource_version: str | None = None

    @property
    def url(self) -> str:
        return f"{self.api.server}/api/v1/namespaces/{self.api.namespace}/services"

    async def run(self) -> None:
        delay, expired_again = 0.1, False
        connector = aiohttp.TCPConnector(ssl=self.api.ssl_context if self.api.ssl_context is not None else True)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=WATCH_TIMEOUT_S + 30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            while True:
                try:
                    await self.relist(http)
                    while True:
                        await self.watch(http)
                        delay, expired_again = 0.1, False
                except asyncio.CancelledError:
                    raise
                except Gone:
                    logger.info("watch history expired (410 Gone); listing again")
                    if expired_again:  # a fresh list's version expired at once: do not spin
                        await asyncio.sleep(delay)
                        delay = min(self.retry_max_s, delay * 2)
                    expired_again = True
                    continue
                except Exception as exc:
                    logger.warning("kubernetes discovery failed, retrying in %.1fs: %s", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(self.retry_max_s, delay * 2)

    async def relist(self, http: aiohttp.ClientSession) -> None:
        async with http.get(self.url, params={"labelSelector": self.selector}, headers=self.api.headers()) as resp:
            if resp.status != 200:
                raise RuntimeError(f"listing Services answered {resp.status}")
            body = await resp.json()
        desired: dict[str, Discovered] = {}
        for item in body.get("items") or []:
            item.setdefault("metadata", {}).setdefault("namespace", self.api.namespace)
            server = self._read(item)
            if server is not None:
                desired[server.key] = server
        for key in set(self.known) - set(desired):
            await self._gone(key)
        for server in desired.values():
            await self._upsert(server)
        self.resource_version = str(body["metadata"]["resourceVersion"])

    async def watch(self, http: aiohttp.ClientSession) -> None:
        """One watch request, from the last resourceVersion, until the server ends it."""
        params = {
            "labelSelector": self.selector,
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version or "",
            "timeoutSeconds": str(WATCH_TIMEOUT_S),
        }
        async with http.get(self.url, params=params, headers=self.api.headers()) as resp:
            if resp.status == 410:
                raise Gone
            if resp.status != 200:
                raise RuntimeError(f"watching Services answered {resp.status}")
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                if len(buffer) > MAX_EVENT_BYTES:
                    raise RuntimeError("a watch event over 1 MiB: not a Service")
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        await self._event(json.loads(line))

    async def _event(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone
            raise RuntimeError(f"watch error {obj.get('code')}: {str(obj.get('reason'))[:100]}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED"):
            obj.setdefault("metadata", {}).setdefault("namespace", self.api.namespace)
            server = self._read(obj)
            key = f"{obj['metadata']['namespace']}/{obj['metadata'].get('name')}"
            if server is not None:
                await self._upsert(server)
            elif key in self.known:  # relabelled into something unusable: it no longer serves
                await self._gone(key)
        elif kind == "DELETED":
            meta = obj.get("metadata") or {}
            await self._gone(f"{meta.get('namespace', self.api.namespace)}/{meta.get('name')}")
        if version is not None:
            self.resource_version = str(version)

    def _read(self, service: dict[str, Any]) -> Discovered | None:
        try:
            return from_service(service)
        except Unusable as exc:
            logger.warning("service skipped: %s", exc)
            return None

    async def _upsert(self, server: Discovered) -> None:
        if self.known.get(server.key) == server:
            return
        if server.key in self.known:  # changed (a port, a path): follow the new address
            await self._gone(server.key)
        self.known[server.key] = server
        logger.info("server discovered", extra={"service": server.key})
        self.fleet.discovered(server)

    async def _gone(self, key: str) -> None:
        if self.known.pop(key, None) is not None:
            logger.info("server gone", extra={"service": key})
            with contextlib.suppress(KeyError):
                await self.fleet.gone(key)
