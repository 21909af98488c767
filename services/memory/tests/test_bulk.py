"""Bulk writes through the MCP client: remember_many and import_conversation, per-item results, the
all-or-nothing option, progress, and what recall then finds (real Redis, Qdrant local mode)."""

from __future__ import annotations

from mcp.client import Client

from sophia.memory import service

from .conftest import Tools


async def test_remember_many_stores_the_valid_items_and_says_why_not_for_the_rest(tools: Tools, namespace: str) -> None:
    items = [
        {"text": "Maria owns the billing service", "kind": "fact", "tags": ["team-a"]},
        {"text": "   "},
        {"text": "Tomasz prefers green tea", "kind": "preference"},
        {"text": "bad tags", "tags": ["no spaces allowed"]},
        {"text": "The launch happened", "occurred_at": "2023-05-14T10:00:00"},  # no time zone
    ]
    result = await tools.ok("remember_many", items=items, namespace=namespace)
    assert (result["stored"], result["refused"]) == (2, 3)
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3, 4]
    assert "id" in result["results"][0] and "id" in result["results"][2]
    assert "nothing to remember" in result["results"][1]["error"]
    assert "invalid tag" in result["results"][3]["error"]
    assert "needs a time zone" in result["results"][4]["error"]
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 2
    found = await tools.ok("recall", query="who is responsible for billing?", namespace=namespace, k=1)
    assert found["items"][0]["id"] == result["results"][0]["id"] and found["items"][0]["tags"] == ["team-a"]


async def test_all_or_nothing_stores_nothing_when_one_item_is_bad(tools: Tools, namespace: str) -> None:
    items = [{"text": "fine"}, {"text": ""}, {"text": "also fine"}]
    message = await tools.error("remember_many", items=items, namespace=namespace, all_or_nothing=True)
    assert "1 of 3 items are invalid, nothing was stored: item 1:" in message
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 0


async def test_bulk_size_is_bounded(tools: Tools, namespace: str) -> None:
    assert "takes 1 to 1000 items, got 0" in await tools.error("remember_many", items=[], namespace=namespace)
    many = [{"text": f"m{i}"} for i in range(1001)]
    assert "got 1001" in await tools.error("remember_many", items=many, namespace=namespace)


async def test_import_conversation_keeps_speaker_time_and_session_and_reports_progress(
    tools: Tools, namespace: str
) -> None:
    turns = [
        {"speaker": "Ana", "text": "Hi! How was your week?", "at": "2023-04-28T18:00:00Z", "session": "s1"},
        {"speaker": "Ben", "text": "Busy. I started pottery classes.", "at": "2023-04-28T18:02:00Z", "session": "s1"},
        {"speaker": "Ana", "text": "We adopted a cat called Pepper!", "at": "2023-05-14T19:00:00Z", "session": "s2"},
        {"speaker": "Ben", "text": "Lovely, send photos.", "at": "2023-05-14T19:03:00Z", "session": "s2"},
    ] * 80  # 320 turns: two write chunks, so two progress reports
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total))

    async with Client(service.mcp) as client:
        result = await client.call_tool(
            "import_conversation",
            {"turns": turns, "conversation": "chat-1", "namespace": namespace},
            progress_callback=progress,
        )
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["stored"] == 320
    assert seen == [(256, 320), (320, 320)]
    found = await tools.ok("recall", query="What pet did Ana get in May 2023?", namespace=namespace, k=3)
    top = found["items"][0]
    assert top["text"] == "Ana: We adopted a cat called Pepper!"
    assert top["occurred_at"] == "2023-05-14T19:00:00+00:00" and top["kind"] == "event"
    assert set(top["tags"]) == {"conversation:chat-1", "session:s2"}
    session = await tools.ok("recall", query="pottery", namespace=namespace, tags=["session:s1"], k=50)
    first_session = {"Ana: Hi! How was your week?", "Ben: Busy. I started pottery classes."}
    assert session["items"] and {i["text"] for i in session["items"]} <= first_session


async def test_import_conversation_refuses_a_bad_transcript_whole(tools: Tools, namespace: str) -> None:
    turns = [
        {"speaker": "Ana", "text": "hello", "at": "2023-04-28T18:00:00Z"},
        {"speaker": "", "text": "who am I", "at": "2023-04-28T18:01:00Z"},
    ]
    message = await tools.error("import_conversation", turns=turns, conversation="c", namespace=namespace)
    assert "item 1: speaker must be 1-64 characters" in message
    assert "invalid tag" in await tools.error(
        "import_conversation", turns=turns[:1], conversation="has space", namespace=namespace
    )
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 0
