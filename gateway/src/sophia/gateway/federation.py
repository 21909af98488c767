"""Everything MCP offers besides tools, federated: resources, resource templates, subscriptions, prompts,
completion and the logging level.

Names are namespaced reversibly, like tools: prompt `p` of server `s` is `s_p`; a resource URI `u` of
server `s` is `s+u` (the server's name joins the URI's scheme, `file:///a` becoming `s+file:///a`, which
is still a URI), a template likewise. A server configured with `prefix: never` keeps its own names and
URIs; the gateway remembers which server listed them, and asks each such server in turn for a URI it
has not seen listed. Lists are gathered from every serving server that declared the feature, each one
bounded in time: a slow or broken server leaves its entries out (and is logged), never the whole list.
Pagination is flattened: the gateway answers one page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import mcp_types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from sophia.gateway.catalog import Catalog, ServerState, exposed_name, exposed_uri
from sophia.gateway.errors import GatewayError, UpstreamError, UpstreamRejected, jsonrpc_error
from sophia.gateway.relay import CURRENT_PEER, SdkPeer
from sophia.gateway.security.guard import Guard
from sophia.gateway.upstream import HttpUpstream, SessionUpstream
from sophia.kit import ToolSpec

logger = logging.getLogger("sophia.gateway.federation")

#: How long one server may take to answer a list before its entries are left out.
LIST_TIMEOUT_S = 10.0
Forwarding = HttpUpstream | SessionUpstream
#: Where the gateway tells a kit server whose namespace the caller is (auth on).
NAMESPACE_META = "sophia/namespace"
#: Names and URIs remembered for unprefixed servers; past this the memory starts over (lists refill it).
MAX_OWNERS = 50_000
#: The protocol's "resource not found" (MCP reserves -32002 for it).
RESOURCE_NOT_FOUND = -32002


class Federation:
    """The SDK server's handlers for the non-tool features."""

    def __init__(self, catalog: Catalog, guard: Guard | None = None, timeout_s: float = 60.0) -> None:
        self.catalog = catalog
        self.guard = guard
        self.timeout_s = timeout_s
        #: URI (or template) -> server, for servers that keep their own URIs (`prefix: never`).
        self._owners: dict[str, str] = {}

    # -- naming ---------------------------------------------------------------------------------

    def _own(self, key: str, server: str) -> None:
        if len(self._owners) >= MAX_OWNERS:
            self._owners.clear()
        self._owners[key] = server

    def _resolve_uri(self, uri: str) -> list[tuple[ServerState, str]]:
        """The server(s) that may own an exposed URI, each with the URI as that server knows it."""
        servers = {s.name: s for s in self.catalog.serving_servers()}
        name, plus, rest = uri.partition("+")
        if plus and name in servers and servers[name].prefixed:
            return [(servers[name], rest)]
        owner = self._owners.get(uri)
        if owner in servers:
            return [(servers[owner], uri)]
        return [(s, uri) for s in servers.values() if not s.prefixed]

    def _resolve_name(self, name: str) -> tuple[ServerState, str] | None:
        for state in self.catalog.serving_servers():
            if state.prefixed and name.startswith(f"{state.name}_"):
                return state, name[len(state.name) + 1 :]
        owner = self._owners.get(f"prompt:{name}")
        for state in self.catalog.serving_servers():
            if not state.prefixed and (owner is None or owner == state.name):
                return state, name
        return None

    # -- access ---------------------------------------------------------------------------------
    # The role policy covers these like tools: a server's resources are the action `<server>_resources`
    # (read-only), a prompt is its exposed name. Lists show only what the caller may use; a read or a get
    # is admitted (policy and rate limit, refusals audited). A caller with a namespace of its own (auth on)
    # has it sent to kit servers as `_meta["sophia/namespace"]`, which a namespaced kit resource enforces.

    def _may(self, action: str) -> bool:
        return self.guard is None or self.guard.visible(action, ToolSpec(action, "", read_only=True))

    async def _admit(self, action: str, state: ServerState | None = None) -> dict[str, Any]:
        """The `_meta` the gateway adds for this caller (only ever to a kit server); `MCPError` when the caller
        may not."""
        if self.guard is None:
            return {}
        try:
            principal = await self.guard.admit(action)
        except GatewayError as exc:
            error = jsonrpc_error(exc)
            raise MCPError(error["code"], error["message"], error.get("data")) from None
        if principal.via == "anonymous" or state is None or state.kind != "kit":
            return {}
        return {NAMESPACE_META: principal.namespace}

    # -- forwarding -----------------------------------------------------------------------------

    def _offering(self, feature: str) -> list[tuple[ServerState, Forwarding]]:
        return [
            (s, s.upstream)
            for s in self.catalog.serving_servers()
            if isinstance(s.upstream, Forwarding) and feature in s.upstream.features
        ]

    async def _gather(self, feature: str, method: str, key: str) -> list[tuple[ServerState, dict[str, Any]]]:
        async def one(state: ServerState, upstream: Forwarding) -> list[tuple[ServerState, dict[str, Any]]]:
            items: list[tuple[ServerState, dict[str, Any]]] = []
            params: dict[str, Any] = {}
            for _ in range(20):  # a cursor that never ends must not hang the list
                async with asyncio.timeout(LIST_TIMEOUT_S):
                    result = await upstream.request(method, params)
                items.extend((state, item) for item in result.get(key, []) if isinstance(item, dict))
                cursor = result.get("nextCursor")
                if not isinstance(cursor, str):
                    break
                params = {"cursor": cursor}
            return items

        offering = [
            (s, u) for s, u in self._offering(feature) if feature == "prompts" or self._may(f"{s.name}_resources")
        ]
        answers = await asyncio.gather(*(one(s, u) for s, u in offering), return_exceptions=True)
        gathered: list[tuple[ServerState, dict[str, Any]]] = []
        for (state, _), answer in zip(offering, answers, strict=True):
            if isinstance(answer, BaseException):
                logger.warning("%s of %s left out: %s: %s", method, state.name, type(answer).__name__, answer)
                continue
            gathered.extend(answer)
        return gathered

    async def _forward(self, state: ServerState, method: str, params: dict[str, Any]) -> dict[str, Any]:
        upstream = state.upstream
        if not isinstance(upstream, Forwarding):
            raise MCPError(mcp_types.METHOD_NOT_FOUND, f"{state.name} does not offer {method}")
        try:
            result = await upstream.request(method, params, self.timeout_s)
        except UpstreamRejected as exc:
            raise MCPError(
                int(exc.error.get("code", mcp_types.INTERNAL_ERROR)),
                str(exc.error.get("message", "rejected")),
                exc.error.get("data"),
            ) from None
        except GatewayError as exc:
            error = jsonrpc_error(exc)
            raise MCPError(error["code"], error["message"], error.get("data")) from None
        return without_envelope(result)

    # -- resources ------------------------------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListResourcesResult:
        resources = []
        for state, item in await self._gather("resources", "resources/list", "resources"):
            if not isinstance(item.get("uri"), str):
                continue
            exposed = exposed_uri(state, item["uri"])
            if not state.prefixed:
                self._own(exposed, state.name)
            resources.append(mcp_types.Resource.model_validate({**item, "uri": exposed}))
        return mcp_types.ListResourcesResult(resources=resources)

    async def list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListResourceTemplatesResult:
        templates = []
        for state, item in await self._gather("resources", "resources/templates/list", "resourceTemplates"):
            if isinstance(item.get("uriTemplate"), str):
                exposed = exposed_uri(state, item["uriTemplate"])
                templates.append(mcp_types.ResourceTemplate.model_validate({**item, "uriTemplate": exposed}))
        return mcp_types.ListResourceTemplatesResult(resource_templates=templates)

    async def read_resource(
        self, ctx: ServerRequestContext[Any], params: mcp_types.ReadResourceRequestParams
    ) -> mcp_types.ReadResourceResult:
        candidates = self._resolve_uri(params.uri)
        last: MCPError | None = None
        for state, uri in candidates:
            ours = await self._admit(f"{state.name}_resources", state)
            try:
                result = await self._forward(state, "resources/read", {"uri": uri, **_meta(params, ours)})
            except MCPError as exc:  # an unprefixed server that does not own it: ask the next
                last = exc
                continue
            for content in result.get("contents", []):
                if isinstance(content, dict) and isinstance(content.get("uri"), str):
                    content["uri"] = exposed_uri(state, content["uri"])
            return mcp_types.ReadResourceResult.model_validate(result)
        raise last or MCPError(RESOURCE_NOT_FOUND, f"Resource not found: {params.uri[:200]}")

    async def subscribe(self, ctx: ServerRequestContext[Any], params: mcp_types.SubscribeRequestParams) -> Any:
        return await self._subscription("resources/subscribe", params.uri)

    async def unsubscribe(self, ctx: ServerRequestContext[Any], params: mcp_types.UnsubscribeRequestParams) -> Any:
        return await self._subscription("resources/unsubscribe", params.uri)

    async def _subscription(self, method: str, uri: str) -> mcp_types.EmptyResult:
        for state, upstream_uri in self._resolve_uri(uri):
            if isinstance(state.upstream, Forwarding) and "subscribe" in state.upstream.features:
                await self._admit(f"{state.name}_resources")
                await self._forward(state, method, {"uri": upstream_uri})
                return mcp_types.EmptyResult()
        raise MCPError(mcp_types.METHOD_NOT_FOUND, f"no server offers subscriptions to {uri[:200]}")

    # -- prompts --------------------------------------------------------------------------------

    async def list_prompts(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListPromptsResult:
        prompts = []
        for state, item in await self._gather("prompts", "prompts/list", "prompts"):
            if isinstance(item.get("name"), str):
                exposed = exposed_name(state.name, item["name"], state.prefixed)
                if not self._may(exposed):
                    continue
                if not state.prefixed:
                    self._own(f"prompt:{exposed}", state.name)
                prompts.append(mcp_types.Prompt.model_validate({**item, "name": exposed}))
        return mcp_types.ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, ctx: ServerRequestContext[Any], params: mcp_types.GetPromptRequestParams
    ) -> mcp_types.GetPromptResult:
        found = self._resolve_name(params.name)
        if found is None:
            raise MCPError(mcp_types.INVALID_PARAMS, f"Unknown prompt: {params.name[:200]}")
        state, name = found
        ours = await self._admit(params.name, state)
        token = CURRENT_PEER.set(SdkPeer(ctx))
        try:
            result = await self._forward(
                state, "prompts/get", {"name": name, "arguments": params.arguments or {}, **_meta(params, ours)}
            )
        finally:
            CURRENT_PEER.reset(token)
        return mcp_types.GetPromptResult.model_validate(result)

    # -- completion and logging -----------------------------------------------------------------

    async def complete(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CompleteRequestParams
    ) -> mcp_types.CompleteResult:
        ref = params.ref
        target: tuple[ServerState, str] | None
        if isinstance(ref, mcp_types.PromptReference):
            target = self._resolve_name(ref.name)
        else:
            target = next(iter(self._resolve_uri(ref.uri)), None)
        if target is None:
            return mcp_types.CompleteResult(completion=mcp_types.Completion(values=[]))
        state, upstream_name = target
        await self._admit(ref.name if isinstance(ref, mcp_types.PromptReference) else f"{state.name}_resources")
        dumped = params.model_dump(mode="json", by_alias=True, exclude_none=True)
        dumped["ref"] = {**dumped["ref"], ("name" if "name" in dumped["ref"] else "uri"): upstream_name}
        result = await self._forward(state, "completion/complete", dumped)
        return mcp_types.CompleteResult.model_validate(result)

    async def set_logging_level(
        self, ctx: ServerRequestContext[Any], params: mcp_types.SetLevelRequestParams
    ) -> mcp_types.EmptyResult:
        """Forwarded to every server that logs; one that refuses is logged and skipped."""
        for state, upstream in self._offering("logging"):
            try:
                await upstream.request("logging/setLevel", {"level": params.level}, LIST_TIMEOUT_S)
            except (UpstreamError, TimeoutError) as exc:
                logger.warning("logging/setLevel on %s failed: %s", state.name, exc)
        return mcp_types.EmptyResult()


def without_envelope(result: dict[str, Any]) -> dict[str, Any]:
    """An upstream's result less its protocol envelope (`io.modelcontextprotocol/...` in `_meta`, such as its
    serverInfo): the envelope belongs to the upstream's hop; a client of the gateway hears the gateway's own."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and any(k.startswith("io.modelcontextprotocol/") for k in meta):
        kept = {k: v for k, v in meta.items() if not k.startswith("io.modelcontextprotocol/")}
        result = {**result, "_meta": kept} if kept else {k: v for k, v in result.items() if k != "_meta"}
    return result


def _meta(params: Any, ours: dict[str, Any]) -> dict[str, Any]:
    """The caller's `_meta` for the upstream, less the hop's keys and any of the gateway's own (`sophia/...`,
    which only the gateway sets: `ours`)."""
    meta = getattr(params, "meta", None) or {}
    dumped = meta.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(meta, "model_dump") else meta
    kept = {k: v for k, v in dict(dumped).items() if k != "progressToken" and not k.startswith("sophia/")}
    kept.update(ours)
    return {"_meta": kept} if kept else {}
