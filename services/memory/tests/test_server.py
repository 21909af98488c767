"""The tools through the MCP SDK client, in memory, against real Redis and Qdrant local mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia.kit import Risk
from sophia.kit.testing import free_port
from sophia.memory import MemorySettings, service
from sophia.memory.server import Memories, Shortterm
from sophia.memory.shortterm import ShortTerm

from .conftest import Tools


def spec(name: str):  # type: ignore[no-untyped-def]
    return next(t for t in service.tools if t.name == name)


def test_destructive_tools_are_declared_so() -> None:
    for name in ("forget", "prune_apply"):
        assert spec(name).destructive and spec(name).risk is Risk.HIGH
    for name in ("recall", "get", "history", "prune", "stats", "recent_turns"):
        assert spec(name).read_only
    assert not spec("remember").idempotent  # each call stores a new memory
    assert spec("remember").produces == ("memory",)


async def test_remember_then_recall_finds_it_first(tools: Tools, namespace: str) -> None:
    await tools.ok("remember", text="The staging database is refreshed every night", namespace=namespace)
    stored = await tools.ok("remember", text="Maria prefers tea over coffee", namespace=namespace, kind="preference")
    found = await tools.ok("recall", query="what does Maria like to drink?", namespace=namespace, k=2)
    assert found["items"][0]["id"] == stored["id"]
    assert found["items"][0]["kind"] == "preference"
    assert found["items"][0]["score"] > found["items"][1]["score"]


async def test_recall_never_returns_other_namespace(tools: Tools, namespace: str) -> None:
    other = f"{namespace}-other"
    await tools.ok("remember", text="Our deploy day is Tuesday", namespace=namespace)
    theirs = await tools.ok("remember", text="Our deploy day is Friday", namespace=other)
    found = await tools.ok("recall", query="Our deploy day is Friday", namespace=namespace, k=10)
    assert {item["namespace"] for item in found["items"]} == {namespace}
    assert [item["text"] for item in found["items"]] == ["Our deploy day is Tuesday"]
    # Reading another namespace's memory by id looks exactly like reading a missing one.
    assert await tools.error("get", id=theirs["id"], namespace=namespace) == (
        f"Error executing tool get: no memory {theirs['id']} in namespace {namespace!r}"
    )
    assert "no memory" in await tools.error("history", id=theirs["id"], namespace=namespace)


async def test_superseding_memory_ranks_above_and_hides_the_old(tools: Tools, namespace: str) -> None:
    old = await tools.ok("remember", text="The office is at 12 Baker Street", namespace=namespace, kind="fact")
    new = await tools.ok(
        "remember", text="The office moved to 5 King Road", namespace=namespace, kind="fact", supersedes=old["id"]
    )
    query = "The office is at 12 Baker Street"  # the old text itself: the old version scores higher
    default = await tools.ok("recall", query=query, namespace=namespace)
    assert [i["id"] for i in default["items"]] == [new["id"]]
    with_history = await tools.ok("recall", query=query, namespace=namespace, include_superseded=True)
    assert [i["id"] for i in with_history["items"]] == [new["id"], old["id"]]
    assert with_history["items"][1]["superseded"] and with_history["items"][1]["superseded_by"] == new["id"]
    versions = await tools.ok("history", id=old["id"], namespace=namespace)
    assert [v["id"] for v in versions["versions"]] == [new["id"], old["id"]]


async def test_superseding_twice_is_refused(tools: Tools, namespace: str) -> None:
    old = await tools.ok("remember", text="v1", namespace=namespace)
    await tools.ok("remember", text="v2", namespace=namespace, supersedes=old["id"])
    message = await tools.error("remember", text="v3", namespace=namespace, supersedes=old["id"])
    assert "already superseded" in message


async def test_cross_namespace_supersedes_is_refused_and_stores_nothing(tools: Tools, namespace: str) -> None:
    other = f"{namespace}-other"
    theirs = await tools.ok("remember", text="Their fact", namespace=other)
    await tools.ok("remember", text="Our fact", namespace=namespace)
    message = await tools.error("remember", text="Hijack", namespace=namespace, supersedes=theirs["id"])
    assert f"no memory {theirs['id']} in namespace {namespace!r}" in message
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 1
    assert not (await tools.ok("get", id=theirs["id"], namespace=other))["superseded"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"text": ""}, "text is empty"),
        ({"text": "   "}, "text is empty"),
        ({"text": "x" * 1_000_000}, "the limit is 16384 bytes"),
        ({"text": "ok", "namespace": "bad namespace"}, "invalid namespace"),
        ({"text": "ok", "kind": "rumour"}, "kind"),
        ({"text": "ok", "tags": ["no spaces please"]}, "invalid tag"),
        ({"text": "ok", "supersedes": "not-a-uuid"}, "invalid memory id"),
        ({"text": "ok", "supersedes": "8c8e5d2a-0f7e-4bb1-9a51-2f1b7a0c1d11"}, "no memory"),
    ],
)
async def test_bad_remember_input_is_refused_and_stores_nothing(
    tools: Tools, namespace: str, arguments: dict[str, object], expected: str
) -> None:
    message = await tools.error("remember", **{"namespace": namespace, **arguments})
    assert expected in message
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 0  # still nothing stored


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"k": 0}, "k must be between 1 and 50"),
        ({"k": 500}, "k must be between 1 and 50"),
        ({"kinds": ["gossip"]}, "kinds"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "needs a time zone"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "is after until"),
        ({"tags": ["bad tag"]}, "invalid tag"),
        ({"query": ""}, "query is empty"),
    ],
)
async def test_invalid_recall_filters_are_refused(
    tools: Tools, namespace: str, arguments: dict[str, object], expected: str
) -> None:
    await tools.ok("remember", text="something", namespace=namespace)
    message = await tools.error("recall", **{"query": "anything", "namespace": namespace, **arguments})
    assert expected in message


async def test_a_never_used_namespace_holds_nothing_yet(tools: Tools, namespace: str) -> None:
    """An empty namespace is not an error: recall and stats say nothing is stored yet."""
    found = await tools.ok("recall", query="x", namespace=namespace)
    assert found["items"] == [] and found["nothing_relevant"]
    assert found["note"] == f"nothing stored yet in namespace {namespace!r}"
    stats = await tools.ok("stats", namespace=namespace)
    assert stats["memories"] == 0 and stats["note"] == f"nothing stored yet in namespace {namespace!r}"
    assert (await tools.ok("prune", namespace=namespace))["candidates"] == []
    missing = "8c8e5d2a-0f7e-4bb1-9a51-2f1b7a0c1d11"
    assert f"no memory {missing}" in await tools.error("get", id=missing, namespace=namespace)
    assert "invalid namespace" in await tools.error("recall", query="x", namespace="bad name")


async def test_an_unrelated_question_gets_nothing_relevant(tools: Tools, namespace: str) -> None:
    await tools.ok("remember", text="The staging database is refreshed every night", namespace=namespace)
    found = await tools.ok("recall", query="What is the capital of Mongolia?", namespace=namespace)
    assert found["items"] == [] and found["nothing_relevant"]
    assert "nothing relevant" in found["note"]
    hit = await tools.ok("recall", query="when is staging refreshed?", namespace=namespace)
    assert not hit["nothing_relevant"] and len(hit["items"]) == 1


async def test_recall_filters_by_kind_tags_and_time(tools: Tools, namespace: str) -> None:
    decision = await tools.ok("remember", text="We use Kafka", namespace=namespace, kind="decision", tags=["infra"])
    await tools.ok("remember", text="Kafka is hard to run", namespace=namespace, kind="note", tags=["ops"])
    by_kind = await tools.ok("recall", query="Kafka", namespace=namespace, kinds=["decision"])
    assert [i["id"] for i in by_kind["items"]] == [decision["id"]]
    by_tag = await tools.ok("recall", query="Kafka", namespace=namespace, tags=["infra", "other"])
    assert [i["id"] for i in by_tag["items"]] == [decision["id"]]
    future = await tools.ok("recall", query="Kafka", namespace=namespace, since="2999-01-01T00:00:00Z")
    assert future["items"] == []


async def test_recall_counts_accesses_without_waiting(tools: Tools, namespace: str) -> None:
    stored = await tools.ok("remember", text="The wifi password rotates quarterly", namespace=namespace)
    await tools.ok("recall", query="wifi password", namespace=namespace)
    await tools.ok("recall", query="wifi password", namespace=namespace)
    shortterm: ShortTerm = service.dependencies.get(Shortterm)
    await shortterm.activity.flush()
    got = await tools.ok("get", id=stored["id"], namespace=namespace)
    assert got["recalls"] == 2 and got["last_recalled_at"]


async def test_forget_deletes_and_restores_the_previous_version(tools: Tools, namespace: str) -> None:
    old = await tools.ok("remember", text="Lunch is at noon", namespace=namespace)
    new = await tools.ok("remember", text="Lunch moved to 13:00", namespace=namespace, supersedes=old["id"])
    forgotten = await tools.ok("forget", id=new["id"], namespace=namespace)
    assert forgotten == {"forgotten": new["id"], "restored": old["id"]}
    found = await tools.ok("recall", query="when is lunch?", namespace=namespace)
    assert [i["id"] for i in found["items"]] == [old["id"]]
    assert not found["items"][0]["superseded"]
    assert "no memory" in await tools.error("forget", id=new["id"], namespace=namespace)


async def test_stats_counts_by_kind(tools: Tools, namespace: str) -> None:
    a = await tools.ok("remember", text="a fact", namespace=namespace, kind="fact")
    await tools.ok("remember", text="a newer fact", namespace=namespace, kind="fact", supersedes=a["id"])
    await tools.ok("remember", text="an event", namespace=namespace, kind="event")
    result = await tools.ok("stats", namespace=namespace)
    assert (result["memories"], result["current"], result["superseded"]) == (3, 2, 1)
    assert result["by_kind"]["fact"] == 1 and result["by_kind"]["event"] == 1


def test_store_dependency_is_shared_by_every_tool() -> None:
    """One Qdrant client and one model per process: every tool names the same factories."""
    assert Memories.factory.__name__ == "open_store"


async def test_without_redis_long_term_memory_works_and_short_term_says_why(tmp_path: Path, namespace: str) -> None:
    """Degrade on purpose: Qdrant answers remember and recall; Redis-backed tools fail clearly."""
    settings = MemorySettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", data_dir=tmp_path)
    await service.start(settings)
    try:
        tools = Tools(service)
        stored = await tools.ok("remember", text="Standups are at 9:15", namespace=namespace)
        found = await tools.ok("recall", query="when is the standup?", namespace=namespace)
        assert [i["id"] for i in found["items"]] == [stored["id"]]
        message = await tools.error("append_turn", session_id="s", text="hi", namespace=namespace)
        assert "short-term memory is unavailable" in message
        assert "recall counters are unavailable" in await tools.error("prune", namespace=namespace)
        assert (await tools.ok("forget", id=stored["id"], namespace=namespace))["forgotten"] == stored["id"]
    finally:
        await service.stop()


async def test_namespace_stats_is_a_resource_too(tools: Tools, namespace: str) -> None:
    """`memory://{namespace}/stats`: what the stats tool says, as JSON a client can attach (kit resources)."""
    import json

    from mcp.client import Client
    from mcp.shared.exceptions import MCPError

    await tools.ok("remember", text="a fact", namespace=namespace, kind="fact")
    async with Client(tools.mcp) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["memory://{namespace}/stats"]
        read = await client.read_resource(f"memory://{namespace}/stats")
        # With auth on the gateway sends the caller's own namespace: another one is refused.
        own = await client.read_resource(f"memory://{namespace}/stats", meta={"sophia/namespace": namespace})
        with pytest.raises(MCPError, match="not the caller's"):
            await client.read_resource(f"memory://{namespace}/stats", meta={"sophia/namespace": "someone-else"})
    stats = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert (stats["namespace"], stats["memories"], stats["by_kind"]["fact"]) == (namespace, 1, 1)
    assert json.loads(own.contents[0].text)["memories"] == 1  # type: ignore[union-attr]


async def test_namespaces_lists_those_holding_memories_or_only_the_one_asked(tools: Tools, namespace: str) -> None:
    """Every namespace with memories and its count of current ones; given a namespace (what a gateway with
    auth on passes: the caller's own), only that one, so no caller learns another team's namespaces."""
    other = f"{namespace}-other"
    first = await tools.ok("remember", text="the deploy freeze starts Friday", namespace=namespace)
    await tools.ok("remember", text="the deploy freeze starts Thursday", namespace=namespace, supersedes=first["id"])
    await tools.ok("remember", text="Acme renewal is due in March", namespace=other)
    listed = {n["name"]: n["memories"] for n in (await tools.ok("namespaces"))["namespaces"]}
    assert listed[namespace] == 1 and listed[other] == 1  # the superseded version is history, not counted
    own = await tools.ok("namespaces", namespace=other)
    assert own == {"namespaces": [{"name": other, "memories": 1}], "more": False}
    empty = await tools.ok("namespaces", namespace=f"{namespace}-never")
    assert empty["namespaces"] == [] and empty["note"] == f"nothing stored yet in namespace '{namespace}-never'"
    assert "invalid namespace" in await tools.error("namespaces", namespace="bad name")
