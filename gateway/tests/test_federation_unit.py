"""Federation of resources and prompts without a fleet: names and URIs namespaced reversibly, lists filtered
by the role policy, reads admitted by it, and the caller's namespace sent to kit servers only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp_types import GetPromptRequestParams, ReadResourceRequestParams

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import UpstreamRejected
from sophia.gateway.federation import Federation
from sophia.gateway.keepalive import KeepAlivePool
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal, current
from sophia.gateway.upstream import MAX_SUBSCRIPTIONS, HttpUpstream, SessionUpstream


class Recorder(HttpUpstream):
    """An upstream that answers from a table and records what it was asked (no network)."""

    def __init__(self, service: str) -> None:
        super().__init__(service, "http://unused/mcp", KeepAlivePool(), features=frozenset({"resources", "prompts"}))
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        self.asked.append((method, params))
        if method == "resources/list":
            return {"resources": [{"uri": "notes://a", "name": "a"}]}
        if method == "resources/templates/list":
            return {"resourceTemplates": [{"uriTemplate": "notes://{key}", "name": "note"}]}
        if method == "resources/read":
            return {"contents": [{"uri": params["uri"], "text": "A"}]}
        if method == "prompts/list":
            return {"prompts": [{"name": "summarize"}]}
        if method == "prompts/get":
            return {"messages": [{"role": "user", "content": {"type": "text", "text": params["name"]}}]}
        raise AssertionError(method)


async def federation(kind: str = "kit", prefixed: bool = True) -> tuple[Federation, Recorder, Catalog]:
    catalog = Catalog(InMemorySubscriptionBus())
    state = catalog.register("mem", kind, "addr")  # type: ignore[arg-type]
    state.prefixed = prefixed
    upstream = Recorder("mem")
    await catalog.serving("mem", version="", endpoint="", upstream=upstream, tools=[], specs={})
    guard = Guard(Policy.load(None), anonymous=None)
    return Federation(catalog, guard), upstream, catalog


def as_principal(*roles: str) -> Any:
    return current.set(Principal(name="pat", roles=roles, namespace="team", via="api_key"))


async def test_uris_and_prompt_names_are_namespaced_and_reversed() -> None:
    fed, upstream, _ = await federation()
    token = as_principal("developer")
    try:
        assert [r.uri for r in (await fed.list_resources(None, None)).resources] == ["mem+notes://a"]  # type: ignore[arg-type]
        templates = (await fed.list_resource_templates(None, None)).resource_templates  # type: ignore[arg-type]
        assert [t.uri_template for t in templates] == ["mem+notes://{key}"]
        read = await fed.read_resource(None, ReadResourceRequestParams(uri="mem+notes://b"))  # type: ignore[arg-type]
        assert read.contents[0].uri == "mem+notes://b"
        assert upstream.asked[-1] == ("resources/read", {"uri": "notes://b", "_meta": {"sophia/namespace": "team"}})
        assert [p.name for p in (await fed.list_prompts(None, None)).prompts] == ["mem_summarize"]  # type: ignore[arg-type]
        got = await fed.get_prompt(None, GetPromptRequestParams(name="mem_summarize"))  # type: ignore[arg-type]
        assert got.messages[0].content.text == "summarize"  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="Unknown prompt"):
            await fed.get_prompt(None, GetPromptRequestParams(name="other_summarize"))  # type: ignore[arg-type]
        with pytest.raises(MCPError):
            await fed.read_resource(None, ReadResourceRequestParams(uri="nobody+notes://b"))  # type: ignore[arg-type]
    finally:
        current.reset(token)


async def test_a_caller_sees_and_reads_only_what_the_policy_allows() -> None:
    fed, upstream, _ = await federation()
    token = as_principal("analyst")  # memory_* only: `mem` is not memory
    try:
        assert (await fed.list_resources(None, None)).resources == []  # type: ignore[arg-type]
        assert (await fed.list_prompts(None, None)).prompts == []  # type: ignore[arg-type]
        with pytest.raises(MCPError):
            await fed.read_resource(None, ReadResourceRequestParams(uri="mem+notes://a"))  # type: ignore[arg-type]
        assert "resources/read" not in [method for method, _ in upstream.asked]  # refused before it was sent
    finally:
        current.reset(token)


async def test_an_external_server_never_gets_the_callers_namespace_or_gateway_keys() -> None:
    fed, upstream, _ = await federation(kind="url", prefixed=False)
    token = as_principal("developer")
    try:
        meta = {"sophia/namespace": "forged", "example.com/x": 1}
        params = ReadResourceRequestParams.model_validate({"uri": "notes://a", "_meta": meta})
        await fed.read_resource(None, params)  # type: ignore[arg-type]
        assert upstream.asked[-1] == ("resources/read", {"uri": "notes://a", "_meta": {"example.com/x": 1}})
    finally:
        current.reset(token)


class Listening:
    """An SDK client's surface for 2026-07-28 subscriptions (no network): each listen stream stays open."""

    protocol_version = "2026-07-28"

    def __init__(self) -> None:
        self.open = 0

    @contextlib.asynccontextmanager
    async def listen(self, resource_subscriptions: list[str]) -> AsyncIterator[AsyncIterator[Any]]:
        self.open += 1

        async def events() -> AsyncIterator[Any]:
            await asyncio.Event().wait()
            yield None  # pragma: no cover - never reached

        try:
            yield events()
        finally:
            self.open -= 1


async def test_subscriptions_an_attacker_piles_up_are_capped_and_a_bad_request_is_refused() -> None:
    client = Listening()
    upstream = SessionUpstream("notes", client)  # type: ignore[arg-type]
    try:
        for n in range(MAX_SUBSCRIPTIONS):
            await upstream.request("resources/subscribe", {"uri": f"notes://{n}"})
        await upstream.request("resources/subscribe", {"uri": "notes://0"})  # the same one again: no new stream
        with pytest.raises(UpstreamRejected) as refused:
            await upstream.request("resources/subscribe", {"uri": "notes://one-too-many"})
        assert f"at most {MAX_SUBSCRIPTIONS}" in str(refused.value.error)
        assert client.open == MAX_SUBSCRIPTIONS
        await upstream.request("resources/unsubscribe", {"uri": "notes://0"})
        await upstream.request("resources/subscribe", {"uri": "notes://another"})  # room again after one left
        with pytest.raises(UpstreamRejected, match="needs a uri"):
            await upstream.request("resources/read", {"uri": 7})
        with pytest.raises(UpstreamRejected, match="needs a name"):
            await upstream.request("prompts/get", {})
    finally:
        await upstream.close()
    assert client.open == 0
