"""The federated catalog: which servers exist, their health, and the tools the gateway exposes.

A tool `t` of server `s` is exposed as `s_t` (or as `t`, for an external server configured with
`prefix: never`; a name two servers would expose keeps the second one out). Only tools of servers
that are serving appear; when that set changes, listeners (MCP clients holding a `subscriptions/listen` stream) hear
`tools/list_changed`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema_rs
from mcp.server.subscriptions import ServerEvent, SubscriptionBus, ToolsListChanged

from sophia.gateway.errors import UnknownTool
from sophia.gateway.upstream import Upstream
from sophia.kit import ToolSpec

logger = logging.getLogger("sophia.gateway.catalog")

Status = Literal["starting", "serving", "down"]
Kind = Literal["kit", "url", "stdio"]
#: `local`: the gateway's own tools, answered in process.
RouteKind = Literal["kit", "url", "stdio", "local"]


@dataclass(frozen=True)
class Route:
    """One exposed tool and the server that owns it."""

    name: str
    service: str
    spec: ToolSpec
    definition: dict[str, Any]
    upstream: Upstream
    kind: RouteKind = "kit"

    @property
    def input_schema(self) -> dict[str, Any]:
        schema = self.definition.get("inputSchema")
        return schema if isinstance(schema, dict) else {"type": "object"}


@dataclass
class ServerState:
    name: str
    kind: Kind
    address: str
    status: Status = "starting"
    version: str = ""
    mcp_endpoint: str = ""
    error: str | None = None
    since: float = field(default_factory=time.time)
    routes: dict[str, Route] = field(default_factory=dict)
    #: The routes it had when it last served: a call to one while it is down answers "server down".
    last_routes: dict[str, Route] = field(default_factory=dict)
    #: False for an external server whose names are exposed unprefixed (`prefix: never`).
    prefixed: bool = True
    #: Its connection while it serves (resources, prompts and completion are forwarded on it).
    upstream: Upstream | None = None


def _no_remote_references(uri: str) -> Any:
    raise ValueError(f"remote schema reference refused: {uri[:100]}")


def exposed_name(service: str, tool: str, prefixed: bool = True) -> str:
    return f"{service}_{tool}" if prefixed else tool


def exposed_uri(state: ServerState, uri: str) -> str:
    """A resource URI (or template) as clients see it: `s+file:///a` for `file:///a` of server `s`."""
    return f"{state.name}+{uri}" if state.prefixed else uri


class NameCollision(ValueError):
    """A server would expose a name that another server (or the gateway itself) already exposes."""


class Catalog:
    def __init__(self, bus: SubscriptionBus, reserved: Iterable[str] = ()) -> None:
        self._bus = bus
        #: Names the gateway answers itself (`ask`, ...): no server may expose them.
        self._reserved = frozenset(reserved)
        self._servers: dict[str, ServerState] = {}
        self._routes: dict[str, Route] = {}
        self._listing: list[dict[str, Any]] = []
        self._validators: dict[str, tuple[int, jsonschema_rs.Validator | None]] = {}
        self.version = 0

    # -- reads (hot path: plain dict lookups) --------------------------------------------------

    def route(self, name: str) -> Route:
        try:
            return self._routes[name]
        except KeyError:
            raise UnknownTool(name) from None

    def find(self, name: str) -> Route | None:
        return self._routes.get(name)

    def known_down(self, name: str) -> Route | None:
        """The last-known route of `name` when its server is down now (so a call can say so)."""
        for state in self._servers.values():
            if state.status != "serving" and (route := state.last_routes.get(name)) is not None:
                return route
        return None

    def validator(self, route: Route) -> jsonschema_rs.Validator | None:
        """The JSON Schema validator of a tool's input schema (jsonschema-rs: about 1 µs a call, where the
        pure-Python validator took 15-40 µs on the hot path), built once per catalog version. None for a
        schema that is itself invalid or refers to anything outside itself (the server judges then): a
        server's schema never makes the gateway fetch a URL."""
        cached = self._validators.get(route.name)
        if cached is None or cached[0] != self.version:
            validator: jsonschema_rs.Validator | None
            try:
                validator = jsonschema_rs.validator_for(route.input_schema, retriever=_no_remote_references)
            except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError, TypeError):
                logger.warning("tool %s has an unusable input schema; its server judges its arguments", route.name)
                validator = None
            cached = (self.version, validator)
            self._validators[route.name] = cached
        return cached[1]

    def has(self, name: str) -> bool:
        return name in self._routes

    def routes(self) -> list[Route]:
        return list(self._routes.values())

    def listing(self) -> list[dict[str, Any]]:
        """Tool definitions as MCP clients see them, rebuilt only when the catalog changes."""
        return self._listing

    def input_schema(self, name: str) -> dict[str, Any] | None:
        route = self._routes.get(name)
        return None if route is None else route.input_schema

    def servers(self) -> list[ServerState]:
        return list(self._servers.values())

    def server(self, name: str) -> ServerState | None:
        return self._servers.get(name)

    # -- writes (discovery) -------------------------------------------------------------------

    def register(self, name: str, kind: Kind, address: str) -> ServerState:
        if name in self._servers:
            raise ValueError(f"two servers are named {name!r}: {self._servers[name].address} and {address}")
        state = self._servers[name] = ServerState(name=name, kind=kind, address=address)
        return state

    def rename(self, old: str, new: str) -> ServerState:
        """A kit server is registered under its address until Describe tells its name."""
        if new in self._servers and new != old:
            raise ValueError(f"two servers are named {new!r}")
        state = self._servers.pop(old)
        state.name = new
        self._servers[new] = state
        return state

    async def serving(
        self,
        name: str,
        *,
        version: str,
        endpoint: str,
        upstream: Upstream,
        tools: list[dict[str, Any]],
        specs: dict[str, ToolSpec],
    ) -> None:
        state = self._servers[name]
        routes: dict[str, Route] = {}
        for tool in tools:
            tool_name = tool.get("name")
            if not isinstance(tool_name, str) or not tool_name:
                continue
            exposed = exposed_name(name, tool_name, state.prefixed)
            spec = specs.get(tool_name) or ToolSpec(name=tool_name, description=tool.get("description") or "")
            routes[exposed] = Route(exposed, name, spec, {**tool, "name": exposed}, upstream, state.kind)
        self._refuse_collisions(state, routes)
        state.status, state.version, state.mcp_endpoint, state.error = "serving", version, endpoint, None
        state.since = time.time()
        state.routes = routes
        state.last_routes = routes
        state.upstream = upstream
        logger.info("server serving", extra={"server": name, "tools": len(routes)})
        await self._rebuild()

    async def remove(self, name: str) -> None:
        """A server discovery says is gone for good (its Service was deleted): it and its tools leave."""
        if self._servers.pop(name, None) is not None:
            logger.info("server removed", extra={"server": name})
            await self._rebuild()

    def _refuse_collisions(self, state: ServerState, routes: dict[str, Route]) -> None:
        """Two servers never share an exposed name: the one that comes second is refused, naming both.
        A server that served before keeps its names while it is down, so a restart cannot steal them."""
        for exposed in routes:
            if exposed in self._reserved:
                raise NameCollision(
                    f"server {state.name!r} would expose {exposed!r}, a tool of the gateway itself; "
                    "configure it with `prefix: always`"
                )
            for other in self._servers.values():
                if other is not state and exposed in (other.routes if other.status == "serving" else other.last_routes):
                    raise NameCollision(
                        f"servers {other.name!r} and {state.name!r} both expose {exposed!r}; "
                        f"{state.name!r} is not federated until one of them uses `prefix: always`"
                    )

    async def down(self, name: str, error: str) -> None:
        state = self._servers.get(name)
        if state is None:
            return
        was_serving = state.status == "serving"
        state.status, state.error, state.routes, state.upstream = "down", error, {}, None
        if was_serving:
            state.since = time.time()
            logger.warning("server down", extra={"server": name, "error": error})
            await self._rebuild()

    def serving_servers(self) -> list[ServerState]:
        return [s for s in self._servers.values() if s.status == "serving" and s.upstream is not None]

    async def announce(self, event: ServerEvent) -> None:
        """Tell listening clients that a server's prompts or resources changed (or one resource did)."""
        await self._bus.publish(event)

    async def _rebuild(self) -> None:
        routes = {n: r for s in self._servers.values() if s.status == "serving" for n, r in s.routes.items()}
        changed = routes.keys() != self._routes.keys() or any(
            routes[n].definition != self._routes[n].definition for n in routes
        )
        self._routes = routes
        self._listing = [r.definition for r in routes.values()]
        if changed:
            self.version += 1
            await self._bus.publish(ToolsListChanged())
