"""Federation of resources and prompts without a fleet: names and URIs namespaced reversibly, lists filtered
by the role policy, reads admitted by it, and the caller's namespace sent to kit servers only."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp_types import GetPromptRequestParams, ReadResourceRequestParams

from sophia.gateway.catalog import Catalog
from sophia.gateway.federation import Federation
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal, current
from sophia.gateway.upstream import HttpUpstream


class Recorder(HttpUpstream):
    """An upstream that answers from a table and records what it was asked (no network)."""

    def __init__(self, service: str) -> None:
        super().__init__(service, "http://unused/mcp", None, features=frozenset({"resources", "prompts"}))  # type: ignore[arg-type]
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
